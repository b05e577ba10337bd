import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { LINK_REL, renderMarkdown } from "../../platform/markdown/markdown.js";
import { isWebUrl } from "../../shared/web-url.js";
import {
  csafDocumentText,
  exportCsaf,
  exportCve,
  exportOsv,
  findPublishedAdvisory,
  listAdvisories,
  type Advisory,
  type AdvisoryRevision,
  type ExportContext,
  type VersionRange,
} from "../../modules/advisories/index.js";
import type { Settings, SettingsCache } from "../../modules/settings/index.js";
import { renderPage, setSiteInfo } from "../render.js";
import { composeAdvisoryFeed } from "./advisory-feed.js";

export interface AdvisoryPageDeps {
  db: Db;
  settings: SettingsCache;
  baseUrl: () => string;
}

const ADVISORY_ID = /^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{3,6}$/;
const FEED_LIMIT = 50;

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

const dateText = (iso: string) => new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** One revision of an advisory as its page shows it; Markdown rendered and sanitised (platform/markdown). */
function revisionView(advisory: Advisory, revision: AdvisoryRevision, context: ExportContext) {
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

/**
 * The public side of advisories: the list, each advisory with its revisions, the Atom feed
 * and the OSV, CSAF and CVE exports. Only published advisories exist here: a draft or a
 * scheduled one answers the same 404 as an id never used.
 */
export function registerAdvisoryPages(app: HttpApp, deps: AdvisoryPageDeps): void {
  const notFound = (reply: any) =>
    reply
      .code(404)
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(renderPage("message", { title: "Advisory not found", message: "There is no published advisory with this id.", link: { href: "/security/advisories", text: "All security advisories" } }));

  app.get("/security/advisories", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    setSiteInfo(settings);
    const advisories = (await listAdvisories(deps.db, { state: "published" })).map((a) => {
      const latest = a.revisions.at(-1)!;
      return { id: a.publicId, title: latest.content.title, cveId: latest.content.cveId, rating: latest.content.cvss40?.baseRating ?? latest.content.cvss31?.baseRating ?? null, published: dateText(a.revisions[0]!.publishedAt), publishedIso: a.revisions[0]!.publishedAt, revision: latest.number };
    });
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(renderPage("advisories", { title: "Security advisories", description: `Security updates published by ${settings.companyName}.`, advisories, nav: "advisories", feed: "/security/advisories.atom" }));
  });

  app.get("/security/advisories.atom", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    const advisories = await listAdvisories(deps.db, { state: "published", limit: FEED_LIMIT });
    return reply
      .type("application/atom+xml; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(composeAdvisoryFeed(advisories, { baseUrl: deps.baseUrl(), companyName: settings.companyName, programName: settings.programName }));
  });

  app.get("/security/advisories/:id", { schema: { hide: true, querystring: z.object({ revision: z.string().optional() }) } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const advisory = ADVISORY_ID.test(id) ? await findPublishedAdvisory(deps.db, id) : undefined;
    if (!advisory) return notFound(reply);
    const settings = await deps.settings.get();
    setSiteInfo(settings);
    const asked = request.query.revision;
    const revision = asked === undefined ? advisory.revisions.at(-1)! : advisory.revisions.find((r) => String(r.number) === asked);
    if (!revision) return notFound(reply);
    const view = revisionView(advisory, revision, exportContextOf(settings, deps.baseUrl()));
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(renderPage("advisory", { title: `${advisory.publicId}: ${view.title}`, description: `Security advisory ${advisory.publicId} of ${settings.companyName}.`, advisory: view, rel: LINK_REL, nav: "advisories", feed: "/security/advisories.atom" }));
  });

  const exporters = { osv: exportOsv, csaf: exportCsaf, cve: exportCve } as const;
  for (const [format, exporter] of Object.entries(exporters)) {
    app.get(`/security/advisories/:id/${format}.json`, { schema: { hide: true } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const advisory = ADVISORY_ID.test(id) ? await findPublishedAdvisory(deps.db, id) : undefined;
      if (!advisory) return reply.code(404).send({ error: { code: "advisory_not_found", message: `There is no published advisory ${id}.` } });
      const context = exportContextOf(await deps.settings.get(), deps.baseUrl());
      // CSAF: the same bytes as the signed copy in the provider directory.
      const body = format === "csaf" ? csafDocumentText(advisory, context) : `${JSON.stringify(exporter(advisory, context), null, 2)}\n`;
      return reply.type("application/json; charset=utf-8").header("cache-control", "public, max-age=60").send(body);
    });
  }
}
