import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { isCsrfRefusal } from "../../platform/http/csrf.js";
import { DomainError } from "../../shared/errors.js";
import type { TeamMember } from "../../modules/people/index.js";
import { renderPage, type PageData } from "../render.js";

/**
 * Team pages answer with HTML, never with the API's JSON errors, and are never cached:
 * they show who is signed in, recovery codes, secrets. A page for a signed-in member
 * carries the one team header (teamHeaderOf).
 */
export function sendPage(reply: FastifyReply, template: string, data: PageData, status = 200): FastifyReply {
  const team = teamHeaderOf(reply, data);
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .type("text/html; charset=utf-8")
    .send(renderPage(reply.request, template, team ? { ...data, team } : data));
}

export interface TeamHeader {
  member: Pick<TeamMember, "name" | "role">;
  csrf: string;
  links: Array<{ href: string; label: string; current: boolean }>;
}

/** The team pages every signed-in member can reach, in the header's order; settings for admins only. */
const TEAM_LINKS: Array<{ href: string; label: string; adminOnly?: boolean; covers: RegExp }> = [
  { href: "/desk", label: "Queue", covers: /^\/desk(\/reports\/.*)?$/ },
  { href: "/desk/advisories", label: "Advisories", covers: /^\/desk\/advisories(\/.*)?$/ },
  { href: "/desk/metrics", label: "Metrics", covers: /^\/desk\/metrics$/ },
  { href: "/desk/settings", label: "Settings", adminOnly: true, covers: /^\/desk\/(settings|hall-of-fame)(\/.*)?$/ },
  { href: "/team/members", label: "Team", covers: /^\/team\/members(\/.*)?$/ },
  { href: "/team/account", label: "Account", covers: /^\/team(\/account(\/.*)?)?$/ },
];

/**
 * The header of a signed-in member's pages: the same links everywhere, the current page
 * marked, who is signed in and a sign-out button. Nothing for pages before sign-in
 * (the second factor, enrolment after an invite).
 */
function teamHeaderOf(reply: FastifyReply, data: PageData): TeamHeader | undefined {
  const signedIn = reply.request.teamSession;
  if (!signedIn || signedIn.session.kind !== "signed_in") return undefined;
  const path = reply.request.url.split("?")[0] ?? "";
  const { member } = signedIn;
  return {
    member: { name: member.name, role: member.role },
    // A page that has a form token already shares it: a second one would replace the cookie's secret.
    csrf: typeof data.csrf === "string" ? data.csrf : reply.csrfToken(),
    links: TEAM_LINKS.filter((l) => !l.adminOnly || member.role === "admin").map((l) => ({ href: l.href, label: l.label, current: l.covers.test(path) })),
  };
}

export function sendMessage(reply: FastifyReply, status: number, title: string, message: string, link?: { href: string; text: string }): FastifyReply {
  return sendPage(reply, "message", { title, message, link }, status);
}

function wantsJson(request: FastifyRequest): boolean {
  return String(request.headers["content-type"] ?? "").includes("application/json");
}

/**
 * The error handler of the team pages' scope: a refused CSRF token, a lock-out, a missing
 * permission become readable pages. JSON calls (the passkey script) and anything
 * unexpected go on to the application's handler, which answers JSON or logs a 500.
 */
export function pageErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (wantsJson(request)) throw error;
  if (isCsrfRefusal(error)) {
    return sendMessage(reply, 403, "Form expired", "This form is out of date or did not come from this site, so nothing was changed. Go back, reload the page and send it again.");
  }
  if (error instanceof DomainError) {
    if (error.kind === "unauthenticated") return reply.code(303).redirect("/login");
    if (error.kind === "forbidden") return sendMessage(reply, 403, "Not allowed", error.message, { href: "/team", text: "Back to your team page" });
    if (error.kind === "not_found") return sendMessage(reply, 404, "Not found", error.message);
    if (error.kind === "rate_limited") return sendMessage(reply, 429, "Too many attempts", error.message);
    if (error.kind === "conflict") return sendMessage(reply, 409, "Cannot do that now", error.message, { href: "/team/account", text: "Your account" });
  }
  if (error.statusCode === 429) return sendMessage(reply, 429, "Too many requests", error.message);
  throw error;
}

/** One text field of an urlencoded form: a string of at most `max` characters, else empty. */
export function formField(body: unknown, name: string, max = 1000): string {
  const value = body && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" && value.length <= max ? value : "";
}
