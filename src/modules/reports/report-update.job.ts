import { handleJob } from "../../platform/jobs/job.js";
import { describeStateForReporter, subjectSafe } from "./report.js";
import { REPORT_UPDATE_JOB } from "./report.jobs.js";
import { loadReportMail, sendReporterMail, whereToAnswer, type ReportMailDeps } from "./report-mail.js";
import { listMessages } from "./report-messages.repository.js";

/** Tells the reporter that their report moved, with the team's message if there was one. */
export function createReportUpdateJob(deps: ReportMailDeps) {
  return handleJob(REPORT_UPDATE_JOB, async (payload, job) => {
    const context = await loadReportMail(deps, payload.reportId);
    const { report } = context;
    const messageId = payload.messageId ?? null;
    const message = messageId == null ? undefined : (await listMessages(deps.db, report.id, { includeInternal: false })).find((m) => m.id === messageId);
    await sendReporterMail(deps, context, {
      what: "Update on your report",
      lines: [
        `Your report #${report.id} "${subjectSafe(report.title, 200)}" has an update.`,
        "",
        `Status: ${describeStateForReporter(payload.to)}`,
        ...(message ? ["", "Message from the security team:", "", message.body] : []),
        "",
        whereToAnswer(context.thread),
      ],
      key: `update-${report.id}-job-${job.id}`,
    });
  });
}
