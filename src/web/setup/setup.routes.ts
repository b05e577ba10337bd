import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import { DomainError } from "../../shared/errors.js";
import type { FastifyReply } from "fastify";
import { completeFirstAdminSetup, readSessionToken, resumeSession, setSessionCookie, type AuthContext } from "../../modules/auth/index.js";
import { checkSetupToken } from "../../modules/people/index.js";
import { formField, pageErrorHandler, sendMessage, sendPage } from "../team/team-pages.js";

export interface SetupRouteDeps {
  db: Db;
  clock: Clock;
  baseUrl: () => string;
  auth: AuthContext;
}

const params = z.object({ token: z.string().min(1).max(200) });

/**
 * The one-time page that creates the first admin (e-mail, name, password), continued on
 * the authenticator page (/team/enrol).
 */
export function registerSetupRoutes(app: HttpApp, deps: SetupRouteDeps): void {
  // The setup pages live in their own scope so that their errors (a refused CSRF token)
  // are answered as pages; everything else goes on to the application's handler.
  void app.register(async (scope) => {
    scope.setErrorHandler(pageErrorHandler);
    const closed = (reply: FastifyReply) =>
      sendMessage(reply, 404, "Setup link not valid", "This setup link is no longer valid. If the first admin exists already, ask them to add you.");

    scope.get("/setup/:token", { schema: { hide: true, params } }, async (request, reply) => {
      const { token } = request.params as z.infer<typeof params>;
      try {
        await checkSetupToken(deps.db, token);
      } catch {
        return closed(reply);
      }
      return sendPage(reply, "setup", { title: "Set up Shield", token, csrf: reply.csrfToken(), values: {}, fields: {} });
    });

    scope.post("/setup/:token", { schema: { hide: true, params }, preHandler: scope.csrfProtection }, async (request, reply) => {
      const { token } = request.params as z.infer<typeof params>;
      const input = {
        email: formField(request.body, "email"),
        name: formField(request.body, "name"),
        password: formField(request.body, "password"),
        passwordAgain: formField(request.body, "passwordAgain"),
      };
      try {
        const current = await resumeSession(deps.auth, readSessionToken(request, deps.auth));
        const { token: sessionToken } = await completeFirstAdminSetup(deps.auth, token, input, current.state === "active" ? current.session : undefined);
        setSessionCookie(reply, deps.auth, sessionToken);
        return reply.code(303).header("cache-control", "no-store").redirect("/team/enrol");
      } catch (error) {
        if (error instanceof DomainError && error.code === "validation_failed") {
          return sendPage(
            reply,
            "setup",
            { title: "Set up Shield", token, csrf: reply.csrfToken(), values: { email: input.email, name: input.name }, fields: error.fields ?? {}, error: "Please correct the fields below." },
            400,
          );
        }
        if (error instanceof DomainError && error.code === "setup_closed") return closed(reply);
        throw error;
      }
    });
  });
}
