import { z } from "zod";
import { defineJob, handleJob } from "../../platform/jobs/job.js";
import { loadReportMail, sendReporterMail, subjectSafe, whereToAnswer, type ReportMailDeps } from "../reports/index.js";
import { describeBountyDecision } from "./triage.js";

/** The reporter's mail of a bounty decision; the decision travels in the payload. */
export const BOUNTY_DECISION_JOB = defineJob({
  kind: "mail.bounty_decision",
  payload: z.object({
    reportId: z.number().int().positive(),
    decision: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("eligible") }),
      z.object({ kind: z.literal("not_eligible"), reason: z.string() }),
      z.object({ kind: z.literal("awarded"), amount: z.number(), currency: z.string() }),
    ]),
  }),
});

/**
 * Tells the reporter the team's bounty decision (eligible, not eligible and why, an amount
 * awarded), as the report's other mail to them: in their thread when the report came by
 * e-mail, encrypted when they gave a key. The decision travels in the payload, so the
 * mail says what was decided even if the team changes it again before it goes out.
 */
export function createBountyDecisionJob(deps: ReportMailDeps) {
  return handleJob(BOUNTY_DECISION_JOB, async (payload, job) => {
    const context = await loadReportMail(deps, payload.reportId);
    const { report } = context;
    await sendReporterMail(deps, context, {
      what: "Bounty decision on your report",
      lines: [`About your report #${report.id} "${subjectSafe(report.title, 200)}":`, "", describeBountyDecision(payload.decision), "", whereToAnswer(context.thread)],
      key: `bounty-${report.id}-job-${job.id}`,
    });
  });
}
