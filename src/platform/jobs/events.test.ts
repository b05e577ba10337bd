import pino from "pino";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { defineSubscriber, EventBus } from "./events.js";
import { defineJob, enqueue, handleJob, handlersOf } from "./job.js";
import { enqueueJob, findJob } from "./outbox.repository.js";
import { OutboxWorker } from "./worker.js";

const EVENTS = {
  "thing.happened": z.object({ thingId: z.number().int().positive() }),
  "other.happened": z.object({ word: z.string() }),
};
const COUNT_JOB = defineJob({ kind: "test.count", payload: z.object({ n: z.number().int() }) });
const FIRST = defineSubscriber(EVENTS, "thing.happened", "first");
const SECOND = defineSubscriber(EVENTS, "thing.happened", "second");

forEachDatabase((kind) => {
  describe("typed jobs and domain events in the outbox", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let shield: TestShield;
    let worker: OutboxWorker;
    const seen: string[] = [];
    const bus = new EventBus<typeof EVENTS>([FIRST, SECOND]);

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      const handlers = handlersOf([
        handleJob(COUNT_JOB, async ({ n }) => void seen.push(`count ${n * 2}`)),
        handleJob(FIRST.job, async ({ thingId }) => void seen.push(`first ${thingId}`)),
        handleJob(SECOND.job, async ({ thingId }) => void seen.push(`second ${thingId}`)),
      ]);
      worker = new OutboxWorker(shield.database, handlers, clock, pino({ level: "silent" }), { pollMs: 1000, leaseMs: 5 * MINUTE });
    });
    afterAll(async () => shield.destroy());

    const jobsOfKind = (kinds: string[]) => shield.database.db.selectFrom("jobs").select(["kind", "payload", "state"]).where("kind", "in", kinds).orderBy("id").execute();

    it("runs a job with its payload parsed by the job's schema", async () => {
      seen.length = 0;
      await shield.database.db.transaction().execute((tx) => enqueue(tx, COUNT_JOB, { n: 21 }, clock.now()));
      await worker.drain();
      expect(seen).toEqual(["count 42"]);
    });

    it("sends a job whose payload does not fit its schema to the dead letters at once, saying why", async () => {
      const id = await shield.database.db.transaction().execute((tx) => enqueueJob(tx, COUNT_JOB.kind, { n: "twenty-one" }, clock.now(), { maxAttempts: 8 }));
      await worker.drain();
      const row = (await findJob(shield.database.db, id))!;
      expect(row).toMatchObject({ state: "dead", attempts: 1 });
      expect(row.last_error).toContain("the payload does not fit job test.count");
      expect(row.last_error).toContain("n:");
    });

    it("writes one job per subscriber in the publisher's transaction, and each subscriber runs its own", async () => {
      seen.length = 0;
      await shield.database.db.transaction().execute((tx) => bus.publish(tx, "thing.happened", { thingId: 7 }, clock.now()));
      expect((await jobsOfKind(bus.jobKinds())).filter((job) => job.state === "pending").map((job) => [job.kind, JSON.parse(job.payload)])).toEqual([
        ["on:thing.happened:first", { thingId: 7 }],
        ["on:thing.happened:second", { thingId: 7 }],
      ]);
      await worker.drain();
      expect(seen.sort()).toEqual(["first 7", "second 7"]);
    });

    it("leaves nothing behind when the publisher's transaction rolls back, and nothing for an event nobody hears", async () => {
      const before = (await jobsOfKind(bus.jobKinds())).length;
      await expect(
        shield.database.db.transaction().execute(async (tx) => {
          await bus.publish(tx, "thing.happened", { thingId: 8 }, clock.now());
          throw new Error("the change failed");
        }),
      ).rejects.toThrow("the change failed");
      await shield.database.db.transaction().execute((tx) => bus.publish(tx, "other.happened", { word: "unheard" }, clock.now()));
      expect((await jobsOfKind(bus.jobKinds())).length).toBe(before);
      expect(await shield.database.db.selectFrom("jobs").select("id").where("payload", "like", "%unheard%").execute()).toEqual([]);
    });

    it("refuses wiring that would run a kind twice or subscribe twice", () => {
      expect(() => handlersOf([handleJob(COUNT_JOB, async () => {}), handleJob(COUNT_JOB, async () => {})])).toThrow("test.count has two handlers");
      expect(() => new EventBus<typeof EVENTS>([FIRST, FIRST])).toThrow("on:thing.happened:first is subscribed twice");
    });
  });
});
