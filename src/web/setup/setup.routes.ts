import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import { DomainError } from "../../shared/errors.js";
import { checkSetupToken, completeSetup } from "../../modules/people/index.js";
import { renderPage, WEB_ROOT } from "../render.js";

export interface SetupRouteDeps {
  db: Db;
  clock: Clock;
  baseUrl: () => string;
}

const params = z.object({ token: z.string().min(1).max(200) });
const form = z.object({ email: z.string().max(1000).default(""), name: z.string().max(1000).default("") });

/** The one-time page that creates the first admin, and the site's stylesheet. */
export function registerSetupRoutes(app: HttpApp, deps: SetupRouteDeps): void {
  const css = fs.readFileSync(path.join(WEB_ROOT, "assets", "shield.css"));
  app.get("/assets/shield.css", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(css),
  );

  const closed = (reply: { code: (n: number) => { type: (t: string) => { send: (b: string) => unknown } } }) =>
    reply.code(404).type("text/html; charset=utf-8").send(renderPage("message", { title: "Setup link not valid", message: "This setup link is no longer valid. If the first admin exists already, ask them to add you." }));

  app.get("/setup/:token", { schema: { hide: true, params } }, async (request, reply) => {
    try {
      await checkSetupToken(deps.db, request.params.token);
    } catch {
      return closed(reply);
    }
    return reply.type("text/html; charset=utf-8").send(renderPage("setup", { title: "Set up Shield", token: request.params.token, values: {}, fields: {} }));
  });

  app.post("/setup/:token", { schema: { hide: true, params, body: form } }, async (request, reply) => {
    const { token } = request.params;
    try {
      const { member, apiToken } = await completeSetup(deps.db, deps.clock, token, request.body);
      reply.header("cache-control", "no-store");
      return reply.type("text/html; charset=utf-8").send(renderPage("setup-done", { title: "Admin created", email: member.email, apiToken, baseUrl: deps.baseUrl() }));
    } catch (error) {
      if (error instanceof DomainError && error.code === "validation_failed") {
        return reply
          .code(400)
          .type("text/html; charset=utf-8")
          .send(renderPage("setup", { title: "Set up Shield", token, values: request.body, fields: error.fields ?? {}, error: "Please correct the fields below." }));
      }
      if (error instanceof DomainError && error.code === "setup_closed") return closed(reply);
      throw error;
    }
  });
}
