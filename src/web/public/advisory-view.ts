import { renderMarkdown } from "../../platform/markdown/markdown.js";
import { isWebUrl } from "../../shared/web-url.js";
import type { Advisory, AdvisoryRevision, ExportContext, VersionRange } from "../../modules/advisories/index.js";
import type { Settings } from "../../modules/settings/index.js";

/*
 * An advisory as its public page shows it, shared by the public page and the desk's
 * preview (which shows a draft exactly as the public will read it once published).
 */

export function exportContextOf(settings: Settings, baseUrl: string): ExportContext {
  return {
    publisherName: settings.companyName,
    baseUrl,
    contactEmail: settings.securityEmail,
    cveOrgId: settings.advisories.cveOrgId,
    cveShortName: settings.advisories.cveShortName,
  };
}

/** A version range in words: "3.0.0 up to 3.4.7 (fixed)", "up to and including 2026.10", "2.0 and later". */
export function describeRange(range: VersionRange): string {
  const from = range.introduced === "0" ? null : range.introduced;
  if (range.fixed) return from ? `${from} up to ${range.fixed} (not included)` : `before ${range.fixed}`;
  if (range.lastAffected) return from ? `${from} up to and including ${range.lastAffected}` : `up to and including ${range.lastAffected}`;
  return from ? `${from} and later` : "all versions";
}

export const dateText = (iso: string) => new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** One revision of an advisory as its page shows it; Markdown rendered and sanitised (platform/markdown). */
export function presentAdvisoryRevision(advisory: Advisory, revision: AdvisoryRevision, context: ExportContext) {
  const c = revision.content;
  return {
    id: advisory.publicId,
    title: c.title,
    summaryHtml: renderMarkdown(c.summary),
    workaroundsHtml: c.workarounds ? renderMarkdown(c.workarounds) : null,
    cveId: c.cveId,
    cvss31: c.cvss31,
    cvss40: c.cvss40,
    cwe: c.cwe,
    products: c.products.map((p) => ({ vendor: p.vendor, product: p.product, packageName: p.packageName, ranges: p.ranges.map(describeRange), fixedVersion: p.fixedVersion })),
    references: c.references.filter(isWebUrl),
    credits: c.credits.map((credit) => ({ name: credit.name, url: credit.url && isWebUrl(credit.url) ? credit.url : null, type: credit.type })),
    number: revision.number,
    latest: advisory.revisions.length,
    published: dateText(advisory.revisions[0]!.publishedAt),
    publishedIso: advisory.revisions[0]!.publishedAt,
    updated: dateText(revision.publishedAt),
    updatedIso: revision.publishedAt,
    revisions: advisory.revisions.map((r) => ({ number: r.number, summary: r.summary, date: dateText(r.publishedAt), iso: r.publishedAt })).reverse(),
    hasCve: Boolean(c.cveId && context.cveOrgId),
  };
}

