import type { Db } from "../../platform/db/database.js";
import type { JobHandler } from "../../platform/jobs/worker.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { CHANNEL_LABELS, findReport, subjectSafe } from "../reports/index.js";
import { encryptionFor } from "../keys/index.js";
import { describeDuration, loadSettings } from "../settings/index.js";
import { firstResponsePromise } from "../sla/index.js";
import { trackingUrlFor } from "./intake.service.js";

export interface MailJobDeps {
  db: Db;
  mailer: Mailer;
  baseUrl: () => string;
  /** SHIELD_MAIL_FROM; default the program's security address. */
  mailFrom?: string;
}

/**
 * The automatic receipt: what was received, when a person will answer, and the
 * tracking link. It is not a first response: the clock keeps running.
 */
export function createReceiptJob(deps: MailJobDeps): JobHandler {
  return async (payload, job) => {
    const reportId = Number(payload.reportId);
    const token = String(payload.secretTrackingToken ?? "");
    const report = await findReport(deps.db, reportId);
    if (!report) throw new Error(`report ${reportId} is gone`);
    if (!token) throw new Error("the tracking token was already dropped; the receipt cannot be sent again");
    const settings = await loadSettings(deps.db);
    const { minutes, dueAt } = firstResponsePromise(report, settings, new Date());
    const promise = minutes && dueAt
      ? `A person from the security team will answer you within ${describeDuration(minutes)} (by ${formatUtc(dueAt)}).`
      : "A person from the security team will answer you as soon as possible.";
    const text = [
      `Hello ${report.reporterName},`,
      "",
      `Thank you for your report to the ${settings.companyName} security team. We have received it.`,
      promise,
      "",
      `Report:   #${report.id} ${subjectSafe(report.title, 200)}`,
      `Channel:  ${CHANNEL_LABELS[report.channel]}`,
      `Received: ${formatUtc(report.receivedAt)}`,
      "",
      "Follow your report, answer us and add information here:",
      trackingUrlFor(deps.baseUrl(), token),
      "",
      "Keep this link private: anyone who has it can read and answer your report.",
      "This is an automatic receipt; a person will write to you.",
      "",
      "-- ",
      `${settings.programName}, ${settings.companyName}`,
      settings.securityEmail,
    ].join("\n");
    await deps.mailer.send(
      {
        from: deps.mailFrom ?? settings.securityEmail,
        to: report.reporterEmail,
        // The reporter gave a key: PGP/MIME, with a neutral Subject outside the encryption.
        encryptTo: encryptionFor(report),
        subject: `[#${report.id}] We received your report: ${subjectSafe(report.title)}`,
        text,
        headers: { "Auto-Submitted": "auto-replied" },
      },
      `receipt-${report.id}-job-${job.id}`,
    );
  };
}

export function formatUtc(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}
