import { DomainError } from "../../shared/errors.js";
import { currentRevision, type Advisory, type VersionRange } from "./advisory.js";
import { advisoryPageUrl, type ExportContext } from "./export-context.js";

export const CveExportUnavailableError = (why: string) => new DomainError("cve_export_unavailable", "not_found", `There is no CVE record for this advisory: ${why}`);

/**
 * An advisory as a CVE JSON 5 record in the PUBLISHED state, its CNA container being what
 * a CNA submits to CVE Services. Needs the advisory's CVE id and the CNA's organisation id
 * (settings); versions are `custom` ranges as the vendor numbers them.
 * Pure: the same advisory gives the same document.
 * @throws CveExportUnavailableError without a CVE id or a CNA organisation id
 */
export function exportCve(advisory: Advisory, context: ExportContext): Record<string, unknown> {
  const latest = currentRevision(advisory);
  const content = latest.content;
  if (!content.cveId) throw CveExportUnavailableError("it has no CVE id.");
  if (!context.cveOrgId) throw CveExportUnavailableError("the program has no CNA organisation id in its settings.");
  const published = advisory.revisions[0]!.publishedAt;
  const providerMetadata = { orgId: context.cveOrgId, ...(context.cveShortName ? { shortName: context.cveShortName } : {}), dateUpdated: latest.publishedAt };
  const metrics = [
    ...(content.cvss40 ? [{ format: "CVSS", cvssV4_0: { version: "4.0", vectorString: content.cvss40.vector, baseScore: content.cvss40.baseScore, baseSeverity: content.cvss40.baseRating.toUpperCase() } }] : []),
    ...(content.cvss31 ? [{ format: "CVSS", cvssV3_1: { version: "3.1", vectorString: content.cvss31.vector, baseScore: content.cvss31.baseScore, baseSeverity: content.cvss31.baseRating.toUpperCase() } }] : []),
  ];
  const cna: Record<string, unknown> = {
    providerMetadata,
    datePublic: published,
    title: content.title,
    descriptions: [{ lang: "en", value: content.summary }],
    affected: content.products.map((product) => ({
      vendor: product.vendor,
      product: product.product,
      ...(product.packageName ? { packageName: product.packageName } : {}),
      versions: [...product.ranges.map(cveVersion), ...(product.fixedVersion ? [{ version: product.fixedVersion, status: "unaffected", versionType: "custom" }] : [])],
      defaultStatus: "unaffected",
    })),
    ...(content.cwe ? { problemTypes: [{ descriptions: [{ lang: "en", cweId: content.cwe.id, description: `${content.cwe.id} ${content.cwe.name}`, type: "CWE" }] }] } : {}),
    references: [{ url: advisoryPageUrl(context, advisory), tags: ["vendor-advisory"] }, ...content.references.map((url) => ({ url }))],
    ...(metrics.length ? { metrics } : {}),
    ...(content.workarounds ? { workarounds: [{ lang: "en", value: content.workarounds }] } : {}),
    ...(content.credits.length ? { credits: content.credits.map((c) => ({ lang: "en", value: c.url ? `${c.name} (${c.url})` : c.name, type: c.type })) } : {}),
  };
  return {
    dataType: "CVE_RECORD",
    dataVersion: "5.1",
    cveMetadata: {
      cveId: content.cveId,
      assignerOrgId: context.cveOrgId,
      ...(context.cveShortName ? { assignerShortName: context.cveShortName } : {}),
      state: "PUBLISHED",
      datePublished: published,
      dateUpdated: latest.publishedAt,
    },
    containers: { cna },
  };
}

function cveVersion(range: VersionRange): Record<string, string> {
  return {
    version: range.introduced,
    status: "affected",
    versionType: "custom",
    ...(range.fixed ? { lessThan: range.fixed } : {}),
    ...(range.lastAffected ? { lessThanOrEqual: range.lastAffected } : {}),
    ...(!range.fixed && !range.lastAffected ? { lessThanOrEqual: "*" } : {}),
  };
}
