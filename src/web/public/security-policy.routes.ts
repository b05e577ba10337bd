import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { presentPolicyPage } from "../../modules/policy/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";
import { renderPage } from "../render.js";

export interface SecurityPolicyRouteDeps {
  db: Db;
  settings: SettingsReader;
  baseUrl: () => string;
}

/**
 * `GET /security`: the policy page, imported with `shield policy import` or Shield's
 * default one. `GET /` sends a visitor there: it is the site's front page.
 */
export function registerSecurityPolicyRoutes(app: HttpApp, deps: SecurityPolicyRouteDeps): void {
  app.get("/", { schema: { hide: true } }, async (_request, reply) => reply.code(302).header("cache-control", "public, max-age=300").redirect("/security"));
  app.get("/security", { schema: { hide: true } }, async (request, reply) => {
    const settings = await deps.settings.get();
    const page = await presentPolicyPage(deps.db, { settings, baseUrl: deps.baseUrl() });
    if (page.unknown.length) {
      request.log.warn({ unknown: page.unknown.map((name) => `site.${name}`) }, "the policy page uses variables without a value; they show as [site.NAME] (see `shield policy vars`)");
    }
    // page.html was rendered from Markdown and sanitized (platform/markdown), which is what the raw tag in the template requires.
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(renderPage(reply.request, "policy", { title: page.title, description: page.description, html: page.html, nav: "policy" }));
  });
}
