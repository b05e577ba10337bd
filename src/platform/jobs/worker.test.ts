import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { claimJobs, enqueueJob, findJob, payloadOf } from "./outbox.repository.js";
import { OutboxWorker, type JobHandler } from "./worker.js";

forEachDatabase((kind) => {
  describe("the outbox worker", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let shield: TestShield;
    /** How the `test.flaky` handler behaves next: throw this message, or succeed when null. */
    let failure: string | null = null;
    const ran: Array<{ id: number; payload: Record<string, unknown> }> = [];
    let worker: OutboxWorker;

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      const flaky: JobHandler = async (payload, job) => {
        ran.push({ id: job.id, payload });
        if (failure) throw new Error(failure);
      };
      worker = new OutboxWorker(shield.database, { "test.flaky": flaky }, clock, pino({ level: "silent" }), { pollMs: 1000, leaseMs: 5 * MINUTE });
    });
    afterAll(async () => shield.destroy());

    const enqueue = (payload: Record<string, unknown>, maxAttempts?: number) =>
      shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.flaky", payload, clock.now(), { maxAttempts }));
    const job = async (id: number) => (await findJob(shield.database.db, id))!;

    it("runs a due job once and marks it done", async () => {
      failure = null;
      const id = await enqueue({ n: 1 });
      expect(await worker.drain()).toBe(1);
      expect(ran.filter((r) => r.id === id)).toEqual([{ id, payload: { n: 1 } }]);
      expect(await job(id)).toMatchObject({ state: "done", attempts: 1, last_error: null, locked_by: null, finished_at: clock.now().toISOString() });
      expect(await worker.drain()).toBe(0);
    });

    it("retries a failing job later with a growing delay, counting attempts and keeping the error", async () => {
      failure = "SMTP said 451 try again later";
      const id = await enqueue({ n: 2 }, 8);
      const start = clock.now().getTime();
      expect(await worker.drain()).toBe(1);
      let row = await job(id);
      expect(row).toMatchObject({ state: "pending", attempts: 1, last_error: "SMTP said 451 try again later", locked_by: null, finished_at: null });
      expect(Date.parse(row.run_at) - start).toBe(30_000);

      clock.advance(29_000);
      expect(await worker.drain()).toBe(0);
      clock.advance(1_000);
      failure = "connection refused";
      expect(await worker.drain()).toBe(1);
      row = await job(id);
      expect(row).toMatchObject({ state: "pending", attempts: 2, last_error: "connection refused" });
      expect(Date.parse(row.run_at) - clock.now().getTime()).toBe(60_000);

      clock.advance(60_000);
      await worker.drain();
      expect(Date.parse((await job(id)).run_at) - clock.now().getTime()).toBe(120_000);

      failure = null;
      clock.advance(120_000);
      expect(await worker.drain()).toBe(1);
      expect(await job(id)).toMatchObject({ state: "done", attempts: 4, last_error: null });
    });

    it("caps the delay between attempts at one hour", async () => {
      failure = "down";
      const id = await enqueue({ n: 3 }, 20);
      for (let attempt = 1; attempt <= 9; attempt++) {
        await worker.drain();
        clock.set((await job(id)).run_at);
      }
      const row = await job(id);
      expect(row.attempts).toBe(9);
      await worker.drain();
      expect(Date.parse((await job(id)).run_at) - clock.now().getTime()).toBe(HOUR);
      failure = null;
      clock.advance(HOUR);
      expect(await worker.drain()).toBe(1);
      expect((await job(id)).state).toBe("done");
    });

    describe("after the last attempt", () => {
      let deadId: number;
      let admin: Awaited<ReturnType<TestShield["addMember"]>>;
      let triager: Awaited<ReturnType<TestShield["addMember"]>>;

      beforeAll(async () => {
        admin = await shield.addMember("admin");
        triager = await shield.addMember("triager");
        failure = "mailbox unavailable";
        deadId = await enqueue({ n: 4, secretTrackingToken: "keep-me-for-the-retry" }, 3);
        for (let attempt = 1; attempt <= 3; attempt++) {
          expect(await worker.drain()).toBe(1);
          clock.advance(HOUR);
        }
      });

      it("gives up into dead, keeping the error and the payload for a retry", async () => {
        const row = await job(deadId);
        expect(row).toMatchObject({ state: "dead", attempts: 3, max_attempts: 3, last_error: "mailbox unavailable", finished_at: expect.any(String) });
        expect(payloadOf(shield.database.db, row)).toEqual({ n: 4, secretTrackingToken: "keep-me-for-the-retry" });
        expect(row.payload).not.toContain("keep-me-for-the-retry");
        expect(await worker.drain()).toBe(0);
      });

      it("shows dead jobs to admins only", async () => {
        const response = await shield.app.inject({ method: "GET", url: "/api/v1/jobs?state=dead", headers: admin.auth });
        expect(response.statusCode).toBe(200);
        const body = response.json();
        expect(body.jobs.map((j: { id: number }) => j.id)).toContain(deadId);
        expect(body.jobs.every((j: { state: string }) => j.state === "dead")).toBe(true);
        expect(body.jobs.find((j: { id: number }) => j.id === deadId)).toMatchObject({ kind: "test.flaky", attempts: 3, maxAttempts: 3, lastError: "mailbox unavailable" });
        expect(JSON.stringify(body)).not.toContain("keep-me-for-the-retry");
        expect(body.counts.dead).toBeGreaterThanOrEqual(1);

        const forTriager = await shield.app.inject({ method: "GET", url: "/api/v1/jobs?state=dead", headers: triager.auth });
        expect(forTriager.statusCode).toBe(403);
        expect(forTriager.json().error.code).toBe("forbidden");
        expect((await shield.app.inject({ method: "POST", url: `/api/v1/jobs/${deadId}/retry`, headers: triager.auth })).statusCode).toBe(403);
        expect((await shield.app.inject({ method: "GET", url: "/api/v1/jobs?state=dead" })).statusCode).toBe(401);
        expect(await job(deadId)).toMatchObject({ state: "dead" });
      });

      it("puts a dead job back in the queue when an admin retries it, and then runs it", async () => {
        const response = await shield.app.inject({ method: "POST", url: `/api/v1/jobs/${deadId}/retry`, headers: admin.auth });
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({ id: deadId, state: "pending" });
        expect(await job(deadId)).toMatchObject({ state: "pending", attempts: 0, finished_at: null, run_at: clock.now().toISOString() });
        const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("action", "=", "job.requeued").execute();
        expect(audit.map((e) => [e.subject_id, e.actor])).toEqual([[String(deadId), `user:${admin.member.id}:${admin.member.email}`]]);

        const again = await shield.app.inject({ method: "POST", url: `/api/v1/jobs/${deadId}/retry`, headers: admin.auth });
        expect(again.statusCode).toBe(409);
        expect(again.json().error.code).toBe("job_not_dead");
        expect((await shield.app.inject({ method: "POST", url: "/api/v1/jobs/999999/retry", headers: admin.auth })).statusCode).toBe(404);

        failure = null;
        expect(await worker.drain()).toBe(1);
        expect(await job(deadId)).toMatchObject({ state: "done", attempts: 1 });
      });
    });

    it("takes over a job whose worker died, once its lease has run out", async () => {
      failure = null;
      const id = await enqueue({ n: 5 });
      const crashed = (await claimJobs(shield.database.db, shield.database.kind, "crashed-worker", clock.now(), 5 * MINUTE, 1))[0];
      expect(crashed).toMatchObject({ id, state: "running", attempts: 1, locked_by: "crashed-worker" });

      clock.advance(4 * MINUTE);
      expect(await worker.drain()).toBe(0);
      clock.advance(MINUTE + 1);
      expect(await worker.drain()).toBe(1);
      expect(await job(id)).toMatchObject({ state: "done", attempts: 2, locked_by: null });
      expect(ran.filter((r) => r.id === id)).toHaveLength(1);
    });

    it("gives a job up into dead when workers keep stopping while running it", async () => {
      failure = null;
      const id = await enqueue({ n: 6 });
      const { max_attempts: max } = await job(id);
      for (let i = 0; i < max; i++) {
        expect((await claimJobs(shield.database.db, shield.database.kind, `dying-worker-${i}`, clock.now(), 5 * MINUTE, 1))[0]).toMatchObject({ id });
        clock.advance(5 * MINUTE + 1);
      }
      expect(await worker.drain()).toBe(1);
      const row = await job(id);
      expect(row.state).toBe("dead");
      expect(row.last_error).toMatch(/a worker stopped while running it/);
      expect(ran.filter((r) => r.id === id)).toHaveLength(0);
    });

    it("keeps payload fields named secret* sealed under the master key, opened only for the job's handler", async () => {
      failure = null;
      const id = await enqueue({ reportId: 13, secretTrackingToken: "sealed-tracking-secret", notSecret: "plain" });
      const stored = (await job(id)).payload;
      expect(stored).not.toContain("sealed-tracking-secret");
      expect(JSON.parse(stored)).toMatchObject({ reportId: 13, notSecret: "plain", secretTrackingToken: { $sealed: expect.stringMatching(/^v1\./) } });
      await worker.drain();
      expect(ran.filter((r) => r.id === id).at(-1)!.payload).toEqual({ reportId: 13, secretTrackingToken: "sealed-tracking-secret", notSecret: "plain" });
    });

    it("fails a job whose sealed secret does not open with this master key, and never hands it to the handler", async () => {
      failure = null;
      const id = await enqueue({ secretTrackingToken: "from-another-key" });
      // The sealed value of another job kind: bound to its kind and field, it does not open here.
      const other = await shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.other", { secretTrackingToken: "x" }, clock.now()));
      await shield.database.db.updateTable("jobs").set({ payload: (await job(other)).payload }).where("id", "=", id).execute();
      await shield.database.db.deleteFrom("jobs").where("id", "=", other).execute();
      await worker.drain();
      expect(await job(id)).toMatchObject({ state: "pending", last_error: expect.stringMatching(/does not open with this master key/) });
      expect(ran.filter((r) => r.id === id)).toEqual([]);
      await shield.database.db.deleteFrom("jobs").where("id", "=", id).execute();
    });

    it("drops payload fields named secret* once the job is done, and keeps them while it may still be retried", async () => {
      failure = "not yet";
      const id = await enqueue({ reportId: 12, secretTrackingToken: "tracking-secret", secretOther: "x", notSecret: "kept", nested: { secretInside: "stays" } });
      await worker.drain();
      expect(payloadOf(shield.database.db, await job(id))).toMatchObject({ secretTrackingToken: "tracking-secret", secretOther: "x" });

      failure = null;
      clock.advance(HOUR);
      await worker.drain();
      const row = await job(id);
      expect(row.state).toBe("done");
      expect(JSON.parse(row.payload)).toEqual({ reportId: 12, notSecret: "kept", nested: { secretInside: "stays" } });
      expect(row.payload).not.toContain("tracking-secret");
      expect(ran.filter((r) => r.id === id).at(-1)!.payload.secretTrackingToken).toBe("tracking-secret");
    });

    it("works through a backlog a batch at a time, recording each job's own outcome", async () => {
      failure = null;
      const ids: number[] = [];
      for (let n = 0; n < 40; n++) ids.push(await enqueue({ n: 100 + n }));
      const unknown = await shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.unknown", {}, clock.now(), { maxAttempts: 1 }));
      expect(await worker.drain()).toBe(41);
      for (const id of ids) expect(await job(id)).toMatchObject({ state: "done", attempts: 1, locked_by: null });
      expect(await job(unknown)).toMatchObject({ state: "dead", last_error: "no handler for job kind test.unknown" });
      expect(
        ran
          .filter((r) => ids.includes(r.id))
          .map((r) => r.id)
          .sort((a, b) => a - b),
      ).toEqual(ids);
    });

    it("runs jobs about different reports side by side, and those about one report one at a time in their order", async () => {
      const log: string[] = [];
      const running = new Map<number, number>(); // job id -> report id
      let most = 0;
      const overlapping: string[] = [];
      const paced = new OutboxWorker(
        shield.database,
        {
          "test.paced": async (payload, claimed) => {
            const reportId = payload.reportId as number | undefined;
            for (const [other, report] of running) if (reportId !== undefined && report === reportId) overlapping.push(`${claimed.id} with ${other}`);
            running.set(claimed.id, reportId ?? -claimed.id);
            most = Math.max(most, running.size);
            log.push(`${reportId ?? "-"}:${payload.step as number}`);
            await new Promise((resolve) => setTimeout(resolve, 5));
            running.delete(claimed.id);
          },
        },
        clock,
        pino({ level: "silent" }),
        { pollMs: 60_000, batchSize: 16, concurrency: 3 },
      );
      const add = (payload: Record<string, unknown>) => shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.paced", payload, clock.now()));
      for (let step = 1; step <= 3; step++) for (const reportId of [71, 72, 73, 74]) await add({ reportId, step });
      await add({ step: 0 });
      await add({ step: 0 });
      expect(await paced.drain()).toBe(14);
      expect(overlapping).toEqual([]);
      expect(most).toBe(3);
      for (const reportId of [71, 72, 73, 74]) expect(log.filter((entry) => entry.startsWith(`${reportId}:`))).toEqual([`${reportId}:1`, `${reportId}:2`, `${reportId}:3`]);
    });

    it("stopped in the middle of a batch, gives back the jobs it had not started, untouched", async () => {
      const started: number[] = [];
      let release!: () => void;
      const blocked = new Promise<void>((resolve) => (release = resolve));
      const slow = new OutboxWorker(
        shield.database,
        {
          "test.slow": async (_payload, claimed) => {
            started.push(claimed.id);
            await blocked;
          },
        },
        clock,
        pino({ level: "silent" }),
        { pollMs: 60_000, batchSize: 6, concurrency: 2 },
      );
      const ids: number[] = [];
      for (let n = 0; n < 6; n++) ids.push(await shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.slow", { n }, clock.now())));
      slow.start();
      await vi.waitFor(() => expect(started).toHaveLength(2));
      const stopping = slow.stop();
      release();
      await stopping;
      expect(started).toEqual(ids.slice(0, 2));
      for (const id of ids.slice(0, 2)) expect(await job(id)).toMatchObject({ state: "done", attempts: 1 });
      for (const id of ids.slice(2)) expect(await job(id)).toMatchObject({ state: "pending", attempts: 0, locked_by: null, locked_until: null });
    });

    it("keeps sending while requests are being answered, pausing between jobs instead of stopping", async () => {
      const done: number[] = [];
      const polite = new OutboxWorker(shield.database, { "test.polite": async (_payload, claimed) => void done.push(claimed.id) }, clock, pino({ level: "silent" }), {
        pollMs: 60_000,
        busy: () => true,
      });
      const ids: number[] = [];
      for (let n = 0; n < 3; n++) ids.push(await shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.polite", { n }, clock.now())));
      polite.start();
      await vi.waitFor(() => expect(done).toEqual(ids));
      await polite.stop();
      for (const id of ids) expect(await job(id)).toMatchObject({ state: "done" });
    });

    it("fails a job whose kind has no handler instead of dropping it", async () => {
      const id = await shield.database.db.transaction().execute((tx) => enqueueJob(tx, "test.unknown", {}, clock.now(), { maxAttempts: 1 }));
      await worker.drain();
      expect(await job(id)).toMatchObject({ state: "dead", last_error: "no handler for job kind test.unknown" });
    });
  });
});
