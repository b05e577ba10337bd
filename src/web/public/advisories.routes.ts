import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { LINK_REL } from "../../platform/markdown/markdown.js";
import { csafDocumentText, exportCsaf, exportCve, exportOsv, findPublishedAdvisory, listAdvisories } from "../../modules/advisories/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";
import { renderPage } from "../render.js";
import { dateText, exportContextOf, presentAdvisoryRevision } from "./advisory-view.js";
import { composeAdvisoryFeed } from "./advisory-feed.js";

export interface AdvisoryPageDeps {
  db: Db;
  settings: SettingsReader;
  baseUrl: () => string;
}

const ADVISORY_ID = /^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{3,6}$/;
const FEED_LIMIT = 50;

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
      .send(renderPage(reply.request, "message", { title: "Advisory not found", message: "There is no published advisory with this id.", link: { href: "/security/advisories", text: "All security advisories" } }));

  app.get("/security/advisories", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    const advisories = (await listAdvisories(deps.db, { state: "published" })).map((a) => {
      const latest = a.revisions.at(-1)!;
      return { id: a.publicId, title: latest.content.title, cveId: latest.content.cveId, rating: latest.content.cvss40?.baseRating ?? latest.content.cvss31?.baseRating ?? null, published: dateText(a.revisions[0]!.publishedAt), publishedIso: a.revisions[0]!.publishedAt, revision: latest.number };
    });
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(renderPage(reply.request, "advisories", { title: "Security advisories", description: `Security updates published by ${settings.companyName}.`, advisories, nav: "advisories", feed: "/security/advisories.atom" }));
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
    const asked = request.query.revision;
    const revision = asked === undefined ? advisory.revisions.at(-1)! : advisory.revisions.find((r) => String(r.number) === asked);
    if (!revision) return notFound(reply);
    const view = presentAdvisoryRevision(advisory, revision, exportContextOf(settings, deps.baseUrl()));
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(renderPage(reply.request, "advisory", { title: `${advisory.publicId}: ${view.title}`, description: `Security advisory ${advisory.publicId} of ${settings.companyName}.`, advisory: view, rel: LINK_REL, nav: "advisories", feed: "/security/advisories.atom" }));
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
