import type { JobHandler } from "../../platform/jobs/worker.js";
import type { MailJobDeps } from "../intake/receipt.job.js";
import { loadSettings } from "../settings/index.js";
import { CHANNEL_LABELS, subjectSafe } from "./report.js";
import { findReport, listMessages } from "./report.repository.js";

export const SUPPORT_FORWARD_JOB = "mail.forward_to_support";

/**
 * Routing to support hands the reporter over: the support address gets the report and
 * its public thread (never internal notes), with Reply-To the reporter, so that support
 * can answer them directly.
 */
export function createSupportForwardJob(deps: MailJobDeps): JobHandler {
  return async (payload, job) => {
    const reportId = Number(payload.reportId);
    const report = await findReport(deps.db, reportId);
    if (!report) throw new Error(`report ${reportId} is gone`);
    const settings = await loadSettings(deps.db);
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
        from: deps.mailFrom ?? settings.securityEmail,
        to: settings.supportEmail,
        replyTo: report.reporterEmail,
        subject: `[#${report.id}] Routed from security: ${subjectSafe(report.title)}`,
        text,
      },
      `support-forward-${report.id}-job-${job.id}`,
    );
  };
}
