import type { Advisory } from "./advisory.js";
import { exportCsaf } from "./csaf.exporter.js";
import type { ExportContext } from "./export-context.js";

/**
 * The CSAF 2.0 provider directory (§7.1): provider-metadata.json, and the TLP:WHITE
 * documents under /.well-known/csaf/white/<year>/<file>.json with their hashes,
 * signatures, changes.csv and index.txt. Pure: file names, lists and texts.
 */
export const CSAF_ROOT = "/.well-known/csaf";
export const CSAF_WHITE = `${CSAF_ROOT}/white`;

/** §5.1: the tracking id in lower case, every character other than a-z, 0-9, +, - and _ as `_`. */
export function csafFileName(publicId: string): string {
  return `${publicId.toLowerCase().replace(/[^a-z0-9+\-_]/g, "_")}.json`;
}

/** The folder year (§7.1.4): the year of the initial release. */
export function csafYear(advisory: Advisory): string {
  return advisory.revisions[0]!.publishedAt.slice(0, 4);
}

/** `2026/exa-2026-001.json`: the document's path below the white folder. */
export function csafPathOf(advisory: Advisory): string {
  return `${csafYear(advisory)}/${csafFileName(advisory.publicId)}`;
}

/** The document's exact bytes: what the page's csaf.json, the directory's copy, its hash and its signature all are of. */
export function csafDocumentText(advisory: Advisory, context: ExportContext): string {
  return `${JSON.stringify(exportCsaf(advisory, context), null, 2)}\n`;
}

/** §7.1.14 changes.csv: path and current release date, the latest change first. */
export function composeChangesCsv(advisories: Advisory[]): string {
  return advisories
    .map((a) => ({ path: csafPathOf(a), at: a.revisions.at(-1)!.publishedAt }))
    .sort((x, y) => y.at.localeCompare(x.at) || x.path.localeCompare(y.path))
    .map((c) => `"${c.path}","${c.at}"\n`)
    .join("");
}

/** §7.1.13 index.txt: every document's path, one a line. */
export function composeIndexTxt(advisories: Advisory[]): string {
  return advisories.map((a) => `${csafPathOf(a)}\n`).sort().join("");
}

/** §7.1.7 provider-metadata.json for a provider publishing TLP:WHITE documents signed with the team key. */
export function composeProviderMetadata(context: ExportContext, key: { fingerprint: string }, lastUpdated: string): Record<string, unknown> {
  return {
    canonical_url: `${context.baseUrl}${CSAF_ROOT}/provider-metadata.json`,
    distributions: [{ directory_url: `${context.baseUrl}${CSAF_WHITE}/` }],
    last_updated: lastUpdated,
    list_on_CSAF_aggregators: true,
    metadata_version: "2.0",
    mirror_on_CSAF_aggregators: true,
    public_openpgp_keys: [{ fingerprint: key.fingerprint.toUpperCase(), url: `${context.baseUrl}/security/pgp-key.asc` }],
    publisher: { category: "vendor", name: context.publisherName, namespace: context.baseUrl, contact_details: `mailto:${context.contactEmail}` },
    role: "csaf_provider",
  };
}
