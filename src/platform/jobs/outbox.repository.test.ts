import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { claimJobs, enqueueJob } from "./outbox.repository.js";

forEachDatabase((kind) => {
  describe("claiming outbox jobs", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      // Only this test's jobs: nothing else may be waiting.
      await shield.database.db.deleteFrom("jobs").execute();
    });
    afterAll(async () => shield.destroy());

    const enqueueAt = (name: string, runAt: Date) =>
      shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.order", { name }, clock.now(), { runAt }));
    const claim = async (worker: string) => {
      const job = (await claimJobs(shield.database.db, kind, worker, clock.now(), 5 * MINUTE, 1))[0];
      return job && (JSON.parse(job.payload) as { name: string }).name;
    };

    it("takes jobs earliest first, an abandoned one in its turn, and none that is not due", async () => {
      const t = (minutes: number) => new Date(clock.now().getTime() + minutes * MINUTE);
      await enqueueAt("second", t(-20));
      await enqueueAt("future", t(30));
      await enqueueAt("first", t(-30));
      expect(await claim("crashed")).toBe("first");
      clock.advance(6 * MINUTE); // the crashed worker's lease on "first" runs out
      await enqueueAt("third", t(-10));
      expect([await claim("w"), await claim("w"), await claim("w"), await claim("w")]).toEqual(["first", "second", "third", undefined]);
      clock.advance(30 * MINUTE); // every lease of "w" has run out too, and "future" is due
      expect([await claim("v"), await claim("v"), await claim("v"), await claim("v")]).toEqual(["first", "second", "third", "future"]);
    });
    it("puts a flooding sender's backlog behind another sender's job, and an account-attack page before both", async () => {
      await shield.database.db.deleteFrom("jobs").execute();
      const now = clock.now();
      const enqueue = (name: string, options: { fairnessKey?: string; urgent?: boolean }) =>
        shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.fair", { name }, now, options));
      for (let i = 0; i < 300; i++) await enqueue(`flood ${i}`, { fairnessKey: "client:203.0.113.9" });
      await enqueue("calm", { fairnessKey: "client:198.51.100.4" });
      await enqueue("page", { urgent: true });
      const names = (await claimJobs(shield.database.db, kind, "w", clock.now(), 5 * MINUTE, 16)).map((job) => (JSON.parse(job.payload) as { name: string }).name);
      // The flood's turns are 50 ms apart: those whose turn has come, then the others' jobs.
      expect(names.slice(0, 2)).toEqual(["page", "flood 0"]);
      expect(names.slice(2, 4)).toEqual(["calm", "flood 1"]);
      // With nobody else waiting, the flood's backlog is still taken at full speed.
      const rest = await claimJobs(shield.database.db, kind, "w", clock.now(), 5 * MINUTE, 16);
      expect(rest).toHaveLength(16);
    });
  });
});
