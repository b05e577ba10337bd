import { z } from "zod";
import { defineJob } from "../../platform/jobs/job.js";
import { REPORT_STATES } from "./report.js";

const reportId = z.number().int().positive();

/** Tells the reporter that their report moved (or that the team wrote), with the team's message if there was one. */
export const REPORT_UPDATE_JOB = defineJob({
  kind: "mail.report_update",
  payload: z.object({ reportId, from: z.enum(REPORT_STATES), to: z.enum(REPORT_STATES), messageId: z.number().int().positive().nullable().optional() }),
});

/** Hands a report routed to support over to the support address (`decrypted`: the triager chose a decrypted copy). */
export const SUPPORT_FORWARD_JOB = defineJob({
  kind: "mail.forward_to_support",
  payload: z.object({ reportId, decrypted: z.boolean().optional() }),
});
