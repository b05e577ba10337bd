import { nextTurn } from "../db/slices.js";
import type { Db } from "../db/database.js";
import { deleteDoneJobsFinishedBefore } from "./outbox.repository.js";

export const JOBS_PRUNE_TASK = "jobs.prune";
export const JOBS_PRUNE_EVERY_MS = 60 * 60_000;

/**
 * Deletes the done jobs (mail sent, webhooks delivered) that finished more than
 * `retentionDays` before `now`, `batch` per statement with a turn of the event loop in
 * between, so that requests are answered while a backlog is deleted. Pending, running and
 * dead jobs are kept: a dead job waits for someone to retry it. What a job did is in the
 * audit log, which is kept.
 */
export async function pruneDoneJobs(db: Db, now: Date, retentionDays: number, batch = 1000): Promise<{ deleted: number }> {
  const before = new Date(now.getTime() - retentionDays * 86_400_000);
  let deleted = 0;
  for (;;) {
    const count = await deleteDoneJobsFinishedBefore(db, before, batch);
    deleted += count;
    if (count < batch) return { deleted };
    await nextTurn();
  }
}
