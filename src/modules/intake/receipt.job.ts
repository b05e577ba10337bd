import type { GroupCommit } from "../../platform/db/group-commit.js";
import { handleJob, PermanentJobError } from "../../platform/jobs/job.js";
import type { Clock } from "../../shared/clock.js";
import { CHANNEL_LABELS, findReport, loadReportMail, sendReporterMail, senderOf, signatureOf, subjectSafe, type Report, type ReportMailDeps } from "../reports/index.js";
import { encryptionFor } from "../keys/index.js";
import { admitReceipt, forgetDigest, RECEIPT_DIGEST_JOB, shieldAddressesOf, takeDigest, type ReceiptLimit } from "../receipt-limits/index.js";
import { describeDuration, type Settings } from "../settings/index.js";
import { firstResponsePromise } from "../sla/index.js";
import { RECEIPT_JOB, trackingUrlFor } from "./intake.service.js";

export interface ReceiptJobDeps extends ReportMailDeps {
  clock: Clock;
  /** Receipts per recipient address (SHIELD_RECEIPT_LIMIT per SHIELD_RECEIPT_WINDOW_MINUTES). */
  receiptLimit: ReceiptLimit;
  /** Where receipts admitted at the same moment (the worker runs a few jobs at once) share a commit; none: one commit each. */
  jobCommits?: GroupCommit;
}

/** What a receipt says about one report: what was received, when a person will answer, and where to follow it. */
function describeReceived(report: Report, settings: Settings, now: Date, trackingUrl: string, byMail = false): string[] {
  const { minutes, dueAt } = firstResponsePromise(report, settings, now);
  const promise = minutes && dueAt
    ? `A person from the security team will answer you within ${describeDuration(minutes)} (by ${formatUtc(dueAt)}).`
    : "A person from the security team will answer you as soon as possible.";
  return [
    `Report:   #${report.id} ${subjectSafe(report.title, 200)}`,
    `Channel:  ${CHANNEL_LABELS[report.channel]}`,
    `Received: ${formatUtc(report.receivedAt)}`,
    promise,
    byMail ? "Answer this e-mail to add information, or follow your report here:" : "Follow your report, answer us and add information here:",
    trackingUrl,
  ];
}

/**
 * The automatic receipt: what was received, when a person will answer, and the
 * tracking link. It is not a first response: the clock keeps running. One address gets
 * at most `receiptLimit` receipts per window; the rest wait for one digest mail, and
 * Shield's own addresses get none (see modules/receipt-limits).
 */
export function createReceiptJob(deps: ReceiptJobDeps) {
  return handleJob(RECEIPT_JOB, async (payload, job) => {
    const token = payload.secretTrackingToken ?? "";
    if (!token) throw new PermanentJobError("the tracking token was already dropped; the receipt cannot be sent again");
    const context = await loadReportMail(deps, payload.reportId);
    const { report, settings, thread } = context;
    const admission = await admitReceipt(deps.db, deps.receiptLimit, {
      recipient: report.reporterEmail,
      ownAddresses: shieldAddressesOf(settings, deps.mailFrom),
      jobId: job.id,
      receipt: { reportId: report.id, trackingToken: token },
      now: deps.clock.now(),
    }, deps.jobCommits);
    if (admission !== "send") return;
    await sendReporterMail(deps, context, {
      what: "We received your report",
      lines: [
        `Thank you for your report to the ${settings.companyName} security team. We have received it.`,
        "",
        ...describeReceived(report, settings, deps.clock.now(), trackingUrlFor(deps.baseUrl(), token), thread !== null),
        "",
        "Keep this link private: anyone who has it can read and answer your report.",
        "This is an automatic receipt; a person will write to you.",
      ],
      headers: { "Auto-Submitted": "auto-replied" },
      key: `receipt-${report.id}-job-${job.id}`,
    });
  });
}

/**
 * The receipts held back for one address, in one mail, each with its tracking link. It
 * is encrypted when one of its reports gave a key (to the newest such key: a digest is
 * one mail, and a mail has one reader).
 */
export function createReceiptDigestJob(deps: ReceiptJobDeps) {
  return handleJob(RECEIPT_DIGEST_JOB, async (_payload, job) => {
    const { to, receipts } = await takeDigest(deps.db, job.id, deps.clock.now());
    const settings = await deps.settings.get();
    const reports: Array<{ report: Report; token: string }> = [];
    for (const held of receipts) {
      const report = await findReport(deps.db, held.reportId);
      // A report deleted since is left out; the others still go.
      if (report) reports.push({ report, token: held.trackingToken });
    }
    if (reports.length === 0) {
      await forgetDigest(deps.db, job.id);
      return;
    }
    const windowText = describeDuration(Math.round(deps.receiptLimit.windowMs / 60_000));
    const text = [
      "Hello,",
      "",
      `The ${settings.companyName} security team received ${reports.length === 1 ? "a report" : `${reports.length} reports`} that gave this address for replies.`,
      `To keep anyone from flooding a mailbox with receipts, this address gets at most ${deps.receiptLimit.perWindow} receipts in ${windowText}; these are the rest, together.`,
      "If you did not send them, you can ignore this mail.",
      ...reports.flatMap(({ report, token }) => ["", ...describeReceived(report, settings, deps.clock.now(), trackingUrlFor(deps.baseUrl(), token))]),
      "",
      "Keep these links private: anyone who has one can read and answer that report.",
      "This is an automatic receipt; a person will write to you.",
      "",
      ...signatureOf(settings),
    ].join("\n");
    const keyed = reports.filter(({ report }) => encryptionFor(report)).at(-1);
    await deps.mailer.send(
      {
        from: senderOf(deps, settings),
        to,
        encryptTo: keyed && { ...encryptionFor(keyed.report)!, outerSubject: "Encrypted receipts for your reports" },
        subject: `We received your reports: ${reports.map(({ report }) => `#${report.id}`).join(", ")}`.slice(0, 200),
        text,
        headers: { "Auto-Submitted": "auto-replied" },
      },
      `receipt-digest-job-${job.id}`,
    );
    await forgetDigest(deps.db, job.id);
  });
}

export function formatUtc(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}
