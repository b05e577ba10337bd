import { z } from "zod";
import { webUrl } from "../../shared/web-url.js";
import { reporterText } from "../reports/index.js";
import { ADVISORY_STATES, CREDIT_TYPES } from "./advisory.js";

/** Text a team member types: never NUL or broken Unicode, bounded. */
const text = (max: number) => reporterText(max).refine((s) => s.trim().length > 0, "must not be empty");
const line = (max: number) => text(max).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "must be one line without control characters");
const version = line(100).describe('A version as the vendor numbers it, e.g. "4.2.1"');
const isoInstant = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date and time, e.g. 2026-03-02T09:00:00Z" }).transform((s) => new Date(s).toISOString());

const rangeBody = z
  .object({
    introduced: version.default("0").describe('The first affected version; "0": every version before the fix.'),
    fixed: version.nullable().optional().describe("The first version with the fix (not affected)."),
    lastAffected: version.nullable().optional().describe("The last affected version, when no fixed one exists in this range."),
  })
  .strict();

const productBody = z
  .object({
    vendor: line(200),
    product: line(200),
    ecosystem: line(100).nullable().optional().describe("OSV ecosystem (npm, PyPI, RubyGems…) when the product is a package."),
    packageName: line(300).nullable().optional(),
    ranges: z.array(rangeBody).min(1, "needs at least one version range").max(50),
    fixedVersion: version.nullable().optional(),
  })
  .strict();

const creditBody = z
  .object({
    name: line(300),
    url: webUrl().nullable().optional(),
    type: z.enum(CREDIT_TYPES).default("other"),
  })
  .strict();

const contentFields = {
  title: line(200),
  summary: text(50_000).describe("Markdown."),
  products: z.array(productBody).min(1, "name at least one affected product").max(50),
  cvss31Vector: z.string().max(400).nullable().optional().describe("Default on creation: the highest-scored CVSS 3.1 vector of the linked reports. null: none."),
  cvss40Vector: z.string().max(400).nullable().optional().describe("Default on creation: the highest-scored CVSS 4.0 vector of the linked reports. null: none."),
  cwe: z.string().max(20).nullable().optional().describe('e.g. "CWE-79". Default on creation: the linked reports\' weakness.'),
  cveId: z.string().regex(/^CVE-\d{4}-\d{4,19}$/, "must be a CVE id such as CVE-2026-12345").nullable().optional(),
  references: z.array(webUrl()).max(50).optional(),
  workarounds: text(20_000).nullable().optional().describe("Markdown."),
  credits: z.array(creditBody).max(100).optional().describe("Credits the team adds (upstream maintainers…); each linked report's reporter is credited as they chose on their tracking page."),
};

export const createAdvisoryBody = z
  .object({
    reportIds: z.array(z.number().int().positive()).min(1, "link at least one report").max(50),
    ...contentFields,
  })
  .strict();
export type CreateAdvisoryBody = z.infer<typeof createAdvisoryBody>;

export const patchAdvisoryBody = z
  .object({
    reportIds: createAdvisoryBody.shape.reportIds.optional(),
    title: contentFields.title.optional(),
    summary: contentFields.summary.optional(),
    products: contentFields.products.optional(),
    cvss31Vector: contentFields.cvss31Vector,
    cvss40Vector: contentFields.cvss40Vector,
    cwe: contentFields.cwe,
    cveId: contentFields.cveId,
    references: contentFields.references,
    workarounds: contentFields.workarounds,
    credits: contentFields.credits,
    revisionSummary: line(500).optional().describe("Required for a published advisory: each change to one is a numbered revision with this summary."),
  })
  .strict()
  .refine((body) => Object.keys(body).some((k) => k !== "revisionSummary"), "send at least one field to change");
export type PatchAdvisoryBody = z.infer<typeof patchAdvisoryBody>;

const overrideReason = line(2000).optional().describe("Admins only: publish over the disclosure guard; the reason is kept in the audit log.");

export const publishAdvisoryBody = z.object({ overrideReason }).strict();
export const scheduleAdvisoryBody = z.object({ at: isoInstant.describe("When the scheduled job publishes it (the guard is checked again then)."), overrideReason }).strict();
export type ScheduleAdvisoryBody = z.infer<typeof scheduleAdvisoryBody>;

export const advisoryParams = z.object({ id: z.string().regex(/^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{3,6}$/, "must be an advisory id such as EXA-2026-001") });

const cvssView = z.object({ vector: z.string(), baseScore: z.number(), baseRating: z.string() }).nullable();
const contentView = z.object({
  title: z.string(),
  summary: z.string(),
  products: z.array(
    z.object({
      vendor: z.string(),
      product: z.string(),
      ecosystem: z.string().nullable(),
      packageName: z.string().nullable(),
      ranges: z.array(z.object({ introduced: z.string(), fixed: z.string().nullable(), lastAffected: z.string().nullable() })),
      fixedVersion: z.string().nullable(),
    }),
  ),
  cvss31: cvssView,
  cvss40: cvssView,
  cwe: z.object({ id: z.string(), name: z.string() }).nullable(),
  cveId: z.string().nullable(),
  references: z.array(z.string()),
  workarounds: z.string().nullable(),
  credits: z.array(z.object({ name: z.string(), url: z.string().nullable(), type: z.string(), reportId: z.number().nullable() })),
});

export const advisoryView = z.object({
  id: z.string(),
  state: z.enum(ADVISORY_STATES),
  content: contentView,
  reportIds: z.array(z.number()),
  scheduledAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  guardOverride: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  url: z.string().nullable().describe("The public page, once published."),
  revisions: z.array(z.object({ number: z.number(), summary: z.string(), publishedAt: z.string() })),
});
export const advisoryListView = z.object({ advisories: z.array(advisoryView) });
export const listAdvisoriesQuery = z.object({ state: z.enum(ADVISORY_STATES).optional() }).strict();
