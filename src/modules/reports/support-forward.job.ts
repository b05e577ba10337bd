import { handleJob, PermanentJobError } from "../../platform/jobs/job.js";
import { decryptForTeam, type TeamKeyring } from "../keys/index.js";
import { arrivedEncrypted, CHANNEL_LABELS, subjectSafe } from "./report.js";
import { SUPPORT_FORWARD_JOB } from "./report.jobs.js";
import { loadReportMail, senderOf, type ReportMailDeps } from "./report-mail.js";
import { findEncryptedArrival } from "./report.repository.js";
import { listMessages } from "./report-messages.repository.js";

export interface SupportForwardJobDeps extends ReportMailDeps {
  /** Decrypts a browser-encrypted report for the copy the triager chose to forward. */
  keyring?: TeamKeyring;
}

/**
 * Routing to support hands the reporter over: the support address gets the report and
 * its public thread (never internal notes), with Reply-To the reporter, so that support
 * can answer them directly. A report that arrived encrypted goes only as the decrypted
 * copy the triager chose (`decrypted` in the payload, audited with the move), never as
 * ciphertext: without that choice, or when the team key cannot open it, nothing is sent
 * and the job fails where admins see it.
 */
export function createSupportForwardJob(deps: SupportForwardJobDeps) {
  return handleJob(SUPPORT_FORWARD_JOB, async (payload, job) => {
    const reportId = payload.reportId;
    const { report: found, settings } = await loadReportMail(deps, reportId);
    const arrival = await findEncryptedArrival(deps.db, reportId);
    if (arrivedEncrypted(arrival) && payload.decrypted !== true) throw new PermanentJobError(`report ${reportId} arrived encrypted and the team did not choose to forward a decrypted copy: nothing is sent to support`);
    let report = found;
    if (arrival.browser) {
      if (!deps.keyring) throw new Error(`report ${reportId} was encrypted in the reporter's browser and this process has no team key to decrypt it`);
      const keyring = deps.keyring;
      const open = async (text: string | null) => (text ? decryptForTeam(keyring, text) : text);
      report = { ...found, description: (await open(found.description)) ?? "", steps: await open(found.steps), impact: await open(found.impact) };
    }
    const thread = await listMessages(deps.db, reportId, { includeInternal: false });
    const section = (heading: string, body: string | null) => (body ? ["", `${heading}:`, "", body] : []);
    const text = [
      `The security team routed this request to support: it is not a security issue.`,
      `Please answer ${report.reporterName} <${report.reporterEmail}> directly (Reply-To is set to them).`,
      "",
      `Report:   #${report.id} ${subjectSafe(report.title, 200)}`,
      `Channel:  ${CHANNEL_LABELS[report.channel]}`,
      `Received: ${report.receivedAt}`,
      ...section("Description", report.description),
      ...section("Steps to reproduce", report.steps),
      ...section("Impact", report.impact),
      ...thread.flatMap((m) => ["", `--- ${m.authorKind === "reporter" ? report.reporterName : "Security team"}, ${m.createdAt}`, "", m.body]),
      "",
      "-- ",
      `${settings.programName}, ${settings.companyName}`,
    ].join("\n");
    await deps.mailer.send(
      {
        from: senderOf(deps, settings),
        to: settings.supportEmail,
        replyTo: report.reporterEmail,
        subject: `[#${report.id}] Routed from security: ${subjectSafe(report.title)}`,
        text,
      },
      `support-forward-${report.id}-job-${job.id}`,
    );
  });
}
