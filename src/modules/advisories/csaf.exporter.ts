import { currentRevision, type Advisory, type AffectedProduct, type VersionRange } from "./advisory.js";
import { advisoryPageUrl, type ExportContext } from "./export-context.js";

/** Where the CSAF document of an advisory is served (the provider directory holds a copy under /.well-known/csaf/). */
export function csafDocumentUrl(context: Pick<ExportContext, "baseUrl">, advisory: Pick<Advisory, "publicId">): string {
  return `${advisoryPageUrl(context, advisory)}/csaf.json`;
}

/**
 * An advisory as a CSAF 2.0 security advisory (profile `csaf_security_advisory`, TLP:WHITE).
 * The tracking revision history is the advisory's revisions, numbered as they are; the
 * document version is the latest one. Each version range of a product is a
 * `product_version_range` (vers:generic) known to be affected, and its fixed version a
 * `product_version` that is fixed. CSAF 2.0 knows CVSS up to 3.1: a 4.0 vector appears only
 * in the other exports.
 * Pure: the same advisory gives the same document.
 */
export function exportCsaf(advisory: Advisory, context: ExportContext): Record<string, unknown> {
  const latest = currentRevision(advisory);
  const content = latest.content;
  const tree = content.products.map((product, p) => productBranches(product, p));
  const affectedIds = tree.flatMap((t) => t.affectedIds);
  const fixedIds = tree.flatMap((t) => t.fixedIds);
  const remediations: Array<Record<string, unknown>> = tree
    .filter((t) => t.product.fixedVersion && t.affectedIds.length)
    .map((t) => ({ category: "vendor_fix", details: `Update ${t.product.product} to version ${t.product.fixedVersion}.`, product_ids: t.affectedIds, url: advisoryPageUrl(context, advisory) }));
  if (content.workarounds && affectedIds.length) remediations.push({ category: "workaround", details: content.workarounds, product_ids: affectedIds });

  return {
    document: {
      category: "csaf_security_advisory",
      csaf_version: "2.0",
      lang: "en",
      title: content.title,
      distribution: { tlp: { label: "WHITE", url: "https://www.first.org/tlp/" } },
      publisher: { category: "vendor", name: context.publisherName, namespace: context.baseUrl, contact_details: `mailto:${context.contactEmail}` },
      ...(content.cvss31 ? { aggregate_severity: { text: capitalise(content.cvss31.baseRating) } } : {}),
      notes: [{ category: "summary", title: "Summary", text: content.summary }],
      references: [
        { category: "self", summary: "The advisory's page", url: advisoryPageUrl(context, advisory) },
        { category: "self", summary: "This document", url: csafDocumentUrl(context, advisory) },
        ...content.references.map((url) => ({ category: "external", summary: url, url })),
      ],
      tracking: {
        id: advisory.publicId,
        status: "final",
        version: String(latest.number),
        initial_release_date: advisory.revisions[0]!.publishedAt,
        current_release_date: latest.publishedAt,
        revision_history: advisory.revisions.map((r) => ({ number: String(r.number), date: r.publishedAt, summary: r.summary })),
      },
    },
    product_tree: { branches: groupByVendor(tree) },
    vulnerabilities: [
      {
        ...(content.cveId ? { cve: content.cveId } : {}),
        ...(content.cwe ? { cwe: { id: content.cwe.id, name: content.cwe.name } } : {}),
        title: content.title,
        notes: [{ category: "description", title: "Description", text: content.summary }],
        product_status: {
          ...(affectedIds.length ? { known_affected: affectedIds } : {}),
          ...(fixedIds.length ? { fixed: fixedIds } : {}),
        },
        ...(remediations.length ? { remediations } : {}),
        ...(content.cvss31 && affectedIds.length
          ? {
              scores: [
                {
                  products: affectedIds,
                  cvss_v3: { version: "3.1", vectorString: content.cvss31.vector, baseScore: content.cvss31.baseScore, baseSeverity: content.cvss31.baseRating.toUpperCase() },
                },
              ],
            }
          : {}),
        ...(content.credits.length
          ? { acknowledgments: content.credits.map((c) => ({ names: [c.name], ...(c.url ? { urls: [c.url] } : {}), summary: c.type })) }
          : {}),
        ...(content.references.length ? { references: content.references.map((url) => ({ category: "external", summary: url, url })) } : {}),
      },
    ],
  };
}

interface ProductBranches {
  product: AffectedProduct;
  branch: Record<string, unknown>;
  affectedIds: string[];
  fixedIds: string[];
}

function productBranches(product: AffectedProduct, p: number): ProductBranches {
  const name = `${product.vendor} ${product.product}`;
  const affectedIds: string[] = [];
  const versions: Array<Record<string, unknown>> = product.ranges.map((range, r) => {
    const id = `CSAFPID-${p + 1}-${r + 1}`;
    affectedIds.push(id);
    const vers = versOf(range);
    return { category: "product_version_range", name: vers, product: { product_id: id, name: `${name} ${vers}` } };
  });
  const fixedIds: string[] = [];
  if (product.fixedVersion) {
    const id = `CSAFPID-${p + 1}-fixed`;
    fixedIds.push(id);
    versions.push({ category: "product_version", name: product.fixedVersion, product: { product_id: id, name: `${name} ${product.fixedVersion}` } });
  }
  return { product, affectedIds, fixedIds, branch: { category: "product_name", name: product.product, branches: versions } };
}

/** One vendor branch per vendor, its products in the order given. */
function groupByVendor(tree: ProductBranches[]): Array<Record<string, unknown>> {
  const vendors = new Map<string, Array<Record<string, unknown>>>();
  for (const t of tree) {
    const list = vendors.get(t.product.vendor) ?? [];
    list.push(t.branch);
    vendors.set(t.product.vendor, list);
  }
  return [...vendors].map(([vendor, branches]) => ({ category: "vendor", name: vendor, branches }));
}

/** A range in the vers notation CSAF recommends: `vers:generic/>=1.0|<1.2`; from version 0 it has no lower bound. */
export function versOf(range: VersionRange): string {
  const constraints: string[] = [];
  if (range.introduced !== "0") constraints.push(`>=${range.introduced}`);
  if (range.fixed) constraints.push(`<${range.fixed}`);
  if (range.lastAffected) constraints.push(`<=${range.lastAffected}`);
  return `vers:generic/${constraints.length ? constraints.join("|") : "*"}`;
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
