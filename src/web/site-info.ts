import type { FastifyRequest } from "fastify";
import type { Settings, SettingsReader } from "../modules/settings/index.js";
import { siteStylesheet } from "./public/brand-css.js";

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

declare module "fastify" {
  interface FastifyRequest {
    /** The program as this request's page shows it, from the settings when the request came in; none for the API. */
    site?: SiteInfo;
  }
}

export function siteInfoOf(settings: Pick<Settings, "companyName" | "programName" | "securityEmail" | "brandColor" | "publicStats">): SiteInfo {
  return { companyName: settings.companyName, programName: settings.programName, securityEmail: settings.securityEmail, stylesheet: siteStylesheet(settings.brandColor).url, publicStats: settings.publicStats };
}

/**
 * Gives every request outside the JSON API the site info of this Shield's settings, read
 * when it comes in, so that each page shows its own program even when several Shields
 * serve in one process. The HTTP app runs it first (`prepareRequest`), so that a page
 * refusing a request (a form from another site, too many requests) has it too.
 */
export function siteInfoFrom(settings: SettingsReader): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    if (request.url.startsWith("/api/")) return;
    request.site = siteInfoOf(await settings.get());
  };
}
