import { z } from "zod";
import { CHANNELS, REPORT_STATES, SEVERITIES, TRACKED_CHANNELS, UPSTREAM_STATUSES, reporterText } from "../reports/index.js";
import { MAX_VECTOR_LENGTH } from "./cvss.js";

/** Text a team member types: kept as written, but never NUL or broken Unicode, and bounded. */
const teamText = (max: number) => reporterText(max);
const optionalText = (max: number) =>
  teamText(max)
    .transform((s) => s.trim())
    .transform((s) => (s === "" ? null : s))
    .nullable()
    .optional();
const oneLine = (max: number) => teamText(max).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "must be one line without control characters");
const optionalLine = (max: number) =>
  oneLine(max)
    .transform((s) => s.trim())
    .transform((s) => (s === "" ? null : s))
    .nullable()
    .optional();

const isoInstant = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date and time, e.g. 2026-03-02T09:00:00Z" }).transform((s) => new Date(s).toISOString());
const isoDate = z.iso.date("must be a date YYYY-MM-DD");

export const patchReportBody = z
  .object({
    cvss31Vector: z.string().max(MAX_VECTOR_LENGTH).nullable().optional().describe('A CVSS 3.1 vector, e.g. "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; null clears it.'),
    cvss40Vector: z.string().max(MAX_VECTOR_LENGTH).nullable().optional().describe("A CVSS 4.0 vector, metrics in the specification's order; null clears it."),
    severity: z
      .enum(SEVERITIES)
      .nullable()
      .optional()
      .describe("An explicit rating, kept when vectors change. null: follow the rating of the CVSS 4.0 vector, else the 3.1 one."),
    cwe: z.string().max(20).nullable().optional().describe('A weakness of the CWE 4.15 dictionary, e.g. "CWE-79"; null clears it.'),
    ownerEmail: z.email("must be an e-mail address").max(254).nullable().optional().describe("The one owner: a triager or admin. null only while the report is new."),
    asset: optionalText(200).describe("The affected product, domain or component; null or empty clears it."),
    affectedVersions: optionalText(1000).describe('Free text, e.g. "< 2.4.1, 3.0.0-beta"; null or empty clears it.'),
    bounty: z
      .object({
        eligible: z.boolean().nullable().optional().describe("null: not decided."),
        reason: optionalText(5000).describe("Why the report is (not) eligible; required when eligible is false."),
        amount: z
          .number()
          .nonnegative("must not be negative")
          .max(1_000_000_000)
          .refine((n) => Math.round(n * 100) === n * 100, "must have at most two decimals")
          .nullable()
          .optional(),
        currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD").nullable().optional().describe("Default: the bounty table's currency."),
        awardedAt: isoInstant.nullable().optional(),
        paidAt: isoInstant.nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "send at least one field to change");

export type PatchReportBody = z.infer<typeof patchReportBody>;

export const messageBody = z
  .object({
    body: teamText(50_000).refine((s) => s.trim().length > 0, "is required"),
    internal: z.boolean().default(false).describe("true: a note for the team only, never shown or sent to the reporter."),
  })
  .strict();

export type MessageBody = z.infer<typeof messageBody>;

const upstreamFields = {
  project: oneLine(200).refine((s) => s.trim().length > 0, "is required").transform((s) => s.trim()),
  contact: optionalLine(300).describe("Who was told: a name, an address, a security contact."),
  reference: optionalLine(500).describe("A link (http/https) or an identifier in the upstream's tracker."),
  status: z.enum(UPSTREAM_STATUSES),
  embargoUntil: isoDate.nullable().optional().describe("The agreed embargo end, YYYY-MM-DD."),
};

export const createUpstreamBody = z
  .object({ ...upstreamFields, status: upstreamFields.status.default("not_notified") })
  .strict();

export const patchUpstreamBody = z
  .object({ ...upstreamFields, project: upstreamFields.project.optional(), status: upstreamFields.status.optional() })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "send at least one field to change");

export type CreateUpstreamBody = z.infer<typeof createUpstreamBody>;
export type PatchUpstreamBody = z.infer<typeof patchUpstreamBody>;

export const upstreamParams = z.object({ id: z.coerce.number().int().positive(), upstreamId: z.coerce.number().int().positive() });

export const similarReportsView = z.object({
  reportId: z.number(),
  similar: z.array(
    z.object({
      id: z.number(),
      title: z.string(),
      state: z.enum(REPORT_STATES),
      channel: z.enum(CHANNELS),
      asset: z.string().nullable(),
      cwe: z.string().nullable(),
      receivedAt: z.string(),
      score: z.number().describe("0 and up: 0.4 × title word overlap + 0.6 × text cosine, + 0.15 same asset, + 0.15 same CWE."),
    }),
  ),
});

export const cweQuery = z.object({ q: z.string().trim().min(1, "is required: an identifier such as 79 or words").max(200) }).strict();

export const cweListView = z.object({
  version: z.string(),
  weaknesses: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      abstraction: z.string(),
      status: z.string(),
      usage: z.string().nullable().describe("MITRE's mapping advice: Allowed, Allowed-with-Review, Discouraged, Prohibited."),
      alternateTerms: z.array(z.string()),
    }),
  ),
});

export const channelChangeBody = z
  .object({
    channel: z.enum(TRACKED_CHANNELS, { error: `must be one of ${TRACKED_CHANNELS.join(", ")} (a report goes to support by the routed_to_support transition)` }),
    reason: z.string().trim().min(1, "is required: say why the report belongs to the other channel").max(5000),
  })
  .strict();

export type ChannelChangeBody = z.infer<typeof channelChangeBody>;
