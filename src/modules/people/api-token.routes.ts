import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import { ForbiddenError } from "../../shared/errors.js";
import { memberOf, requireTeam } from "./auth.hook.js";
import { actorOf, createApiToken, listApiTokens, MAX_TOKEN_DAYS, revokeApiToken } from "./people.service.js";

const tokenView = z.object({
  id: z.number(),
  name: z.string(),
  prefix: z.string(),
  memberId: z.number(),
  email: z.string(),
  state: z.enum(["active", "expired", "revoked"]),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

/**
 * Every member manages their own API tokens; admins see and revoke the team's. The token
 * itself is shown once, in the answer that creates it.
 */
export function registerApiTokenRoutes(app: HttpApp, deps: { db: Db; clock: Clock }): void {
  const { db, clock } = deps;
  const member = requireTeam(db, clock, "reports:read");
  const security = [{ bearer: [] }];

  app.get(
    "/api/v1/tokens",
    {
      preHandler: member,
      schema: {
        summary: "Your API tokens, newest first (admins: ?all=true for the team's)",
        tags: ["tokens"],
        security,
        querystring: z.object({ all: z.enum(["true", "false"]).default("false") }),
        response: { 200: z.object({ tokens: z.array(tokenView) }) },
      },
    },
    async (request) => {
      const me = memberOf(request);
      if (request.query.all === "true" && me.role !== "admin") throw ForbiddenError("Only admins may list the whole team's tokens.");
      return { tokens: await listApiTokens(db, clock, request.query.all === "true" ? {} : { memberId: me.id }) };
    },
  );

  app.post(
    "/api/v1/tokens",
    {
      preHandler: member,
      schema: {
        summary: "Create an API token for yourself; the answer is the only time it is shown",
        tags: ["tokens"],
        security,
        body: z.object({
          name: z.string().trim().min(1).max(100).default("api"),
          expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional(),
        }),
        response: { 201: tokenView.extend({ token: z.string() }) },
      },
    },
    async (request, reply) => {
      const me = memberOf(request);
      const created = await createApiToken(db, clock, actorOf(me), me.email, request.body.name, { expiresInDays: request.body.expiresInDays });
      const [view] = (await listApiTokens(db, clock, { memberId: me.id })).filter((t) => t.id === created.id);
      return reply.code(201).send({ ...view!, token: created.token });
    },
  );

  app.delete(
    "/api/v1/tokens/:id",
    {
      preHandler: member,
      schema: {
        summary: "Revoke one of your API tokens (admins: any member's)",
        tags: ["tokens"],
        security,
        params: z.object({ id: z.coerce.number().int().positive() }),
        response: { 200: tokenView },
      },
    },
    async (request) => {
      const me = memberOf(request);
      return revokeApiToken(db, clock, actorOf(me), request.params.id, me);
    },
  );
}
