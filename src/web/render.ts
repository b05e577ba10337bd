import path from "node:path";
import { Eta } from "eta";
import { PACKAGE_ROOT } from "../platform/package-root.js";
import { DEFAULT_SETTINGS, type Settings } from "../modules/settings/index.js";
import { siteStylesheet } from "./public/brand-css.js";

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

/** The program as the layout's header and footer show it (`it.site` in every template). */
export interface SiteInfo {
  companyName: string;
  programName: string;
  securityEmail: string;
  /** The URL of the site's stylesheet in the program's colours (web/public/brand-css.ts). */
  stylesheet: string;
  /** An admin opted in to `/security/stats`: the footer links it. */
  publicStats: boolean;
}

let siteInfo: SiteInfo = { companyName: "Shield", programName: "Security Response", securityEmail: "", stylesheet: siteStylesheet(DEFAULT_SETTINGS.brandColor).url, publicStats: false };

/**
 * Called with the program settings at the start of each page request (see
 * web/public/public-site.plugin.ts). One process serves one program, so one current
 * value is right for every page; it is at most as old as the settings cache.
 */
export function setSiteInfo(info: Pick<Settings, "companyName" | "programName" | "securityEmail" | "brandColor" | "publicStats">): void {
  siteInfo = { companyName: info.companyName, programName: info.programName, securityEmail: info.securityEmail, stylesheet: siteStylesheet(info.brandColor).url, publicStats: info.publicStats };
}

export function renderPage(template: string, data: PageData): string {
  return views.render(template, { site: siteInfo, ...data });
}
