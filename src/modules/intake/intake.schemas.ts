import { z } from "zod";
import { webUrl } from "../../shared/web-url.js";
import { CHANNELS, REPORT_STATES, reporterText, TRACKED_CHANNELS } from "../reports/index.js";

/** A report as the public submits it: the API's body, and what the web form is read into. */
const required = (max: number) => reporterText(max).refine((s) => s.trim().length > 0, "is required");

export const submitReportBody = z
  .object({
    channel: z.enum(TRACKED_CHANNELS, {
      error: () => `must be one of ${TRACKED_CHANNELS.join(", ")} (non-urgent support requests go to the support contact)`,
    }),
    title: required(200),
    description: required(100_000).describe("Markdown."),
    steps: reporterText(50_000).optional().describe("Steps to reproduce, Markdown."),
    impact: reporterText(20_000).optional(),
    asset: reporterText(200).optional().describe("The affected product, domain or component."),
    reporter: z
      .object({
        name: required(200),
        email: z.email("must be an e-mail address").max(254),
        pgpKey: reporterText(200_000).optional().describe("ASCII-armoured OpenPGP public key; mail to the reporter is then encrypted."),
      })
      .strict(),
    credit: z
      .object({
        name: reporterText(200).optional(),
        url: webUrl(500).optional(),
        anonymous: z.boolean().optional(),
      })
      .strict()
      .optional()
      .describe("How to credit the reporter in advisories and the hall of fame; omitted, without name and link, or anonymous: no credit; a link without a name is credited under the reporter's name."),
    aiUsed: z.boolean().optional().describe("Whether AI tools were used to find or write up the issue."),
  })
  .strict();

export type SubmitReportBody = z.infer<typeof submitReportBody>;

export const submitReportResponse = z.object({
  id: z.number().int(),
  trackingUrl: z.string(),
  state: z.enum(REPORT_STATES),
  channel: z.enum(CHANNELS),
  receivedAt: z.string(),
  firstResponseDue: z.string().nullable(),
  firstResponseTarget: z.string().nullable().describe("The promised first-response time in words, e.g. \"72 hours\"."),
});
