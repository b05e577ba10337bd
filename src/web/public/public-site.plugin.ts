import multipart from "@fastify/multipart";
import { z } from "zod";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import type { GroupCommit } from "../../platform/db/group-commit.js";
import type { Events } from "../../shared/events.js";
import { isCsrfRefusal } from "../../platform/http/csrf.js";
import { DomainError } from "../../shared/errors.js";
import type { AttachmentLimits } from "../../modules/attachments/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";
import type { TeamKeyring } from "../../modules/keys/index.js";
import { siteStylesheet } from "./brand-css.js";
import { sendPage } from "./page-reply.js";
import { registerReportFormRoutes } from "./report-form.routes.js";
import { registerTrackingRoutes } from "./tracking.routes.js";

export interface PublicSiteDeps {
  db: Db;
  clock: Clock;
  events: Events;
  /** The group committer new reports share (see intake). */
  reportCommits: GroupCommit;
  settings: SettingsReader;
  blobs: BlobStore;
  baseUrl: () => string;
  limits: AttachmentLimits;
  /** Reports (and replies) one client address may send per minute through the pages. */
  rateLimitPerMinute: number;
  /** Called after a commit that enqueued outbox work. */
  onChanged: () => void;
  /** The team key: reports encrypted in the browser are checked against it. */
  keyring: TeamKeyring;
}

/**
 * The reporter-facing pages: the report form, its confirmation and the tracking page.
 * Multipart lives in an encapsulated scope, so the JSON API keeps its own rules (bearer
 * tokens, JSON only); cookies and the double-submit CSRF check come from the HTTP app
 * (platform/http/app.ts), used only by these forms and the team pages. The layout's
 * header and footer show the request's site info (web/site-info.ts), and the brand
 * colour is served as a stylesheet, not an inline style.
 */
export async function registerPublicSite(app: HttpApp, deps: PublicSiteDeps): Promise<void> {
  // Pages link the stylesheet by its content's hash: a browser keeps it until the brand
  // colour (or Shield) changes, and never asks again meanwhile. A page rendered before a
  // change may still ask for the old version: it gets the current one, briefly cached.
  app.get("/assets/site/:file", { schema: { hide: true, params: z.object({ file: z.string().max(40) }) } }, async (request, reply) => {
    const stylesheet = siteStylesheet((await deps.settings.get()).brandColor);
    const current = request.params.file === `${stylesheet.version}.css`;
    return reply
      .type("text/css; charset=utf-8")
      .header("cache-control", current ? "public, max-age=31536000, immutable" : "public, max-age=60")
      .send(stylesheet.body);
  });

  await app.register(async (scope) => {
    const site = scope as unknown as HttpApp;
    await site.register(multipart, { throwFileSizeLimit: false });
    site.setErrorHandler(sendErrorPage);
    // Tracking pages and every answer to a form carry what a reporter wrote or their link:
    // never stored by a browser or proxy, never indexed.
    site.addHook("onRequest", async (request, reply) => {
      if (request.method === "POST" || request.url.startsWith("/security/reports/")) {
        reply.header("cache-control", "no-store").header("x-robots-tag", "noindex");
      }
    });
    registerReportFormRoutes(site, deps);
    registerTrackingRoutes(site, deps);
  });
}

/** Errors on the public pages are pages too, never JSON; unknown ones are logged and answered with a plain 500. */
function sendErrorPage(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const page = (status: number, title: string, message: string) => sendPage(reply.header("cache-control", "no-store"), status, "message", { title, message });
  const code = error.code ?? "";
  if (isCsrfRefusal(error)) {
    return page(403, "This form has expired", "For your safety the form could not be accepted: it is too old, or it was sent from another site. Go back, reload the page and send it again.");
  }
  if (error instanceof DomainError) {
    const status = { invalid: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, too_large: 413, rate_limited: 429 }[error.kind];
    return page(status, "That did not work", error.message);
  }
  const status = error.statusCode ?? 500;
  if (status === 413 || code === "FST_PARTS_LIMIT" || code === "FST_FILES_LIMIT" || code === "FST_FIELDS_LIMIT") {
    return page(413, "Too much at once", "The form carried more files or fields than we accept. Go back and send fewer files.");
  }
  // A body that is not multipart (a URL-encoded or JSON post): the wrong kind of body is 415, not @fastify/multipart's 406 (which is about the Accept header).
  if (code === "FST_INVALID_MULTIPART_CONTENT_TYPE") {
    return page(415, "The form was sent in a format we do not read", "This form is read only as multipart/form-data, the way a browser sends it from our page. Go back, reload the page and send it again; programs can use the JSON API at /api/v1/reports.");
  }
  if (status === 429) return page(429, "Please wait a moment", "Too many forms were sent from your address in the last minute. Try again in a minute.");
  if (status >= 400 && status < 500) {
    return page(status, "The form could not be read", "Your browser sent something we could not read. Go back, reload the page and try again.");
  }
  request.log.error({ err: error }, "unhandled error on a public page");
  return page(500, "Something went wrong", "Something went wrong on our side. It has been logged. Please try again later.");
}
