import { scoreCvssVector } from "../src/modules/triage/cvss.js";
import { baseVectorOf, type Advisory, type AdvisoryContent, type AdvisoryRevision, type CvssSeverity } from "../src/modules/advisories/advisory.js";
import type { ExportContext } from "../src/modules/advisories/export-context.js";

export const EXPORT_CONTEXT: ExportContext = {
  publisherName: "Example Inc.",
  baseUrl: "https://shield.example.com",
  contactEmail: "security@example.com",
  cveOrgId: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
  cveShortName: "example",
};

export function buildAdvisoryContent(overrides: Partial<AdvisoryContent> = {}): AdvisoryContent {
  return {
    title: "Stored cross-site scripting in comments",
    summary: "A comment could carry a script that ran in the browser of anyone who read it.",
    products: [{ vendor: "Example Inc.", product: "Basecamp", ecosystem: null, packageName: null, ranges: [{ introduced: "0", fixed: "4.2.1", lastAffected: null }], fixedVersion: "4.2.1" }],
    cvss31: null,
    cvss40: null,
    cwe: null,
    cveId: null,
    references: [],
    workarounds: null,
    credits: [],
    ...overrides,
  };
}

/** A published advisory with one revision per entry of `revisions` (default one), each a day apart. */
export function buildPublishedAdvisory(content: AdvisoryContent, options: { publicId?: string; revisions?: string[] } = {}): Advisory {
  const summaries = options.revisions ?? ["Initial publication."];
  const revisions: AdvisoryRevision[] = summaries.map((summary, i) => ({
    number: i + 1,
    summary,
    publishedAt: new Date(Date.UTC(2026, 10, 2 + i, 9, 30)).toISOString(),
    content,
  }));
  return {
    id: 1,
    publicId: options.publicId ?? "EXA-2026-001",
    state: "published",
    content,
    reportIds: [1],
    scheduledAt: null,
    publishedAt: revisions[0]!.publishedAt,
    guardOverride: null,
    createdAt: "2026-11-01T08:00:00.000Z",
    updatedAt: revisions.at(-1)!.publishedAt,
    revisions,
  };
}

/** A CVSS severity as the service computes it: the base score of the vector's base metrics. */
export function cvssOf(version: "3.1" | "4.0", vector: string): CvssSeverity {
  const { score, rating } = scoreCvssVector(version, baseVectorOf(version, vector));
  return { vector, baseScore: score, baseRating: rating };
}
