import fs from "node:fs";
import path from "node:path";
import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import {
  addPasskey,
  changePassword,
  confirmTotpEnrolment,
  createInvite,
  createPasskeyRegistrationOptions,
  describeAccount,
  describeTotpEnrolment,
  regenerateRecoveryCodes,
  createOwnApiToken,
  removePasskey,
  requirePendingSession,
  requireSession,
  sessionOf,
  setSessionCookie,
  startTotpReenrolment,
  type AuthContext,
} from "../../modules/auth/index.js";
import { actorOf, findUserById, listApiTokens, listUsers, revokeApiToken, MAX_TOKEN_DAYS, type Role } from "../../modules/people/index.js";
import { WEB_ROOT } from "../render.js";
import { landingPath, registerSignInRoutes } from "./sign-in.routes.js";
import { registerTeamMemberRoutes } from "./team-members.routes.js";
import { formField, pageErrorHandler, sendPage } from "./team-pages.js";
import { refuseSubresourceRequests } from "../../platform/http/subresource-guard.js";

export interface TeamRouteDeps {
  auth: AuthContext;
}

const ROLE_TEXT: Record<Role, string> = {
  viewer: "reads reports",
  triager: "reads and works reports",
  admin: "reads and works reports, manages the team and settings",
};

const NOTICES: Record<string, string> = {
  password: "Your password is changed. Every other session of yours has ended.",
  totp: "Your new authenticator app is set up; the old one no longer works.",
  "passkey-added": "The passkey is added. You can use it instead of a code when you sign in.",
  "passkey-removed": "The passkey is removed.",
  "token-revoked": "The API token is revoked: it no longer opens the API.",
  "recovery-code": "You signed in with a recovery code, which is now used up. If you lost your phone, set up a new authenticator app below.",
};

const idParams = z.object({ id: z.coerce.number().int().positive() });

/**
 * Every team page, in one scope whose errors are pages: sign-in and invites
 * (sign-in.routes.ts), the signed-in home, the account page, authenticator enrolment,
 * passkeys, and the members page (team-members.routes.ts). Each route names what it needs with
 * `requireSession(auth, …)`; each form is CSRF-checked.
 */
export async function registerTeamPages(app: HttpApp, deps: TeamRouteDeps): Promise<void> {
  // The passkey script is loaded by pages, so it lives outside the scope that refuses subresource loads.
  const script = fs.readFileSync(path.join(WEB_ROOT, "assets", "passkeys.js"));
  app.get("/assets/passkeys.js", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/javascript; charset=utf-8").header("cache-control", "public, max-age=3600").send(script),
  );
  await app.register(async (scope) => {
    scope.setErrorHandler(pageErrorHandler);
    scope.addHook("onRequest", refuseSubresourceRequests);
    registerSignInRoutes(scope as HttpApp, deps);
    registerTeamRoutes(scope as HttpApp, deps);
    registerTeamMemberRoutes(scope as HttpApp, deps);
  });
}

function registerTeamRoutes(app: HttpApp, deps: TeamRouteDeps): void {
  const { auth } = deps;
  const csrf = app.csrfProtection;
  const member = requireSession(auth, "signed_in");
  const admin = requireSession(auth, "admin");
  const enrolling = requirePendingSession(auth, ["enrolment", "signed_in"]);


  app.get("/team", { schema: { hide: true }, preHandler: member }, async (request, reply) => {
    const { member: me, session } = sessionOf(request);
    const { recoveryCodesLeft } = await describeAccount(auth, me);
    return sendPage(reply, "team-home", {
      title: "Team",
      csrf: reply.csrfToken(),
      member: me,
      roleText: ROLE_TEXT[me.role],
      isAdmin: me.role === "admin",
      hasDesk: landingPath(app) === "/desk",
      idleMinutes: Math.round(auth.policy.idleMs / 60_000),
      sessionEnds: `${session.expiresAt.slice(0, 16).replace("T", " ")} UTC`,
      recoveryWarning: recoveryCodesLeft <= 3 ? `Only ${recoveryCodesLeft} of your recovery codes ${recoveryCodesLeft === 1 ? "is" : "are"} left.` : undefined,
    });
  });

  // ---- account ---------------------------------------------------------------------

  const accountPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    options: { form?: string; fields?: Record<string, string>; values?: Record<string, string>; status?: number } = {},
  ) => {
    const { member: me } = sessionOf(request);
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    return sendPage(
      reply,
      "account",
      {
        title: "Your sign-in",
        csrf: reply.csrfToken(),
        member: me,
        account: await describeAccount(auth, me),
        tokens: (await listApiTokens(auth.db, auth.clock, { memberId: me.id })).map((t) => ({
          id: t.id,
          name: t.name,
          prefix: t.prefix,
          state: t.state,
          createdAt: t.createdAt.slice(0, 10),
          lastUsedAt: t.lastUsedAt?.slice(0, 10) ?? null,
          expiresAt: t.expiresAt ? `${t.expiresAt.slice(0, 16).replace("T", " ")} UTC` : null,
        })),
        maxTokenDays: MAX_TOKEN_DAYS,
        values: options.values ?? {},
        notice: typeof done === "string" ? NOTICES[done] : undefined,
        form: options.form,
        fields: options.fields ?? {},
      },
      options.status ?? 200,
    );
  };

  /** A refused change is shown on the account page next to the form's fields. */
  const refused = (request: FastifyRequest, reply: FastifyReply, form: string, error: unknown) => {
    if (error instanceof DomainError && (error.code === "validation_failed" || error.code === "password_confirmation_failed")) {
      const fields = error.code === "password_confirmation_failed" ? { currentPassword: error.fields?.password ?? error.message } : (error.fields ?? {});
      return accountPage(request, reply, { form, fields, status: 400 });
    }
    throw error;
  };

  app.get("/team/account", { schema: { hide: true }, preHandler: member }, async (request, reply) => accountPage(request, reply));

  app.post("/team/account/password", { schema: { hide: true }, preHandler: [csrf, member] }, async (request, reply) => {
    try {
      await changePassword(auth, sessionOf(request), {
        currentPassword: formField(request.body, "currentPassword"),
        password: formField(request.body, "password"),
        passwordAgain: formField(request.body, "passwordAgain"),
        ip: request.ip,
      });
      return reply.code(303).redirect("/team/account?done=password");
    } catch (error) {
      return refused(request, reply, "password", error);
    }
  });

  app.post("/team/account/recovery-codes", { schema: { hide: true }, preHandler: [csrf, member] }, async (request, reply) => {
    try {
      const codes = await regenerateRecoveryCodes(auth, sessionOf(request), { currentPassword: formField(request.body, "currentPassword"), ip: request.ip });
      return sendPage(reply, "recovery-codes", { title: "New recovery codes", codes, continueTo: "/team/account" });
    } catch (error) {
      return refused(request, reply, "recovery-codes", error);
    }
  });

  app.post("/team/account/tokens", { schema: { hide: true }, preHandler: [csrf, member] }, async (request, reply) => {
    const values = { name: formField(request.body, "name", 200), expiresInDays: formField(request.body, "expiresInDays", 20).trim() };
    try {
      if (values.expiresInDays !== "" && !/^\d{1,6}$/.test(values.expiresInDays)) {
        throw new DomainError("validation_failed", "invalid", "The token's expiry is not valid.", { expiresInDays: `a whole number of days from 1 to ${MAX_TOKEN_DAYS}, or empty for none` });
      }
      const created = await createOwnApiToken(auth, sessionOf(request), {
        name: values.name,
        ...(values.expiresInDays === "" ? {} : { expiresInDays: Number(values.expiresInDays) }),
        currentPassword: formField(request.body, "currentPassword"),
        ip: request.ip,
      });
      return sendPage(reply, "api-token-created", {
        title: "Your new API token",
        token: created.token,
        expiresAt: created.expiresAt ? `${created.expiresAt.slice(0, 16).replace("T", " ")} UTC` : null,
        baseUrl: auth.baseUrl(),
      });
    } catch (error) {
      if (error instanceof DomainError && (error.code === "validation_failed" || error.code === "password_confirmation_failed")) {
        const fields = error.code === "password_confirmation_failed" ? { currentPassword: error.fields?.password ?? error.message } : (error.fields ?? {});
        return accountPage(request, reply, { form: "token", fields, values, status: 400 });
      }
      throw error;
    }
  });

  app.post("/team/account/tokens/:id/revoke", { schema: { hide: true, params: idParams }, preHandler: [csrf, member] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    const { member: me } = sessionOf(request);
    await revokeApiToken(auth.db, auth.clock, actorOf(me), id, { id: me.id, role: "triager" });
    return reply.code(303).redirect("/team/account?done=token-revoked#tokens");
  });

  app.post("/team/account/totp", { schema: { hide: true }, preHandler: [csrf, member] }, async (request, reply) => {
    try {
      await startTotpReenrolment(auth, sessionOf(request), { currentPassword: formField(request.body, "currentPassword"), ip: request.ip });
      return reply.code(303).redirect("/team/enrol");
    } catch (error) {
      return refused(request, reply, "totp", error);
    }
  });

  app.post("/team/account/passkeys/:id/delete", { schema: { hide: true, params: idParams }, preHandler: [csrf, member] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    try {
      await removePasskey(auth, sessionOf(request), { passkeyId: id, currentPassword: formField(request.body, "currentPassword"), ip: request.ip });
      return reply.code(303).redirect("/team/account?done=passkey-removed");
    } catch (error) {
      return refused(request, reply, `remove-${id}`, error);
    }
  });

  // The passkey script's calls: JSON in and out, the CSRF token in the x-csrf-token header.
  app.post("/team/account/passkeys/options", { schema: { hide: true }, preHandler: [csrf, member] }, async (request) =>
    createPasskeyRegistrationOptions(auth, sessionOf(request), { currentPassword: formField(request.body, "currentPassword"), ip: request.ip }),
  );

  app.post("/team/account/passkeys", { schema: { hide: true }, preHandler: [csrf, member] }, async (request) => {
    const body = (request.body ?? {}) as { name?: unknown; response?: unknown };
    await addPasskey(auth, sessionOf(request), { name: typeof body.name === "string" ? body.name : "", response: body.response as RegistrationResponseJSON, ip: request.ip });
    return { redirect: "/team/account?done=passkey-added" };
  });

  // ---- authenticator enrolment (after an invite or the setup, or replacing the app) ------

  const enrolPage = async (request: FastifyRequest, reply: FastifyReply, fields: Record<string, string> = {}, status = 200) => {
    const view = await describeTotpEnrolment(auth, sessionOf(request));
    return sendPage(
      reply,
      "enrol-totp",
      { title: view.replacing ? "Set up a new authenticator app" : "Set up your authenticator app", csrf: reply.csrfToken(), ...view, fields },
      status,
    );
  };

  app.get("/team/enrol", { schema: { hide: true }, preHandler: enrolling }, async (request, reply) => enrolPage(request, reply));

  app.post("/team/enrol", { schema: { hide: true }, preHandler: [csrf, enrolling] }, async (request, reply) => {
    try {
      const result = await confirmTotpEnrolment(auth, sessionOf(request), { code: formField(request.body, "code", 100), ip: request.ip });
      if (result.kind === "replaced") return reply.code(303).redirect("/team/account?done=totp");
      setSessionCookie(reply, auth, result.token);
      return sendPage(reply, "recovery-codes", {
        title: "Keep your recovery codes",
        signedIn: true,
        email: result.member.email,
        codes: result.recoveryCodes,
        apiToken: result.apiToken,
        baseUrl: auth.baseUrl(),
        continueTo: landingPath(app),
      });
    } catch (error) {
      if (error instanceof DomainError && error.code === "validation_failed") return enrolPage(request, reply, error.fields ?? {}, 400);
      throw error;
    }
  });
}
