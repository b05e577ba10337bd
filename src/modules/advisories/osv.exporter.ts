import { currentRevision, type Advisory, type VersionRange } from "./advisory.js";
import { advisoryPageUrl, type ExportContext } from "./export-context.js";

export const OSV_SCHEMA_VERSION = "1.7.0";

/**
 * An advisory as an OSV record (https://ossf.github.io/osv-schema/). A Shield program is
 * no registered OSV home database, so its ids take the `x_` prefix the schema keeps for
 * such databases; the CVE id, when there is one, is the alias. A product published as a
 * package (ecosystem and name given) is named as one; other products carry vendor and
 * product in `database_specific`. Each range is an ECOSYSTEM range of its own (versions as
 * the vendor numbers them): OSV allows `fixed` and `last_affected` together in none.
 * Pure: the same advisory gives the same document.
 */
export function exportOsv(advisory: Advisory, context: ExportContext): Record<string, unknown> {
  const revision = currentRevision(advisory);
  const content = revision.content;
  const severity = [
    ...(content.cvss31 ? [{ type: "CVSS_V3", score: content.cvss31.vector }] : []),
    ...(content.cvss40 ? [{ type: "CVSS_V4", score: content.cvss40.vector }] : []),
  ];
  return {
    schema_version: OSV_SCHEMA_VERSION,
    id: `x_${advisory.publicId}`,
    modified: revision.publishedAt,
    published: advisory.revisions[0]!.publishedAt,
    ...(content.cveId ? { aliases: [content.cveId] } : {}),
    summary: content.title,
    details: content.workarounds ? `${content.summary}\n\n## Workarounds\n\n${content.workarounds}` : content.summary,
    ...(severity.length ? { severity } : {}),
    affected: content.products.map((product) => ({
      ...(product.ecosystem ? { package: { ecosystem: product.ecosystem, name: product.packageName ?? product.product } } : {}),
      ranges: product.ranges.map((range) => ({ type: "ECOSYSTEM", events: osvEvents(range) })),
      database_specific: { vendor: product.vendor, product: product.product, ...(product.fixedVersion ? { fixed_version: product.fixedVersion } : {}) },
    })),
    references: [
      { type: "ADVISORY", url: advisoryPageUrl(context, advisory) },
      ...content.references.map((url) => ({ type: "WEB", url })),
    ],
    ...(content.credits.length
      ? { credits: content.credits.map((c) => ({ name: c.name, ...(c.url ? { contact: [c.url] } : {}), type: c.type.toUpperCase().replace(/ /g, "_") })) }
      : {}),
    database_specific: {
      shield_id: advisory.publicId,
      ...(content.cwe ? { cwe_ids: [content.cwe.id] } : {}),
      revision: revision.number,
    },
  };
}

function osvEvents(range: VersionRange): Array<Record<string, string>> {
  return [
    { introduced: range.introduced },
    ...(range.fixed ? [{ fixed: range.fixed }] : []),
    ...(range.lastAffected ? [{ last_affected: range.lastAffected }] : []),
  ];
}
