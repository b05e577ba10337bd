import { createHash } from "node:crypto";
import fs from "node:fs";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { Database } from "../db/database.js";
import { claimJobs, completeJob, failJob, listLeaseHolders, payloadOf, releaseJobs, releaseJobsOf, renewLeases, type JobRow } from "./outbox.repository.js";

import { PermanentJobError, type JobHandler } from "./job.js";

export type { JobHandler } from "./job.js";

export interface WorkerOptions {
  pollMs: number;
  /**
   * How long a claimed job stays ours before another worker may take it over (default 10 s).
   * The worker renews the leases of the jobs it holds every quarter of this while it runs them.
   */
  leaseMs?: number;
  /** How many due jobs one claim takes (default 16); their outcomes are recorded together. */
  batchSize?: number;
  /** How many jobs (about different reports) run at once when no request waits (default 4). */
  concurrency?: number;
  /**
   * True while this process is busy answering requests. The in-process worker then yields:
   * after each job it pauses three times as long as the job took, so that it uses at most a
   * quarter of the event loop while requests wait, and runs at full speed again when they
   * stop. Intake answers first; receipts follow within seconds of a burst.
   */
  busy?: () => boolean;
}

/** Why a job failed; `permanent` when retrying cannot help (the job goes to the dead letters at once). */
interface Failure {
  error: string;
  permanent: boolean;
}

/** Never pause longer than this between two jobs, however long the last one took. */
const MAX_YIELD_MS = 250;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_LEASE_MS = 10_000;

/**
 * Where processes can see each other: this machine since its boot, and this pid namespace
 * (two containers on one host may have the same hostname and reuse each other's pids).
 * Off Linux, the host name alone.
 */
function processPlace(): string {
  let place = hostname();
  try {
    place += `|${fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}|${fs.readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    // Not Linux: the host name must do.
  }
  return createHash("sha256").update(place).digest("hex").slice(0, 12);
}

const PLACE = processPlace();

/** A worker's id: `host:pid:place:random`, so that a process in the same place can tell it is gone. */
function workerIdOf(pid: number): string {
  return `${hostname()}:${pid}:${PLACE}:${Math.random().toString(36).slice(2, 8)}`;
}

/** True when `holder` names a worker process in this place (machine, boot, pid namespace) that no longer runs. */
export function isHolderGoneHere(holder: string): boolean {
  const [, pidText, place] = holder.split(":");
  const pid = Number(pidText);
  if (place !== PLACE || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: a process of another user has that pid now; not ours to judge.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * The jobs in chains that must each run in order: the jobs about one report (their payload's
 * `reportId`) form one, in the order given; any other job is a chain of its own.
 */
function inOrderingChains(jobs: readonly JobRow[]): JobRow[][] {
  const chains = new Map<string, JobRow[]>();
  for (const job of jobs) {
    let reportId: unknown;
    try {
      reportId = (JSON.parse(job.payload) as { reportId?: unknown }).reportId;
    } catch {
      // Unreadable: it fails on its own when run.
    }
    const key = typeof reportId === "number" ? `report:${reportId}` : `job:${job.id}`;
    const chain = chains.get(key);
    if (chain) chain.push(job);
    else chains.set(key, [job]);
  }
  return [...chains.values()];
}

/**
 * Runs outbox jobs, claimed a batch at a time: a few at once, those about one report in
 * order (see `runBatch`). Several workers (one per process) may share a PostgreSQL
 * database. Delivery is at least once: a worker that dies
 * after sending but before recording it leaves the job to be retried when its lease runs
 * out. The outcomes of a batch are recorded in one transaction after its last job.
 */
export class OutboxWorker {
  readonly id = workerIdOf(process.pid);
  private reclaimPending = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private wakeRequested = false;
  private stopRequested = false;

  constructor(
    private readonly database: Database,
    private readonly handlers: Record<string, JobHandler>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.stopRequested = false;
    // The jobs a killed process in this place held come back at once instead of when their
    // leases run out (on SQLite every worker is in this place; on PostgreSQL the workers of
    // other machines are taken over when their leases, short and renewed, run out).
    this.reclaimPending = true;
    this.schedule(0);
  }

  /** Gives back the jobs held by workers in this place (see `isHolderGoneHere`) whose process is gone; returns how many. */
  async reclaimFromGoneHolders(): Promise<number> {
    let released = 0;
    for (const holder of await listLeaseHolders(this.database.db)) {
      if (isHolderGoneHere(holder)) released += await releaseJobsOf(this.database.db, holder);
    }
    if (released > 0) this.log.info({ jobs: released }, "gave back the jobs of a worker that stopped without finishing them");
    return released;
  }

  /** Look for work now (called after a commit that enqueued a job). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  /** Finishes the job in hand, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopRequested = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Runs due jobs until none is left; for tests and the `jobs run` command. Returns how many ran. */
  async drain(): Promise<number> {
    let count = 0;
    for (let ran = await this.runBatch(false); ran > 0; ran = await this.runBatch(false)) count += ran;
    return count;
  }

  private schedule(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.loop().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.wakeRequested ? 0 : this.options.pollMs);
        this.wakeRequested = false;
      });
    }, delay);
    this.timer.unref?.();
  }

  private async loop(): Promise<void> {
    try {
      if (this.reclaimPending) {
        await this.reclaimFromGoneHolders();
        this.reclaimPending = false;
      }
      while (!this.stopped && (await this.runBatch(true)) > 0);
    } catch (error) {
      this.log.error({ err: error }, "outbox worker could not read the jobs table");
    }
  }

  /**
   * Claims due jobs, runs them, records what happened; returns how many ran. Jobs about
   * different reports run side by side (up to `concurrency`), so that one slow peer (an SMTP
   * relay, a webhook) does not hold up the rest; the jobs of one report run one after another
   * in the order they were enqueued. While requests wait, one job runs at a time.
   */
  private async runBatch(yieldToRequests: boolean): Promise<number> {
    const { db, kind } = this.database;
    const leaseMs = this.options.leaseMs ?? DEFAULT_LEASE_MS;
    const jobs = await claimJobs(db, kind, this.id, this.clock.now(), leaseMs, this.options.batchSize ?? 16);
    if (jobs.length === 0) return 0;
    // While this batch is ours, its leases are renewed; a renewal that fails is logged and
    // tried again at the next tick (the lease still has three quarters left).
    const renewal = setInterval(() => {
      const ids = jobs.map((job) => job.id);
      renewLeases(db, ids, this.id, new Date(this.clock.now().getTime() + leaseMs)).catch((error: unknown) =>
        this.log.warn({ err: error }, "could not renew the leases of running jobs"),
      );
    }, leaseMs / 4);
    renewal.unref?.();
    const outcomes: Array<{ job: JobRow; failure?: Failure }> = [];
    const chains = inOrderingChains(jobs);
    const unstarted = new Set(jobs);
    const runChains = async () => {
      for (let chain = chains.shift(); chain; chain = chains.shift()) {
        for (const job of chain) {
          // Once stopping, no new job starts; the first of a batch always does.
          if (unstarted.size < jobs.length && this.stopRequested) return;
          unstarted.delete(job);
          const startedAt = performance.now();
          outcomes.push({ job, failure: await this.run(job) });
          if (yieldToRequests && this.options.busy?.()) await sleep(Math.min(3 * (performance.now() - startedAt), MAX_YIELD_MS));
        }
      }
    };
    const lanes = yieldToRequests && this.options.busy?.() ? 1 : Math.min(this.options.concurrency ?? DEFAULT_CONCURRENCY, chains.length);
    try {
      await Promise.all(Array.from({ length: lanes }, runChains));
      if (unstarted.size > 0) await releaseJobs(db, [...unstarted], this.id);
    } finally {
      try {
        await this.record(outcomes);
      } finally {
        clearInterval(renewal);
      }
    }
    return outcomes.length;
  }

  /** Runs one claimed job; returns why it failed (and whether retrying cannot help), or undefined. */
  private async run(job: JobRow): Promise<Failure | undefined> {
    if (job.attempts > job.max_attempts) {
      // Claimed again after its lease ran out, more often than it may be tried: whatever
      // it does kills or stalls the worker, so it goes to the dead letters instead.
      return { error: `gave up after ${job.max_attempts} attempts: a worker stopped while running it`, permanent: true };
    }
    const handler = this.handlers[job.kind];
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(payloadOf(this.database.db, job), job);
      return undefined;
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error), permanent: error instanceof PermanentJobError };
    }
  }

  private async record(outcomes: Array<{ job: JobRow; failure?: Failure }>): Promise<void> {
    if (outcomes.length === 0) return;
    const now = this.clock.now();
    // The state each job is left in, in the order of `outcomes`.
    const states = await this.database.db.transaction().execute(async (tx) => {
      const states: string[] = [];
      for (const { job, failure } of outcomes) {
        if (failure === undefined) await completeJob(tx, job, this.id, now);
        states.push(failure === undefined ? "done" : await failJob(tx, job, this.id, failure.error, now, { permanent: failure.permanent }));
      }
      return states;
    });
    outcomes.forEach(({ job, failure }, index) => {
      const error = failure?.error;
      const state = states[index];
      if (error === undefined) this.log.info({ job: job.id, kind: job.kind, attempt: job.attempts }, "job done");
      else if (job.attempts > job.max_attempts) this.log.error({ job: job.id, kind: job.kind }, "job failed for good: workers kept stopping while running it");
      else this.log.warn({ job: job.id, kind: job.kind, attempt: job.attempts, state, err: error }, state === "dead" ? "job failed for good" : "job failed, will retry");
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
