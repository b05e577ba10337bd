import type { JobHandler } from "../../platform/jobs/worker.js";
import { inThread } from "../../platform/mail/mailer.js";
import type { MailJobDeps } from "../intake/index.js";
import { encryptionFor } from "../keys/index.js";
import { findReport, subjectSafe } from "../reports/index.js";
import { loadSettings } from "../settings/index.js";
import { describeBountyDecision, type BountyDecision } from "./triage.js";

export const BOUNTY_DECISION_JOB = "mail.bounty_decision";

/**
 * Tells the reporter the team's bounty decision (eligible, not eligible and why, an amount
 * awarded), as the report's other mail to them: in their thread when the report came by
 * e-mail, encrypted when they gave a key. The decision travels in the payload, so the
 * mail says what was decided even if the team changes it again before it goes out.
 */
export function createBountyDecisionJob(deps: MailJobDeps): JobHandler {
  return async (payload, job) => {
    const reportId = Number(payload.reportId);
    const report = await findReport(deps.db, reportId);
    if (!report) throw new Error(`report ${reportId} is gone`);
    const settings = await loadSettings(deps.db);
    const thread = (await deps.threadOfReport?.(report.id)) ?? null;
    const text = [
      `Hello ${report.reporterName},`,
      "",
      `About your report #${report.id} "${subjectSafe(report.title, 200)}":`,
      "",
      describeBountyDecision(payload.decision as BountyDecision),
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
          encryptTo: encryptionFor(report),
          subject: `[#${report.id}] Bounty decision on your report: ${subjectSafe(report.title)}`,
          text,
        },
        thread,
      ),
      `bounty-${report.id}-job-${job.id}`,
    );
  };
}
