import { z } from "zod";
import { isSchemaCurrent, type Database } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { countJobsByState, findJob, listJobs, requeueJob } from "../../platform/jobs/outbox.repository.js";
import type { Clock } from "../../shared/clock.js";
import { JobNotFoundError } from "../../shared/errors.js";
import { appendAuditEvent } from "../audit/index.js";
import { actorOf, memberOf, requireTeam } from "../people/index.js";

export interface OpsRouteDeps {
  database: Database;
  clock: Clock;
  onRequeued: () => void;
}

const jobView = z.object({
  id: z.number(),
  kind: z.string(),
  state: z.enum(["pending", "running", "done", "dead"]),
  attempts: z.number(),
  maxAttempts: z.number(),
  runAt: z.string(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

/** Liveness, readiness, the OpenAPI document and the outbox's dead letters for admins. */
export function registerOpsRoutes(app: HttpApp, deps: OpsRouteDeps): void {
  const { database, clock } = deps;
  const db = database.db;

  app.get("/healthz", { schema: { hide: true }, config: { rateLimit: false } }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    try {
      if (!(await isSchemaCurrent(database))) return reply.code(503).send({ status: "migrations pending" });
      return { status: "ready" };
    } catch (error) {
      request.log.warn({ err: error }, "database not reachable");
      return reply.code(503).send({ status: "database unreachable" });
    }
  });

  app.get("/api/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  const admin = requireTeam(db, clock, "admin");
  const security = [{ bearer: [] }];

  app.get(
    "/api/v1/jobs",
    {
      preHandler: admin,
      schema: {
        summary: "Outbox jobs (admins); ?state=dead lists the dead letters",
        tags: ["operations"],
        security,
        querystring: z.object({
          state: z.enum(["pending", "running", "done", "dead"]).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ jobs: z.array(jobView), counts: z.record(z.string(), z.number()) }) },
      },
    },
    async (request) => {
      const jobs = await listJobs(db, request.query);
      return {
        jobs: jobs.map((j) => ({
          id: j.id,
          kind: j.kind,
          state: j.state as "pending",
          attempts: j.attempts,
          maxAttempts: j.max_attempts,
          runAt: j.run_at,
          lastError: j.last_error,
          createdAt: j.created_at,
          finishedAt: j.finished_at,
        })),
        counts: await countJobsByState(db),
      };
    },
  );

  app.post(
    "/api/v1/jobs/:id/retry",
    {
      preHandler: admin,
      schema: { summary: "Put a dead job back in the queue (admins)", tags: ["operations"], security, params: z.object({ id: z.coerce.number().int().positive() }) },
    },
    async (request, reply) => {
      const id = request.params.id;
      const done = await db.transaction().execute(async (tx) => {
        if (!(await findJob(tx, id))) throw JobNotFoundError(id);
        const requeued = await requeueJob(tx, id, clock.now());
        if (requeued) await appendAuditEvent(tx, actorOf(memberOf(request)), { action: "job.requeued", subjectType: "job", subjectId: String(id) }, clock.now().toISOString());
        return requeued;
      });
      if (!done) return reply.code(409).send({ error: { code: "job_not_dead", message: `Job ${id} is not dead; only dead jobs can be retried.` } });
      deps.onRequeued();
      return { id, state: "pending" };
    },
  );
}
