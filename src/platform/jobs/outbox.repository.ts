import type { DatabaseKind, Executor, Tx } from "../db/database.js";
import { insertRow, insertRows } from "../db/compiled-once.js";
import { writeAtCommit, type CommitWriter } from "../db/group-commit.js";
import { databaseKindOf } from "../db/dialect.js";
import type { JobsTable } from "../db/schema.js";
import type { Selectable } from "kysely";
import { openJobSecrets, sealJobSecrets, SECRET_FIELD_PREFIX } from "./job-secrets.js";

export type JobRow = Selectable<JobsTable>;
export type JobState = "pending" | "running" | "done" | "dead";

export interface EnqueueOptions {
  /** Earliest time to run; default now. */
  runAt?: Date;
  maxAttempts?: number;
  /**
   * Whom the job is for, e.g. `client:<address>` of the reporter who caused it: that
   * sender's jobs are spaced out in the fair order, so a sender who floods waits behind
   * everyone else's jobs instead of in front of them.
   */
  fairnessKey?: string;
  /** A page the team must see at once (an account under attack): it goes before every other due job. */
  urgent?: boolean;
}

/**
 * One sender's jobs take turns this far apart in the fair order: up to 20 jobs (10
 * reports) a second keep their place in time; beyond that, they queue behind other senders.
 */
export const SENDER_TURN_MS = 50;
/** How far ahead of its due time an urgent job's turn is put, ahead of any backlog. */
export const URGENT_HEAD_START_MS = 24 * 3_600_000;

/**
 * A job's turn in the fair order: its due time, but no earlier than one turn after the
 * sender's last job still waiting (`lastFairAt`), and a day earlier when urgent.
 */
function fairTurnAfter(runAt: Date, lastFairAt: string | null | undefined, options: EnqueueOptions): string {
  if (options.urgent) return new Date(runAt.getTime() - URGENT_HEAD_START_MS).toISOString();
  if (!options.fairnessKey) return runAt.toISOString();
  const lastTurn = lastFairAt ? new Date(lastFairAt).getTime() + SENDER_TURN_MS : 0;
  return new Date(Math.max(runAt.getTime(), lastTurn)).toISOString();
}

/** The latest turn of each sender's waiting jobs. */
async function lastFairTurns(tx: Tx, fairnessKeys: readonly string[]): Promise<Map<string, string>> {
  if (fairnessKeys.length === 0) return new Map();
  const rows = await tx
    .selectFrom("jobs")
    .select((eb) => ["fairness_key", eb.fn.max("fair_at").as("fair_at")])
    .where("fairness_key", "in", fairnessKeys)
    .where("state", "=", "pending")
    .groupBy("fairness_key")
    .execute();
  return new Map(rows.flatMap((row) => (row.fairness_key && row.fair_at ? [[row.fairness_key, row.fair_at] as const] : [])));
}

function jobRow(tx: Tx, kind: string, payload: Record<string, unknown>, at: Date, options: EnqueueOptions) {
  const runAt = options.runAt ?? at;
  return {
    kind,
    payload: JSON.stringify(sealJobSecrets(tx, kind, payload)),
    state: "pending",
    attempts: 0,
    max_attempts: options.maxAttempts ?? 8,
    run_at: runAt.toISOString(),
    created_at: at.toISOString(),
    fair_at: "",
    fairness_key: options.fairnessKey ?? null,
  };
}

/**
 * Adds a job inside the caller's transaction, so it exists exactly when the change that
 * caused it does. Payload fields named `secret*` are stored sealed under the master key.
 */
export async function enqueueJob(tx: Tx, kind: string, payload: Record<string, unknown>, at: Date, options: EnqueueOptions = {}): Promise<number> {
  const values = jobRow(tx, kind, payload, at, options);
  const last = options.fairnessKey && !options.urgent ? (await lastFairTurns(tx, [options.fairnessKey])).get(options.fairnessKey) : undefined;
  values.fair_at = fairTurnAfter(options.runAt ?? at, last, options);
  if (databaseKindOf(tx) === "sqlite") {
    // Without RETURNING, which would flush the full-text index mid-transaction (see insertReport).
    return Number((await insertRow(tx, "jobs", values)).insertId);
  }
  return (await tx.insertInto("jobs").values(values).returning("id").executeTakeFirstOrThrow()).id;
}

interface PendingJob {
  row: ReturnType<typeof jobRow>;
  runAt: Date;
  options: EnqueueOptions;
}

/** The jobs of a group commit's units, inserted together by one statement at its end, in the order enqueued. */
const jobsAtCommit: CommitWriter<PendingJob> = {
  order: 50,
  flush: async (tx, jobs) => {
    const keys = [...new Set(jobs.flatMap((job) => (job.options.fairnessKey && !job.options.urgent ? [job.options.fairnessKey] : [])))];
    const last = await lastFairTurns(tx, keys);
    const rows = jobs.map(({ row, runAt, options }) => {
      row.fair_at = fairTurnAfter(runAt, options.fairnessKey ? last.get(options.fairnessKey) : undefined, options);
      // The next job of the same sender takes its turn after this one, as if it had been inserted already.
      const key = options.fairnessKey;
      if (key && (!last.has(key) || row.fair_at > last.get(key)!)) last.set(key, row.fair_at);
      return row;
    });
    await insertRows(tx, "jobs", rows);
  },
};

/**
 * Adds a job as `enqueueJob` does, but inside a group commit together with its other units'
 * jobs at its end (platform/db/group-commit.ts); the job's id is not known before then.
 * Outside a group commit it is inserted at once.
 */
export function enqueueJobAtCommit(tx: Tx, kind: string, payload: Record<string, unknown>, at: Date, options: EnqueueOptions = {}): Promise<void> {
  return writeAtCommit(tx, jobsAtCommit, { row: jobRow(tx, kind, payload, at, options), runAt: options.runAt ?? at, options });
}

/**
 * A job's payload (secrets opened) and state, read to change it: on PostgreSQL the row stays locked until the
 * caller's transaction ends, so a worker's claim (`skip locked`) passes it by meanwhile.
 */
export async function readJobForUpdate(tx: Tx, id: number): Promise<{ kind: string; state: JobState; payload: Record<string, unknown> } | undefined> {
  const row = await tx
    .selectFrom("jobs")
    .select(["kind", "state", "payload"])
    .where("id", "=", id)
    .$if(databaseKindOf(tx) === "postgres", (qb) => qb.forUpdate())
    .executeTakeFirst();
  return row && { kind: row.kind, state: row.state as JobState, payload: openJobSecrets(tx, row.kind, JSON.parse(row.payload) as Record<string, unknown>) };
}

/**
 * Takes up to `limit` due jobs at once, in the fair order: due jobs whose turn has come
 * (`fair_at`, see enqueueJob) first, then due jobs whose sender is ahead of their turn (a
 * flood's backlog, taken when nothing else waits), and jobs whose worker's lease ran out
 * (it crashed mid-run). One statement, so a worker with a backlog pays one durable write
 * for the claim instead of one per job. The candidates come from three index-ordered
 * picks of at most `limit` each: with an `or`, the database sorted every due job on each
 * claim (1.5 ms per claim with 10 000 jobs waiting on SQLite, on the one connection intake
 * also waits for; 0.01 ms this way). On PostgreSQL `for update skip locked` lets several
 * processes claim side by side without ever claiming the same job; SQLite serialises
 * writers on its own.
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
      const inTurn = eb
        .selectFrom("jobs")
        .select(["id", "fair_at"])
        .where("state", "=", "pending")
        .where("fair_at", "<=", nowIso)
        .where("run_at", "<=", nowIso)
        .orderBy("fair_at")
        .orderBy("id")
        .limit(limit);
      const due = eb.selectFrom("jobs").select(["id", "fair_at"]).where("state", "=", "pending").where("run_at", "<=", nowIso).orderBy("run_at").orderBy("id").limit(limit);
      const abandoned = eb
        .selectFrom("jobs")
        .select(["id", "fair_at"])
        .where("state", "=", "running")
        .where("locked_until", "<", nowIso)
        .orderBy("run_at")
        .orderBy("id")
        .limit(limit);
      const candidates = eb
        .selectFrom(inTurn.as("in_turn"))
        .selectAll()
        .union(eb.selectFrom(due.as("due")).selectAll())
        .union(eb.selectFrom(abandoned.as("abandoned")).selectAll())
        .as("candidates");
      if (kind === "sqlite") {
        return eb.selectFrom(candidates).select("candidates.id").orderBy("candidates.fair_at").orderBy("candidates.id").limit(limit);
      }
      return eb
        .selectFrom("jobs")
        .select("id")
        .where("id", "in", eb.selectFrom(candidates).select("candidates.id"))
        .where((w) =>
          w.or([
            w.and([w("state", "=", "pending"), w("run_at", "<=", nowIso)]),
            w.and([w("state", "=", "running"), w("locked_until", "<", nowIso)]),
          ]),
        )
        .orderBy("fair_at")
        .orderBy("id")
        .limit(limit)
        .forUpdate()
        .skipLocked();
    })
    .returningAll()
    .execute();
  return rows.sort((a, b) => (a.fair_at < b.fair_at ? -1 : a.fair_at > b.fair_at ? 1 : a.id - b.id));
}

/**
 * A claimed job's payload for its handler, secrets opened.
 * @throws when the payload is not JSON or a sealed field does not open with this master key
 */
export function payloadOf(db: Executor, job: JobRow): Record<string, unknown> {
  return openJobSecrets(db, job.kind, JSON.parse(job.payload) as Record<string, unknown>);
}

/** Marks a job done. Top-level payload fields named `secret*` are dropped: a sent link is not kept. */
export async function completeJob(db: Executor, job: JobRow, workerId: string, at: Date): Promise<void> {
  const payload = JSON.parse(job.payload) as Record<string, unknown>;
  for (const key of Object.keys(payload)) if (key.startsWith(SECRET_FIELD_PREFIX)) delete payload[key];
  await db
    .updateTable("jobs")
    .set({ state: "done", finished_at: at.toISOString(), locked_by: null, locked_until: null, last_error: null, payload: JSON.stringify(payload) })
    .where("id", "=", job.id)
    .where("locked_by", "=", workerId)
    .execute();
}

/**
 * Keeps this worker's claim on jobs it is still running: a live holder renews its lease
 * well before it runs out, so leases can be short and a dead holder's jobs are taken over
 * within seconds. Returns how many leases were renewed.
 */
export async function renewLeases(db: Executor, jobIds: readonly number[], workerId: string, until: Date): Promise<number> {
  if (jobIds.length === 0) return 0;
  const result = await db
    .updateTable("jobs")
    .set({ locked_until: until.toISOString() })
    .where("id", "in", [...jobIds])
    .where("locked_by", "=", workerId)
    .where("state", "=", "running")
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The workers that hold jobs right now (`locked_by` of running jobs). */
export async function listLeaseHolders(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom("jobs").select("locked_by").distinct().where("state", "=", "running").execute();
  return rows.map((row) => row.locked_by).filter((holder): holder is string => holder !== null);
}

/**
 * Gives every job a holder held back to the queue at once, due now (the holder is known to
 * be gone). The attempt it made still counts, so a job that kills its worker each time
 * ends in the dead letters. Returns how many jobs were given back.
 */
export async function releaseJobsOf(db: Executor, holder: string): Promise<number> {
  const result = await db
    .updateTable("jobs")
    .set({ state: "pending", locked_by: null, locked_until: null })
    .where("locked_by", "=", holder)
    .where("state", "=", "running")
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
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
export async function failJob(db: Executor, job: JobRow, workerId: string, error: string, at: Date, options: { permanent?: boolean } = {}): Promise<JobState> {
  const dead = options.permanent === true || job.attempts >= job.max_attempts;
  const delay = Math.min(30_000 * 2 ** (job.attempts - 1), 3_600_000);
  const runAt = at.getTime() + delay;
  // Its turn moves with its due time; an urgent job keeps its head start.
  const headStart = Math.max(0, Date.parse(job.run_at) - Date.parse(job.fair_at));
  await db
    .updateTable("jobs")
    .set({
      state: dead ? "dead" : "pending",
      run_at: new Date(runAt).toISOString(),
      fair_at: new Date(runAt - headStart).toISOString(),
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
    .set({ state: "pending", attempts: 0, run_at: at.toISOString(), fair_at: at.toISOString(), finished_at: null })
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
