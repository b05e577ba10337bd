import path from "node:path";
import { Eta } from "eta";
import { PACKAGE_ROOT } from "../platform/package-root.js";
import type { FastifyRequest } from "fastify";
// The request's `site` (declared there).
import type {} from "./site-info.js";

export { PACKAGE_ROOT };
export const WEB_ROOT = path.join(PACKAGE_ROOT, "src", "web");
/** Where `vite build` puts the browser modules of `src/web/client/`. */
export const CLIENT_BUILD_DIR = path.join(PACKAGE_ROOT, "dist", "web", "client");

/**
 * Server-side templates. Every `<%= … %>` is HTML-escaped; nothing from a report is
 * ever written with the raw tag.
 */
export const views = new Eta({ views: path.join(WEB_ROOT, "views"), cache: true, autoEscape: true, autoTrim: false });

export interface PageData {
  title: string;
  [key: string]: unknown;
}

/**
 * A page as the request it answers shows it: the layout's header, footer and stylesheet
 * come from the request's site info (see site-info.ts).
 */
export function renderPage(request: FastifyRequest, template: string, data: PageData): string {
  if (!request.site) throw new Error(`the page ${template} was rendered for a request without site info (${request.url})`);
  return views.render(template, { site: request.site, ...data });
}
