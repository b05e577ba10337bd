import { spawn } from "node:child_process";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { systemClock } from "../../shared/clock.js";
import { claimJobs, enqueueJob, findJob } from "./outbox.repository.js";
import { OutboxWorker, type JobHandler } from "./worker.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid of a process that has exited. */
async function pidOfAnEndedProcess(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid!;
}

forEachDatabase((kind) => {
  describe("job leases", () => {
    let shield: TestShield;
    const runs: number[] = [];
    let holdMs = 0;
    const handler: JobHandler = async (_payload, job) => {
      runs.push(job.id);
      await sleep(holdMs);
    };
    const worker = (leaseMs: number) => new OutboxWorker(shield.database, { "test.lease": handler }, systemClock, pino({ level: "silent" }), { pollMs: 50, leaseMs });
    const enqueue = () => shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.lease", { n: 1 }, systemClock.now()));

    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    it("lets a live holder keep its job past its lease by renewing it: no other worker runs it meanwhile", async () => {
      const id = await enqueue();
      holdMs = 1500;
      const holder = worker(400);
      const other = worker(400);
      const holding = holder.drain();
      await sleep(100);
      // Polls through three whole leases of the holder.
      for (let i = 0; i < 14; i++) {
        expect(await other.drain()).toBe(0);
        await sleep(100);
      }
      expect(await holding).toBe(1);
      expect(runs.filter((run) => run === id)).toEqual([id]);
      expect(await findJob(shield.database.db, id)).toMatchObject({ state: "done", attempts: 1 });
    });

    it("takes over the job of a holder that stopped renewing within its (short) lease", async () => {
      const id = await enqueue();
      holdMs = 0;
      // Claimed by a worker on another machine that then died: nobody renews the lease.
      await claimJobs(shield.database.db, shield.database.kind, "elsewhere:4242:000000000000:dead", systemClock.now(), 400, 1);
      const taker = worker(400);
      expect(await taker.drain()).toBe(0);
      await sleep(500);
      expect(await taker.drain()).toBe(1);
      expect(await findJob(shield.database.db, id)).toMatchObject({ state: "done", attempts: 2 });
    });

    it("gives back at start the jobs a gone process on this machine held, at once, and leaves a live holder's alone", async () => {
      holdMs = 0;
      const starter = worker(300_000);
      const [host, , place] = starter.id.split(":");
      const goneId = await enqueue();
      await claimJobs(shield.database.db, shield.database.kind, `${host}:${await pidOfAnEndedProcess()}:${place}:gone`, systemClock.now(), 300_000, 1);
      const liveId = await enqueue();
      const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
      try {
        await claimJobs(shield.database.db, shield.database.kind, `${host}:${live.pid}:${place}:live`, systemClock.now(), 300_000, 1);
        starter.start();
        for (let i = 0; i < 100 && (await findJob(shield.database.db, goneId))!.state !== "done"; i++) await sleep(50);
        await starter.stop();
        expect(await findJob(shield.database.db, goneId)).toMatchObject({ state: "done", attempts: 2 });
        expect(await findJob(shield.database.db, liveId)).toMatchObject({ state: "running", locked_by: `${host}:${live.pid}:${place}:live` });
      } finally {
        live.kill("SIGKILL");
      }
    });
  });
});
