import type { DatabaseKind, Executor, Tx } from "../db/database.js";
import { insertRow } from "../db/compiled-once.js";
import { databaseKindOf } from "../db/dialect.js";
import type { JobsTable } from "../db/schema.js";
import type { Selectable } from "kysely";

export type JobRow = Selectable<JobsTable>;
export type JobState = "pending" | "running" | "done" | "dead";

export interface EnqueueOptions {
  /** Earliest time to run; default now. */
  runAt?: Date;
  maxAttempts?: number;
}

/** Adds a job inside the caller's transaction, so it exists exactly when the change that caused it does. */
export async function enqueueJob(tx: Tx, kind: string, payload: Record<string, unknown>, at: Date, options: EnqueueOptions = {}): Promise<number> {
  const values = {
    kind,
    payload: JSON.stringify(payload),
    state: "pending",
    attempts: 0,
    max_attempts: options.maxAttempts ?? 8,
    run_at: (options.runAt ?? at).toISOString(),
    created_at: at.toISOString(),
  };
  if (databaseKindOf(tx) === "sqlite") {
    // Without RETURNING, which would flush the full-text index mid-transaction (see insertReport).
    return Number((await insertRow(tx, "jobs", values)).insertId);
  }
  return (await tx.insertInto("jobs").values(values).returning("id").executeTakeFirstOrThrow()).id;
}

/**
 * A job's payload and state, read to change it: on PostgreSQL the row stays locked until the
 * caller's transaction ends, so a worker's claim (`skip locked`) passes it by meanwhile.
 */
export async function readJobForUpdate(tx: Tx, id: number): Promise<{ kind: string; state: JobState; payload: Record<string, unknown> } | undefined> {
  const row = await tx
    .selectFrom("jobs")
    .select(["kind", "state", "payload"])
    .where("id", "=", id)
    .$if(databaseKindOf(tx) === "postgres", (qb) => qb.forUpdate())
    .executeTakeFirst();
  return row && { kind: row.kind, state: row.state as JobState, payload: JSON.parse(row.payload) as Record<string, unknown> };
}

/** Replaces the payload of a job that is still waiting; false when it was claimed or finished meanwhile. */
export async function replacePendingJobPayload(tx: Tx, id: number, payload: Record<string, unknown>): Promise<boolean> {
  const result = await tx.updateTable("jobs").set({ payload: JSON.stringify(payload) }).where("id", "=", id).where("state", "=", "pending").executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Takes up to `limit` due jobs at once, earliest first: pending ones whose time has come, and
 * ones whose worker's lease ran out (it crashed mid-run). One statement, so a worker with a
 * backlog pays one durable write for the claim instead of one per job. On PostgreSQL
 * `for update skip locked` lets several processes claim side by side without ever claiming
 * the same job; SQLite serialises writers on its own.
 */
export async function claimJobs(db: Executor, kind: DatabaseKind, workerId: string, now: Date, leaseMs: number, limit: number): Promise<JobRow[]> {
  const nowIso = now.toISOString();
  const rows = await db
    .updateTable("jobs")
    .set((eb) => ({
      state: "running",
      attempts: eb("attempts", "+", 1),
      locked_by: workerId,
      locked_until: new Date(now.getTime() + leaseMs).toISOString(),
    }))
    .where("id", "in", (eb) => {
      if (kind === "sqlite") {
        // The same choice as below, made from two index-ordered picks. With the `or`,
        // SQLite sorted every due job on each claim, on the one connection that intake
        // also waits for: 1.5 ms per claim with 10 000 jobs waiting, 0.01 ms this way.
        const earliest = (state: "pending" | "running") =>
          eb
            .selectFrom("jobs")
            .select(["id", "run_at"])
            .where("state", "=", state)
            .where(state === "pending" ? "run_at" : "locked_until", state === "pending" ? "<=" : "<", nowIso)
            .orderBy("run_at")
            .orderBy("id")
            .limit(limit);
        return eb
          .selectFrom(
            eb
              .selectFrom(earliest("pending").as("waiting"))
              .selectAll()
              .unionAll(eb.selectFrom(earliest("running").as("abandoned")).selectAll())
              .as("candidates"),
          )
          .select("candidates.id")
          .orderBy("candidates.run_at")
          .orderBy("candidates.id")
          .limit(limit);
      }
      return eb
        .selectFrom("jobs")
        .select("id")
        .where((w) =>
          w.or([
            w.and([w("state", "=", "pending"), w("run_at", "<=", nowIso)]),
            w.and([w("state", "=", "running"), w("locked_until", "<", nowIso)]),
          ]),
        )
        .orderBy("run_at")
        .orderBy("id")
        .limit(limit)
        .forUpdate()
        .skipLocked();
    })
    .returningAll()
    .execute();
  return rows.sort((a, b) => (a.run_at < b.run_at ? -1 : a.run_at > b.run_at ? 1 : a.id - b.id));
}

/** Marks a job done. Top-level payload fields named `secret*` are dropped: a sent link is not kept. */
export async function completeJob(db: Executor, job: JobRow, workerId: string, at: Date): Promise<void> {
  const payload = JSON.parse(job.payload) as Record<string, unknown>;
  for (const key of Object.keys(payload)) if (key.startsWith("secret")) delete payload[key];
  await db
    .updateTable("jobs")
    .set({ state: "done", finished_at: at.toISOString(), locked_by: null, locked_until: null, last_error: null, payload: JSON.stringify(payload) })
    .where("id", "=", job.id)
    .where("locked_by", "=", workerId)
    .execute();
}

/** Gives claimed jobs that were not started back to the queue, as if never claimed (a worker stopping mid-batch). */
export async function releaseJobs(db: Executor, jobs: JobRow[], workerId: string): Promise<void> {
  if (jobs.length === 0) return;
  await db
    .updateTable("jobs")
    .set((eb) => ({ state: "pending", attempts: eb("attempts", "-", 1), locked_by: null, locked_until: null }))
    .where(
      "id",
      "in",
      jobs.map((job) => job.id),
    )
    .where("locked_by", "=", workerId)
    .where("state", "=", "running")
    .execute();
}

/** Retries with exponential backoff (30 s, 1 min, 2 min … capped at 1 h), then gives up into `dead`. */
export async function failJob(db: Executor, job: JobRow, workerId: string, error: string, at: Date): Promise<JobState> {
  const dead = job.attempts >= job.max_attempts;
  const delay = Math.min(30_000 * 2 ** (job.attempts - 1), 3_600_000);
  await db
    .updateTable("jobs")
    .set({
      state: dead ? "dead" : "pending",
      run_at: new Date(at.getTime() + delay).toISOString(),
      finished_at: dead ? at.toISOString() : null,
      last_error: error.slice(0, 2000),
      locked_by: null,
      locked_until: null,
    })
    .where("id", "=", job.id)
    .where("locked_by", "=", workerId)
    .execute();
  return dead ? "dead" : "pending";
}

export async function listJobs(db: Executor, filter: { state?: JobState; limit: number; offset: number }): Promise<JobRow[]> {
  return db
    .selectFrom("jobs")
    .selectAll()
    .$if(filter.state !== undefined, (qb) => qb.where("state", "=", filter.state!))
    .orderBy("id", "desc")
    .limit(filter.limit)
    .offset(filter.offset)
    .execute();
}

export async function findJob(db: Executor, id: number): Promise<JobRow | undefined> {
  return db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Puts a dead job back in the queue with a fresh set of attempts. */
export async function requeueJob(db: Executor, id: number, at: Date): Promise<boolean> {
  const result = await db
    .updateTable("jobs")
    .set({ state: "pending", attempts: 0, run_at: at.toISOString(), finished_at: null })
    .where("id", "=", id)
    .where("state", "=", "dead")
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Deletes up to `limit` done jobs that finished before `before`; returns how many. A done
 * job is due before it finishes, so the due-time index narrows the search.
 */
export async function deleteDoneJobsFinishedBefore(db: Executor, before: Date, limit: number): Promise<number> {
  const cutoff = before.toISOString();
  const result = await db
    .deleteFrom("jobs")
    .where("id", "in", (eb) =>
      eb.selectFrom("jobs").select("id").where("state", "=", "done").where("run_at", "<", cutoff).where("finished_at", "<", cutoff).limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function countJobsByState(db: Executor): Promise<Record<string, number>> {
  const rows = await db.selectFrom("jobs").select(["state", (eb) => eb.fn.countAll<number>().as("n")]).groupBy("state").execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}
