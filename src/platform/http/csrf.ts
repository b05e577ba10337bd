import csrfProtection from "@fastify/csrf-protection";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyReply {
    /** A CSRF token for this page's forms (the hidden `_csrf` field, or `x-csrf-token` for fetch calls), bound to the visitor's session. */
    csrfToken(): string;
  }
}

export interface CsrfOptions {
  /** Served over https: the secret's cookie is `__Host-shield_csrf` (Secure, Path=/, no Domain, so no sibling host can plant it). */
  secureCookies: boolean;
  /** The key tokens are MACed with; the same in every process sharing a database (derived from the master key). */
  key: Buffer;
  /** The visitor's session (the session cookie's value), or undefined: tokens are bound to it. */
  sessionOf?: (request: FastifyRequest) => string | undefined;
  /** Shield's public origin (from SHIELD_BASE_URL), read per request. */
  publicOrigin?: () => string;
}

/** The code of a state-changing request refused because a browser says it came from another site. */
export const CROSS_SITE_REFUSED = "SHIELD_CROSS_SITE_REFUSED";

/** True for every CSRF refusal: a missing or wrong token, or a request from another site. */
export function isCsrfRefusal(error: { code?: string }): boolean {
  return error.code === "FST_CSRF_MISSING_SECRET" || error.code === "FST_CSRF_INVALID_TOKEN" || error.code === CROSS_SITE_REFUSED;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why a state-changing request is refused as cross-site, or null. Browsers say where a
 * request comes from: `Sec-Fetch-Site` must be `same-origin` or `none` (typed or
 * bookmarked); `Origin`, when it names one, must be Shield's own (its public origin, or
 * the host the request was sent to). `Origin: null` is what our own forms send under
 * `Referrer-Policy: no-referrer`, so it says nothing and passes on to the token check.
 * Without either header (curl, scripts with a bearer token) nothing is refused here.
 */
export function crossSiteReason(request: Pick<FastifyRequest, "method" | "headers">, publicOrigin?: string): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return `Sec-Fetch-Site: ${site}`;
  const origin = request.headers.origin;
  if (typeof origin !== "string" || origin === "null") return null;
  if (publicOrigin && origin === publicOrigin) return null;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return "Origin: not a URL";
  }
  return host !== "" && host === request.headers.host ? null : `Origin: ${origin.slice(0, 200)}`;
}

function crossSiteError(reason: string): FastifyError {
  return Object.assign(new Error(`refused a request from another site (${reason})`), { code: CROSS_SITE_REFUSED, name: "CrossSiteRefused", statusCode: 403 }) as FastifyError;
}

/**
 * CSRF for every form on the site, registered once: a state-changing request from
 * another site is refused before anything else runs (onRequest), and routes with forms
 * take `preHandler: app.csrfProtection`, which checks the token against the secret in the
 * HttpOnly cookie (double submit, @fastify/csrf-protection) and against the session: a
 * token is a MAC over the secret and the visitor's session cookie (or "anonymous"), so a
 * pair made in another browser, or before signing in, does not pass with a member's
 * session cookie, even if someone plants their own secret cookie.
 */
export async function registerCsrf(app: FastifyInstance, options: CsrfOptions): Promise<void> {
  const bindingOf = (request: FastifyRequest): string => {
    const session = options.sessionOf?.(request);
    return session ? `session:${session}` : "anonymous";
  };
  await app.register(csrfProtection, {
    cookieKey: options.secureCookies ? "__Host-shield_csrf" : "_csrf",
    cookieOpts: { path: "/", sameSite: "lax", httpOnly: true, secure: options.secureCookies },
    getUserInfo: bindingOf,
    csrfOpts: { hmacKey: options.key, userInfo: true },
  });
  app.decorateReply("csrfToken", function (this: FastifyReply) {
    return this.generateCsrf({ userInfo: bindingOf(this.request) });
  });
  app.addHook("onRequest", async (request) => {
    const reason = crossSiteReason(request, options.publicOrigin?.());
    if (reason) {
      request.log.warn({ reason }, "refused a state-changing request from another site");
      throw crossSiteError(reason);
    }
  });
}
