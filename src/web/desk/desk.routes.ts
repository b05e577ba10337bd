import fs from "node:fs";
import path from "node:path";
import type { HttpApp } from "../../platform/http/app.js";
import { MarkdownRenderCache, renderReporterMarkdown } from "../../platform/markdown/markdown.js";
import { WEB_ROOT } from "../render.js";
import { pageErrorHandler } from "../team/team-pages.js";
import type { DeskRouteDeps } from "./desk-context.js";
import { registerAdvisoryPages } from "./advisory-pages.routes.js";
import { registerQueuePage } from "./queue-page.routes.js";
import { registerReportActions } from "./report-actions.routes.js";
import { registerReportPage } from "./report-page.routes.js";
import { refuseSubresourceRequests } from "../../platform/http/subresource-guard.js";

export type { DeskRouteDeps } from "./desk-context.js";

/**
 * The team's desk: the queue (`/desk`, queue-page.routes.ts), the report page
 * (`/desk/reports/:id`, report-page.routes.ts) and its actions (report-actions.routes.ts,
 * forms read by report-forms.ts into the team API's bodies) and the advisories
 * (advisory-pages.routes.ts, forms read by advisory-forms.ts). Pages answer HTML in their
 * own error scope.
 */
export async function registerDeskPages(app: HttpApp, deps: DeskRouteDeps): Promise<void> {
  const css = fs.readFileSync(path.join(WEB_ROOT, "assets", "desk.css"));
  app.get("/assets/desk.css", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=300").send(css),
  );
  await app.register(async (scope) => {
    scope.setErrorHandler(pageErrorHandler);
    // Loaded by a page as an image, script or style (reporter text naming a desk URL): refused before any read is audited.
    scope.addHook("onRequest", refuseSubresourceRequests);
    // Reports and their threads are reporter text: rendered so that nothing in them loads.
    const ctx = { ...deps, rendered: new MarkdownRenderCache(undefined, renderReporterMarkdown) };
    registerQueuePage(scope as HttpApp, ctx);
    registerReportPage(scope as HttpApp, ctx);
    registerReportActions(scope as HttpApp, ctx);
    registerAdvisoryPages(scope as HttpApp, ctx);
  });
}
