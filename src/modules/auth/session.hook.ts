import type {} from "@fastify/cookie";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ForbiddenError } from "../../shared/errors.js";
import { hasPermission, type Permission } from "../people/index.js";
import type { SessionKind } from "./auth.js";
import { SessionRequiredError } from "./auth.errors.js";
import { resumeSession, type ActiveSession, type AuthContext } from "./session.service.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in (or half-signed-in) session, set by `requireSession` / `requirePendingSession`. */
    teamSession?: ActiveSession;
  }
}

/**
 * The session cookie: HttpOnly, SameSite=Lax, path `/`, and Secure when Shield's URL is
 * https — then also named with the `__Host-` prefix, which browsers accept only from a
 * secure origin without a Domain, so no sibling sub-domain can plant or shadow it.
 */
export function sessionCookieName(ctx: Pick<AuthContext, "baseUrl">): string {
  return isSecure(ctx) ? "__Host-shield_session" : "shield_session";
}

function isSecure(ctx: Pick<AuthContext, "baseUrl">): boolean {
  return ctx.baseUrl().startsWith("https:");
}

export function setSessionCookie(reply: FastifyReply, ctx: Pick<AuthContext, "baseUrl">, token: string): void {
  reply.setCookie(sessionCookieName(ctx), token, { path: "/", httpOnly: true, sameSite: "lax", secure: isSecure(ctx) });
}

export function clearSessionCookie(reply: FastifyReply, ctx: Pick<AuthContext, "baseUrl">): void {
  reply.clearCookie(sessionCookieName(ctx), { path: "/", httpOnly: true, sameSite: "lax", secure: isSecure(ctx) });
}

export function readSessionToken(request: FastifyRequest, ctx: Pick<AuthContext, "baseUrl">): string | undefined {
  return request.cookies?.[sessionCookieName(ctx)];
}

/** What a page route asks of its visitor: a permission of the role, or just being a signed-in member. */
export type PageAccess = Permission | "signed_in";

/** Where the sign-in page sends people back to; only GET pages are worth returning to. */
function loginRedirect(request: FastifyRequest, why?: string): string {
  const params = new URLSearchParams();
  if (request.method === "GET" && request.url !== "/team") params.set("next", request.url);
  if (why) params.set("ended", why);
  const query = params.toString();
  return query ? `/login?${query}` : "/login";
}

function wantsJson(request: FastifyRequest): boolean {
  return String(request.headers["content-type"] ?? "").includes("application/json") || String(request.headers.accept ?? "").startsWith("application/json");
}

/**
 * A preHandler for team pages (the cookie-session analogue of `requireTeam`): a visitor
 * who is not signed in — or only half, with the second factor pending — is sent to
 * /login (JSON requests get a 401); a member whose role lacks `access` gets 403.
 * Every team page route names its access, e.g. `preHandler: requireSession(auth, "reports:write")`.
 */
export function requireSession(ctx: AuthContext, access: PageAccess) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const found = await resumeSession(ctx, readSessionToken(request, ctx));
    if (found.state !== "active" || found.session.kind !== "signed_in") {
      if (found.state === "ended") clearSessionCookie(reply, ctx);
      if (wantsJson(request)) throw SessionRequiredError("Your session has ended. Sign in again.");
      return reply.code(303).header("cache-control", "no-store").redirect(loginRedirect(request, found.state === "ended" ? found.why : undefined));
    }
    if (access !== "signed_in" && !hasPermission(found.member.role, access)) {
      throw ForbiddenError(`Your role (${found.member.role}) does not allow this page; it needs ${access === "admin" ? "an admin" : access === "reports:write" ? "a triager or an admin" : "a team member"}.`);
    }
    request.teamSession = { session: found.session, member: found.member };
  };
}

/**
 * For the pages in between: the second-factor page (`second_factor`) and the authenticator
 * enrolment page (`enrolment`, or a signed-in member replacing their app).
 */
export function requirePendingSession(ctx: AuthContext, kinds: SessionKind[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const found = await resumeSession(ctx, readSessionToken(request, ctx));
    if (found.state !== "active" || !kinds.includes(found.session.kind)) {
      if (found.state === "ended") clearSessionCookie(reply, ctx);
      if (wantsJson(request)) throw SessionRequiredError("Your sign-in took too long. Start again.");
      return reply.code(303).header("cache-control", "no-store").redirect(found.state === "ended" ? "/login?ended=pending" : "/login");
    }
    request.teamSession = { session: found.session, member: found.member };
  };
}

export function sessionOf(request: FastifyRequest): ActiveSession {
  if (!request.teamSession) throw new Error("route is missing its requireSession hook");
  return request.teamSession;
}
