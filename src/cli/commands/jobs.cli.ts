import { Option, type Command } from "commander";
import { countJobsByState, listJobs, requeueJob, type JobState } from "../../platform/jobs/outbox.repository.js";
import { systemClock } from "../../shared/clock.js";
import type { CliContext } from "../cli-context.js";

export function register(jobs: Command, cli: CliContext): void {
  jobs
    .command("list")
    .description("List jobs, newest first.")
    .addOption(new Option("--state <state>", "only jobs in this state").choices(["pending", "running", "done", "dead"]))
    .option("--limit <n>", "how many", (v) => Number.parseInt(v, 10), 50)
    .option("--json", "machine-readable output")
    .action(async (options: { state?: JobState; limit: number; json?: boolean }) => {
      const { rows, counts } = await cli.withDatabase(async ({ db }) => ({
        rows: await listJobs(db, { state: options.state, limit: options.limit, offset: 0 }),
        counts: await countJobsByState(db),
      }));
      cli.print(!!options.json, { jobs: rows.map(({ payload: _payload, ...rest }) => rest), counts }, () =>
        [
          `pending ${counts.pending ?? 0}, running ${counts.running ?? 0}, done ${counts.done ?? 0}, dead ${counts.dead ?? 0}`,
          ...rows.map((j) => `${String(j.id).padStart(6)}  ${j.state.padEnd(7)} ${j.kind.padEnd(20)} attempts ${j.attempts}/${j.max_attempts}${j.last_error ? `  ${j.last_error}` : ""}`),
        ].join("\n"),
      );
    });
  jobs
    .command("retry")
    .description("Put a dead job back in the queue.")
    .argument("<id>", "job id", (v) => Number.parseInt(v, 10))
    .option("--json", "machine-readable output")
    .action(async (id: number, options: { json?: boolean }) => {
      const ok = await cli.withDatabase(({ db }) => requeueJob(db, id, systemClock.now()));
      if (!ok) return cli.refuse(!!options.json, "job_not_dead", `Job ${id} is not dead (or does not exist); nothing changed.`);
      cli.print(!!options.json, { id, requeued: ok }, () => `Job ${id} is queued again.`);
    });
}
