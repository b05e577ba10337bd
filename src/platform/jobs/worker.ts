import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { Database } from "../db/database.js";
import { claimNextJob, completeJob, failJob, type JobRow } from "./outbox.repository.js";

export type JobHandler = (payload: Record<string, unknown>, job: JobRow) => Promise<void>;

export interface WorkerOptions {
  pollMs: number;
  /** How long a claimed job stays ours before another worker may take it over. */
  leaseMs?: number;
}

/**
 * Runs outbox jobs one at a time. Several workers (one per process) may share a
 * PostgreSQL database. Delivery is at least once: a worker that dies after sending
 * but before recording it leaves the job to be retried when its lease runs out.
 */
export class OutboxWorker {
  readonly id = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private wakeRequested = false;

  constructor(
    private readonly database: Database,
    private readonly handlers: Record<string, JobHandler>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
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
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Runs due jobs until none is left; for tests and the `jobs run` command. Returns how many ran. */
  async drain(): Promise<number> {
    let count = 0;
    while (await this.runOne()) count++;
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
      while (!this.stopped && (await this.runOne()));
    } catch (error) {
      this.log.error({ err: error }, "outbox worker could not read the jobs table");
    }
  }

  private async runOne(): Promise<boolean> {
    const job = await claimNextJob(this.database.db, this.database.kind, this.id, this.clock.now(), this.options.leaseMs ?? 300_000);
    if (!job) return false;
    if (job.attempts > job.max_attempts) {
      // Claimed again after its lease ran out, more often than it may be tried: whatever
      // it does kills or stalls the worker, so it goes to the dead letters instead.
      await failJob(this.database.db, job, this.id, `gave up after ${job.max_attempts} attempts: a worker stopped while running it`, this.clock.now());
      this.log.error({ job: job.id, kind: job.kind }, "job failed for good: workers kept stopping while running it");
      return true;
    }
    const handler = this.handlers[job.kind];
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(JSON.parse(job.payload) as Record<string, unknown>, job);
      await completeJob(this.database.db, job, this.id, this.clock.now());
      this.log.info({ job: job.id, kind: job.kind, attempt: job.attempts }, "job done");
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const state = await failJob(this.database.db, job, this.id, message, this.clock.now());
      this.log.warn({ job: job.id, kind: job.kind, attempt: job.attempts, state, err: message }, state === "dead" ? "job failed for good" : "job failed, will retry");
    }
    return true;
  }
}
