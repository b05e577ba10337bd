import type { JobHandler } from "../../platform/jobs/worker.js";
import { inThread } from "../../platform/mail/mailer.js";
import type { MailJobDeps } from "../intake/receipt.job.js";
import { encryptionFor } from "../keys/index.js";
import { loadSettings } from "../settings/index.js";
import { describeStateForReporter, subjectSafe, type ReportState } from "./report.js";
import { findReport, listMessages } from "./report.repository.js";

/** Tells the reporter that their report moved, with the team's message if there was one. */
export function createReportUpdateJob(deps: MailJobDeps): JobHandler {
  return async (payload, job) => {
    const reportId = Number(payload.reportId);
    const report = await findReport(deps.db, reportId);
    if (!report) throw new Error(`report ${reportId} is gone`);
    const settings = await loadSettings(deps.db);
    const messageId = payload.messageId == null ? null : Number(payload.messageId);
    const message = messageId == null ? undefined : (await listMessages(deps.db, reportId, { includeInternal: false })).find((m) => m.id === messageId);
    const thread = (await deps.threadOfReport?.(report.id)) ?? null;
    const text = [
      `Hello ${report.reporterName},`,
      "",
      `Your report #${report.id} "${subjectSafe(report.title, 200)}" has an update.`,
      "",
      `Status: ${describeStateForReporter(String(payload.to) as ReportState)}`,
      ...(message ? ["", "Message from the security team:", "", message.body] : []),
      "",
      thread ? "Answer this e-mail to reply, or follow the report with the link from your receipt." : "Follow the report with the link from your receipt e-mail.",
      "",
      "-- ",
      `${settings.programName}, ${settings.companyName}`,
      settings.securityEmail,
    ].join("\n");
    await deps.mailer.send(
      inThread(
        {
          from: deps.mailFrom ?? settings.securityEmail,
          to: report.reporterEmail,
          // The reporter gave a key: PGP/MIME, with a neutral Subject outside the encryption.
          encryptTo: encryptionFor(report),
          subject: `[#${report.id}] Update on your report: ${subjectSafe(report.title)}`,
          text,
        },
        thread,
      ),
      `update-${report.id}-job-${job.id}`,
    );
  };
}
