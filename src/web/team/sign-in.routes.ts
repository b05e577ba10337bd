import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import {
  acceptInvite,
  clearSessionCookie,
  createPasskeySignInOptions,
  endSession,
  findOpenInvite,
  hasPasskeys,
  readSessionToken,
  requirePendingSession,
  resumeSession,
  sessionOf,
  setSessionCookie,
  verifyBothFactors,
  verifyPasskeyStep,
  verifyPasswordStep,
  verifyRecoveryCodeStep,
  verifyTotpStep,
  type AuthContext,
  type SignedIn,
} from "../../modules/auth/index.js";
import { formField, sendPage } from "./team-pages.js";

export interface SignInRouteDeps {
  auth: AuthContext;
}

const inviteParams = z.object({ token: z.string().min(1).max(200) });

/** Where a member lands after signing in: the desk once it exists, else the team page. */
export function landingPath(app: HttpApp): string {
  return app.hasRoute({ method: "GET", url: "/desk" }) ? "/desk" : "/team";
}

const STATUS_OF_CODE: Record<string, number> = { sign_in_failed: 401, sign_in_locked: 429, second_factor_missing: 403, second_factor_failed: 401, both_factors_failed: 401 };

function endedNotice(ended: unknown, auth: AuthContext): string | undefined {
  switch (ended) {
    case "idle":
      return `Your session ended after ${Math.round(auth.policy.idleMs / 60_000)} minutes without activity. Sign in again.`;
    case "absolute":
      return `Your session reached its limit of ${Math.round(auth.policy.absoluteMs / 3_600_000)} hours. Sign in again.`;
    case "pending":
      return "Signing in took too long. Start again.";
    case "signed_out":
      return "You are signed out.";
    case "disabled":
      return "Your account is disabled.";
    default:
      return undefined;
  }
}

/** The query's `next`, only if it is a path on this site (the service checks again when it is used). */
function nextFrom(request: FastifyRequest): string | undefined {
  const next = (request.query as Record<string, unknown> | undefined)?.next;
  return typeof next === "string" && /^\/(?![/\\])/.test(next) && next.length <= 500 ? next : undefined;
}

/**
 * Signing in and out: /login (e-mail and password) → /login/second-factor (TOTP code,
 * recovery code or passkey) → the desk; while an account is limited, /login asks for the
 * password and a code together instead; /logout; and /invite/:token, where a new member
 * sets a password before enrolling an authenticator. Every form carries a CSRF token.
 */
export function registerSignInRoutes(app: HttpApp, deps: SignInRouteDeps): void {
  const { auth } = deps;
  const csrf = app.csrfProtection;
  const secondFactorPending = requirePendingSession(auth, ["second_factor"]);

  const finish = (reply: FastifyReply, signedIn: SignedIn): string => {
    setSessionCookie(reply, auth, signedIn.token);
    if (signedIn.method === "recovery_code") return "/team/account?done=recovery-code";
    return signedIn.next ?? landingPath(app);
  };

  app.get("/login", { schema: { hide: true } }, async (request, reply) => {
    const found = await resumeSession(auth, readSessionToken(request, auth));
    if (found.state === "active" && found.session.kind === "signed_in") return reply.code(303).redirect(landingPath(app));
    const ended = (request.query as Record<string, unknown> | undefined)?.ended;
    return sendPage(reply, "login", { title: "Sign in", csrf: reply.csrfToken(), values: {}, next: nextFrom(request), notice: endedNotice(ended, auth) });
  });

  // The login form, or (hidden field `factors=both`) the form that asks for password and
  // code together, which a limited account needs; a failure there redraws that form.
  app.post("/login", { schema: { hide: true }, preHandler: csrf }, async (request, reply) => {
    const email = formField(request.body, "email", 320);
    const next = formField(request.body, "next", 500);
    const both = formField(request.body, "factors", 10) === "both";
    const page = (status: number, extra: Record<string, unknown>) =>
      sendPage(reply, "login", { title: "Sign in", csrf: reply.csrfToken(), values: { email }, next: next || undefined, bothFactors: both, ...extra }, status);
    try {
      const current = await resumeSession(auth, readSessionToken(request, auth));
      const replacing = current.state === "active" ? current.session : undefined;
      const password = formField(request.body, "password", 4096);
      if (both) {
        const signedIn = await verifyBothFactors(auth, { email, password, code: formField(request.body, "code", 100), ip: request.ip, next, replacing });
        return reply.code(303).header("cache-control", "no-store").redirect(finish(reply, signedIn));
      }
      const result = await verifyPasswordStep(auth, { email, password, ip: request.ip, next, replacing });
      if (result.step === "both_factors") return page(200, { bothFactors: true });
      setSessionCookie(reply, auth, result.token);
      return reply.code(303).header("cache-control", "no-store").redirect("/login/second-factor");
    } catch (error) {
      if (error instanceof DomainError && STATUS_OF_CODE[error.code]) return page(STATUS_OF_CODE[error.code]!, { error: error.message });
      throw error;
    }
  });

  const secondFactorPage = async (request: FastifyRequest, reply: FastifyReply, fields: Record<string, string> = {}, status = 200, error?: string) => {
    const { member } = sessionOf(request);
    return sendPage(
      reply,
      "second-factor",
      { title: "Confirm it is you", csrf: reply.csrfToken(), email: member.email, hasPasskeys: await hasPasskeys(auth, member.id), fields, error },
      status,
    );
  };

  app.get("/login/second-factor", { schema: { hide: true }, preHandler: secondFactorPending }, async (request, reply) => secondFactorPage(request, reply));

  app.post("/login/second-factor", { schema: { hide: true }, preHandler: [csrf, secondFactorPending] }, async (request, reply) => {
    const pending = sessionOf(request);
    const recoveryCode = formField(request.body, "recoveryCode", 100);
    const field = recoveryCode ? "recoveryCode" : "code";
    try {
      const signedIn = recoveryCode
        ? await verifyRecoveryCodeStep(auth, pending, { recoveryCode, ip: request.ip })
        : await verifyTotpStep(auth, pending, { code: formField(request.body, "code", 100), ip: request.ip });
      return reply.code(303).header("cache-control", "no-store").redirect(finish(reply, signedIn));
    } catch (error) {
      if (error instanceof DomainError && error.code === "second_factor_failed") return secondFactorPage(request, reply, { [field]: error.message }, 401);
      if (error instanceof DomainError && error.code === "sign_in_locked") return secondFactorPage(request, reply, {}, 429, error.message);
      throw error;
    }
  });

  // The passkey script's calls: JSON in and out, the CSRF token in the x-csrf-token header.
  app.post("/login/passkey/options", { schema: { hide: true }, preHandler: [csrf, secondFactorPending] }, async (request) =>
    createPasskeySignInOptions(auth, sessionOf(request)),
  );

  app.post("/login/passkey", { schema: { hide: true }, preHandler: [csrf, secondFactorPending] }, async (request, reply) => {
    const signedIn = await verifyPasskeyStep(auth, sessionOf(request), { response: request.body as AuthenticationResponseJSON, ip: request.ip });
    return reply.header("cache-control", "no-store").send({ redirect: finish(reply, signedIn) });
  });

  app.post("/logout", { schema: { hide: true }, preHandler: csrf }, async (request, reply) => {
    const found = await resumeSession(auth, readSessionToken(request, auth));
    if (found.state === "active") await endSession(auth, found, request.ip);
    clearSessionCookie(reply, auth);
    return reply.code(303).redirect("/login?ended=signed_out");
  });

  app.get("/invite/:token", { schema: { hide: true, params: inviteParams } }, async (request, reply) => {
    const { token } = request.params as z.infer<typeof inviteParams>;
    const { member } = await findOpenInvite(auth, token);
    return sendPage(reply, "invite", { title: "Set up your sign-in", csrf: reply.csrfToken(), token, email: member.email, fields: {} });
  });

  app.post("/invite/:token", { schema: { hide: true, params: inviteParams }, preHandler: csrf }, async (request, reply) => {
    const { token } = request.params as z.infer<typeof inviteParams>;
    try {
      const current = await resumeSession(auth, readSessionToken(request, auth));
      const accepted = await acceptInvite(
        auth,
        token,
        { password: formField(request.body, "password"), passwordAgain: formField(request.body, "passwordAgain") },
        current.state === "active" ? current.session : undefined,
      );
      setSessionCookie(reply, auth, accepted.token);
      return reply.code(303).header("cache-control", "no-store").redirect("/team/enrol");
    } catch (error) {
      if (error instanceof DomainError && error.code === "validation_failed") {
        const { member } = await findOpenInvite(auth, token);
        return sendPage(reply, "invite", { title: "Set up your sign-in", csrf: reply.csrfToken(), token, email: member.email, fields: error.fields ?? {}, error: error.message }, 400);
      }
      throw error;
    }
  });
}
