import { z } from "zod";
import { SEVERITY_SOURCES, UPSTREAM_STATUSES } from "./report-details.js";
import { CHANNELS, REPORT_STATES, SEVERITIES, SUPPORT_HANDOVERS } from "./report.js";

/**
 * Text from a reporter is kept byte for byte, with two exceptions that no database can
 * store faithfully and that are refused with a clear message instead: NUL characters and
 * unpaired UTF-16 surrogates (invalid Unicode).
 */
export function reporterText(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine((s) => s.isWellFormed(), "must be valid Unicode (it contains an unpaired surrogate)");
}

const csv = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) => s.split(",").map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)));

/** Deeper pages by offset cost time on every request (1.5 s at 900,000 on SQLite); `before` pages at a constant cost. */
export const MAX_OFFSET = 10_000;

export const listReportsQuery = z
  .object({
    state: csv(REPORT_STATES).optional().describe("Comma-separated states."),
    channel: csv(CHANNELS).optional().describe("Comma-separated channels."),
    owner: z
      .union([z.literal("me"), z.literal("none"), z.email("must be a team member's e-mail address, `me` or `none`").max(254)])
      .optional()
      .describe("Reports owned by this team member (e-mail), by you (`me`), or by nobody (`none`)."),
    severity: csv(SEVERITIES).optional().describe("Comma-separated severities."),
    q: z
      .string()
      .trim()
      .min(1, "must contain a word")
      .max(500)
      .refine((s) => /[\p{L}\p{N}]/u.test(s), "must contain a word")
      .optional()
      .describe("Full-text search in titles, descriptions, messages and the reporter's name and e-mail address: every word must occur; the last one may be the start of a word."),
    sort: z
      .enum(["newest", "deadline"])
      .default("newest")
      .describe("`newest`: highest id first. `deadline`: the queue, the report closest to missing a service-level target first (overdue ones first), reports without a running clock last."),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_OFFSET, `must be at most ${MAX_OFFSET}: page further with \`before\` (newest first), or narrow the filters`)
      .default(0),
    before: z.coerce
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "Newest first without `q` only: reports with an id below this one. To go through every report, pass the last id of each page as `before` for the next: each page costs the same, however deep. `total` stays the total of the whole filtered list.",
      ),
  })
  .strict()
  .refine((query) => query.before === undefined || (query.sort === "newest" && query.q === undefined), {
    path: ["before"],
    message: "pages only the newest-first list without `q`",
  });

export const reportIdParams = z.object({ id: z.coerce.number().int().positive() });

export const transitionBody = z
  .object({
    to: z.enum(REPORT_STATES),
    reason: z.string().trim().min(1, "is required: say why").max(5000),
    message: z.string().trim().min(1).max(50_000).optional().describe("What the reporter is told; closing outcomes fall back to the canned response."),
    duplicateOf: z.number().int().positive().optional(),
    ownerEmail: z.email().optional().describe("Who owns the report after this change; default the current owner or, for acknowledge, you."),
    severity: z.enum(SEVERITIES).optional(),
    supportHandover: z
      .enum(SUPPORT_HANDOVERS)
      .optional()
      .describe(
        "For `routed_to_support` only. `forward_decrypted`: support gets a readable copy; for a report that arrived encrypted (in the browser or as PGP mail) this is a decrypted copy, and sending it is audited. `reply_to_reporter`: support gets nothing and the reporter is told where to write (the message defaults to saying so). A report that arrived encrypted is refused without one of these (409 `support_handover_required`); one that arrived in clear is forwarded as it is.",
      ),
  })
  .strict()
  .refine((body) => body.supportHandover === undefined || body.to === "routed_to_support", { path: ["supportHandover"], message: "is only for routed_to_support" });

export type TransitionBody = z.infer<typeof transitionBody>;

const messageView = z.object({
  id: z.number(),
  author: z.enum(["reporter", "team", "system"]),
  body: z.string(),
  internal: z.boolean(),
  createdAt: z.string(),
});

export const reportSummaryView = z.object({
  id: z.number(),
  channel: z.enum(CHANNELS),
  state: z.enum(REPORT_STATES),
  title: z.string(),
  severity: z.enum(SEVERITIES).nullable(),
  ownerId: z.number().nullable(),
  reporterName: z.string(),
  receivedAt: z.string(),
  updatedAt: z.string(),
  deadlines: z.object({ firstResponse: z.string().nullable(), triage: z.string().nullable(), resolution: z.string().nullable() }),
  nextDeadlineAt: z.string().nullable().describe("The soonest target still to meet (the `sort=deadline` order); null when no clock runs."),
  disclosureDeadline: z
    .object({
      dueAt: z.string().describe("Receipt plus the disclosure days the report's terms kept when it arrived (`advisories.disclosureDeadlineDays`)."),
      state: z.enum(["running", "missed", "met"]).describe("`running`: not disclosed and not due; `missed`: past due and not disclosed, or disclosed late; `met`: disclosed in time."),
      stoppedAt: z.string().nullable().describe("When an advisory disclosed the report."),
    })
    .nullable()
    .describe("The disclosure deadline, as the desk's 'Disclose by' clock; null for support requests and reports closed without a fix."),
});

const cvssView = z.object({ vector: z.string(), score: z.number(), rating: z.enum(["none", "low", "medium", "high", "critical"]) });

export const upstreamView = z.object({
  id: z.number(),
  project: z.string(),
  contact: z.string().nullable(),
  reference: z.string().nullable(),
  status: z.enum(UPSTREAM_STATUSES),
  embargoUntil: z.string().nullable().describe("YYYY-MM-DD"),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const reportView = reportSummaryView.extend({
  source: z.enum(["api", "web", "email"]),
  description: z.string(),
  steps: z.string().nullable(),
  impact: z.string().nullable(),
  asset: z.string().nullable(),
  reporter: z.object({ name: z.string(), email: z.string(), pgpKey: z.string().nullable() }),
  credit: z.object({ name: z.string().nullable(), url: z.string().nullable() }),
  aiUsed: z.boolean().nullable(),
  duplicateOf: z.number().nullable(),
  milestones: z.object({
    acknowledgedAt: z.string().nullable(),
    triagedAt: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    closedAt: z.string().nullable(),
    disclosedAt: z.string().nullable(),
    needsInfoSince: z.string().nullable(),
    pausedMs: z.number(),
  }),
  messages: z.array(messageView),
  ownerEmail: z.string().nullable(),
  assessment: z
    .object({
      cvss31: cvssView.nullable(),
      cvss40: cvssView.nullable(),
      severity: z.enum(SEVERITIES).nullable(),
      severitySource: z.enum(SEVERITY_SOURCES).nullable().describe("`explicit`: set by a person; `cvss40`/`cvss31`: follows that vector's rating."),
      cwe: z.object({ id: z.string(), name: z.string() }).nullable(),
    })
    .describe("Severity: CVSS vectors with their computed scores, the severity and the weakness (CWE 4.15)."),
  affectedVersions: z.string().nullable(),
  bounty: z.object({
    eligible: z.boolean().nullable().describe("null: not decided yet."),
    reason: z.string().nullable(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    suggested: z.object({ amount: z.number(), currency: z.string() }).nullable().describe("From the program's bounty table for the report's severity."),
    awardedAt: z.string().nullable(),
    paidAt: z.string().nullable(),
  }),
  upstreams: z.array(upstreamView),
  encryption: z
    .object({
      browserEncrypted: z.literal(true),
      decrypted: z.object({ description: z.string().nullable(), steps: z.string().nullable(), impact: z.string().nullable() }).nullable(),
      problem: z.string().nullable(),
    })
    .optional()
    .describe(
      "Only on reports the reporter encrypted in the browser: `description`, `steps` and `impact` above are then the OpenPGP ciphertext as received; `decrypted` is a copy made with the team key on this read (audited as `report.decrypted`), null with `problem` when it cannot be decrypted.",
    ),
});

export const reportListView = z.object({
  reports: z.array(reportSummaryView),
  total: z.number().describe("Reports matching the filters; with `q`, counted up to 10,000."),
  totalIsExact: z.boolean().describe("False when a search matched more than `total` reports."),
  limit: z.number(),
  offset: z.number(),
});
