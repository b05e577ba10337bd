import type { Logger } from "pino";

export interface PeriodicTask {
  name: string;
  everyMs: number;
  run(): Promise<unknown>;
}

/**
 * Runs periodic tasks in every process that runs the outbox worker. Tasks must be safe
 * to run in several processes at once (the database decides who acts, as the SLA
 * check's unique alert key does); the scheduler only keeps one process from running a
 * task over itself. The first run comes after a random part of the period, so that
 * processes started together do not all check in the same second.
 */
export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<unknown>>();
  private stopped = true;

  constructor(
    private readonly tasks: PeriodicTask[],
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    for (const task of this.tasks) this.schedule(task, Math.floor(Math.random() * Math.min(task.everyMs, 10_000)));
  }

  /** Runs a task now, after any run in progress, and returns what this run returned (for tests and commands). */
  async runNow(name: string): Promise<unknown> {
    const task = this.tasks.find((t) => t.name === name);
    if (!task) throw new Error(`no periodic task ${name}`);
    for (let current = this.running.get(name); current; current = this.running.get(name)) await current.catch(() => {});
    return this.execute(task);
  }

  /** Stops scheduling and waits for runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  private execute(task: PeriodicTask): Promise<unknown> {
    const existing = this.running.get(task.name);
    if (existing) return existing;
    const run = task.run().finally(() => this.running.delete(task.name));
    this.running.set(task.name, run);
    return run;
  }

  private schedule(task: PeriodicTask, delay: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.execute(task)
        .catch((error) => this.log.error({ err: error, task: task.name }, "periodic task failed"))
        .finally(() => this.schedule(task, task.everyMs));
    }, delay);
    timer.unref?.();
    this.timers.set(task.name, timer);
  }
}
