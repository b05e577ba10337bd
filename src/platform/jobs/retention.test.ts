import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAY, FakeClock, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { claimJobs, completeJob, enqueueJob, failJob } from "./outbox.repository.js";
import { JOBS_PRUNE_TASK, pruneDoneJobs } from "./retention.js";

forEachDatabase((kind) => {
  describe("keeping outbox jobs", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind, { clock, env: { SHIELD_JOB_RETENTION_DAYS: "30" } });
      await shield.database.db.deleteFrom("jobs").execute();
    });
    afterAll(async () => shield.destroy());

    const db = () => shield.database.db;
    const names = async () =>
      (await db().selectFrom("jobs").select(["payload", "state"]).orderBy("id").execute()).map((row) => `${(JSON.parse(row.payload) as { name: string }).name}:${row.state}`);
    /** Enqueues a job and takes it through to `outcome` now. */
    async function jobThat(name: string, outcome: "done" | "dead" | "pending") {
      await db().transaction().execute((tx) => enqueueJob(tx, "test.keep", { name }, clock.now(), { maxAttempts: 1 }));
      if (outcome === "pending") return;
      const [job] = await claimJobs(db(), kind, "w", clock.now(), 5 * MINUTE, 1);
      if (outcome === "done") await completeJob(db(), job!, "w", clock.now());
      else await failJob(db(), job!, "w", "relay refused", clock.now());
    }

    it("deletes done jobs past the retention, and keeps newer ones, failed ones and waiting ones", async () => {
      for (let i = 0; i < 5; i++) await jobThat(`old-done-${i}`, "done");
      await jobThat("old-dead", "dead");
      clock.advance(2 * DAY);
      await jobThat("recent-done", "done");
      await jobThat("waiting", "pending");
      clock.advance(29 * DAY); // the old ones finished 31 days ago, the recent one 29

      // In batches of 2: three statements for five jobs.
      expect(await pruneDoneJobs(db(), clock.now(), 30, 2)).toEqual({ deleted: 5 });
      expect(await names()).toEqual(["old-dead:dead", "recent-done:done", "waiting:pending"]);
      expect(await pruneDoneJobs(db(), clock.now(), 30, 2)).toEqual({ deleted: 0 });
    });

    it("runs hourly in the scheduler with SHIELD_JOB_RETENTION_DAYS", async () => {
      clock.advance(2 * DAY);
      expect(await shield.scheduler.runNow(JOBS_PRUNE_TASK)).toEqual({ deleted: 1 });
      expect(await names()).toEqual(["old-dead:dead", "waiting:pending"]);
    });
  });
});
