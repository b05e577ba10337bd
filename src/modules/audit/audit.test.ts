import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShield } from "../../../test/cli.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { GENESIS_HASH } from "../../platform/db/migrations/001-foundation.js";
import { computeEventHash, verifyChainSegment, type AuditEvent } from "./audit.js";
import { appendAuditEvent, verifyAuditLog } from "./index.js";

/** A valid chain of `count` events, as the repository would write it. */
function buildChain(count: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const unsigned = { seq, at: `2026-03-02T09:00:0${seq % 10}.000Z`, actor: "cli", action: "report.viewed", subject_type: "report", subject_id: String(seq), data: "{}", prev_hash: prev };
    const event = { ...unsigned, hash: computeEventHash(unsigned) };
    events.push(event);
    prev = event.hash;
  }
  return events;
}

const start = { seq: 0, hash: GENESIS_HASH };

describe("the audit chain (pure)", () => {
  it("accepts an untouched chain and ends at its last event", () => {
    const chain = buildChain(5);
    expect(verifyChainSegment(chain, start)).toEqual({ problems: [], next: { seq: 5, hash: chain[4]!.hash } });
  });

  it("gives the same answer when the chain is checked in pages", () => {
    const chain = buildChain(6);
    const first = verifyChainSegment(chain.slice(0, 4), start);
    const second = verifyChainSegment(chain.slice(4), first.next);
    expect([...first.problems, ...second.problems]).toEqual([]);
    expect(second.next).toEqual(verifyChainSegment(chain, start).next);
  });

  it("changes the hash when any stored field changes", () => {
    const [event] = buildChain(1);
    for (const field of ["at", "actor", "action", "subject_type", "subject_id", "data", "prev_hash"] as const) {
      expect(computeEventHash({ ...event!, [field]: `${event![field]}x` }), field).not.toBe(event!.hash);
    }
    expect(computeEventHash({ ...event!, seq: 2 })).not.toBe(event!.hash);
  });

  it("names an edited event", () => {
    const chain = buildChain(4);
    chain[1] = { ...chain[1]!, data: '{"reason":"forged"}' };
    expect(verifyChainSegment(chain, start).problems).toEqual([{ seq: 2, problem: "edited", message: "event 2 (report.viewed on report 2) was edited: its content does not match its hash" }]);
  });

  it("names the event after one that was edited and re-hashed", () => {
    const chain = buildChain(4);
    const forged = { ...chain[1]!, actor: "user:9:mallory@example.com" };
    chain[1] = { ...forged, hash: computeEventHash(forged) };
    expect(verifyChainSegment(chain, start).problems).toEqual([{ seq: 3, problem: "out_of_chain", message: "event 3 does not follow event 2: an event before it was changed, inserted or deleted" }]);
  });

  it("names a deleted event", () => {
    const chain = buildChain(4);
    chain.splice(2, 1);
    expect(verifyChainSegment(chain, start).problems).toEqual([{ seq: 3, problem: "missing", message: "event 3 is missing: it was deleted" }]);
  });

  it("names an event that repeats a sequence number", () => {
    const chain = buildChain(3);
    const forged = { ...chain[1]!, subject_id: "99" };
    chain.splice(2, 0, { ...forged, hash: computeEventHash(forged) });
    expect(verifyChainSegment(chain, start).problems.map((p) => [p.seq, p.problem])).toContainEqual([2, "inserted"]);
  });
});

forEachDatabase((kind) => {
  describe("verifying the stored audit log", () => {
    let shield: TestShield;
    let snapshot: { events: AuditEvent[]; head: { seq: number; hash: string } };
    const db = () => shield.database.db;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      const triager = await shield.addMember("triager");
      for (let i = 0; i < 3; i++) {
        const { id } = (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() })).json();
        await shield.app.inject({ method: "GET", url: `/api/v1/reports/${id}`, headers: triager.auth });
        await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers: triager.auth, payload: { to: "acknowledged", reason: "mine" } });
      }
      snapshot = {
        events: await db().selectFrom("audit_events").selectAll().orderBy("seq").execute(),
        head: await db().selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow(),
      };
    });
    afterAll(async () => shield.destroy());

    /** Puts the log back as it was before a tampering test. */
    async function restore(): Promise<void> {
      await db().deleteFrom("audit_events").execute();
      await db().insertInto("audit_events").values(snapshot.events).execute();
      await db().updateTable("audit_head").set(snapshot.head).where("id", "=", 1).execute();
    }

    it("finds the log intact after real activity", async () => {
      expect(snapshot.head.seq).toBeGreaterThanOrEqual(11);
      expect(snapshot.events.map((e) => e.action)).toEqual(expect.arrayContaining(["user.added", "token.created", "report.received", "report.viewed", "report.transitioned"]));
      const result = await verifyAuditLog(db());
      expect(result).toEqual({ ok: true, checked: snapshot.head.seq, head: snapshot.head, problems: [] });
    });

    it("names an event whose data was edited in the database", async () => {
      await sql`update audit_events set data = ${'{"from":"new","to":"acknowledged","reason":"nothing to see"}'} where seq = ${5}`.execute(db());
      const result = await verifyAuditLog(db());
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([{ seq: 5, problem: "edited", message: expect.stringMatching(/^event 5 \(.+\) was edited/) }]);
      await restore();
      expect((await verifyAuditLog(db())).ok).toBe(true);
    });

    it("names an event deleted from the middle", async () => {
      await sql`delete from audit_events where seq = ${4}`.execute(db());
      const result = await verifyAuditLog(db());
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([{ seq: 4, problem: "missing", message: "event 4 is missing: it was deleted" }]);
      await restore();
    });

    it("names the last event when it was deleted", async () => {
      const last = snapshot.head.seq;
      await sql`delete from audit_events where seq = ${last}`.execute(db());
      const result = await verifyAuditLog(db());
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([{ seq: last, problem: "missing", message: `event ${last} is missing: it was deleted from the end of the log` }]);
      await restore();
    });

    it("names a forged event appended by someone who knows how to hash it", async () => {
      const last = snapshot.events.at(-1)!;
      const unsigned = { seq: last.seq + 1, at: new Date().toISOString(), actor: "system", action: "report.viewed", subject_type: "report", subject_id: "1", data: "{}", prev_hash: last.hash };
      const forged = { ...unsigned, hash: computeEventHash(unsigned) };
      await sql`insert into audit_events (seq, at, actor, action, subject_type, subject_id, data, prev_hash, hash)
        values (${forged.seq}, ${forged.at}, ${forged.actor}, ${forged.action}, ${forged.subject_type}, ${forged.subject_id}, ${forged.data}, ${forged.prev_hash}, ${forged.hash})`.execute(db());
      const result = await verifyAuditLog(db());
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([{ seq: forged.seq, problem: "inserted", message: `event ${forged.seq} is past the recorded end of the log: it was inserted` }]);
      await restore();
    });

    // On SQLite one process has one connection that runs each query to completion, so
    // no append can slip between two reads of a verification; other processes can, and
    // PostgreSQL shows it from within one.
    it.runIf(kind === "postgres")("does not mistake events appended while it verifies for tampering", async () => {
      let appending = true;
      let appended = 0;
      const writer = (async () => {
        while (appending) {
          await db().transaction().execute((tx) => appendAuditEvent(tx, { kind: "system" }, { action: "test.tick", subjectType: "test", subjectId: String(appended) }, new Date().toISOString()));
          appended++;
          await new Promise((r) => setImmediate(r));
        }
      })();
      // Without a snapshot a verification chases new events forever: stop writing after a while regardless.
      const brake = setTimeout(() => (appending = false), 5000);
      const results = [];
      let appendedWhileVerifying = 0;
      try {
        while (appended < 2) await new Promise((r) => setTimeout(r, 1));
        const before = appended;
        for (let i = 0; i < 15; i++) results.push(await verifyAuditLog(db()));
        appendedWhileVerifying = appended - before;
      } finally {
        clearTimeout(brake);
        appending = false;
        await writer;
      }
      expect(results.flatMap((r) => r.problems)).toEqual([]);
      expect(appendedWhileVerifying).toBeGreaterThan(0);
      expect((await verifyAuditLog(db())).checked).toBe(snapshot.head.seq + appended);
      await restore();
    });
  });

  describe("shield audit verify", () => {
    let shield: TestShield;
    let env: Record<string, string>;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      await shield.addMember("admin");
      await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() });
      env = { DATABASE_URL: shield.testDatabase.url, SHIELD_DATA_DIR: shield.dataDir };
    });
    afterAll(async () => shield.destroy());

    it("exits 0 and says so when the log is intact", async () => {
      const head = await shield.database.db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
      expect(head.seq).toBeGreaterThanOrEqual(3);
      const json = await runShield(["audit", "verify", "--json"], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ ok: true, checked: head.seq, head, problems: [] });
      const human = await runShield(["audit", "verify"], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toBe(`The audit log is intact: ${head.seq} event(s), head ${head.seq} ${head.hash}.\n`);
    });

    it("exits non-zero and names the tampered event", async () => {
      const target = await shield.database.db.selectFrom("audit_events").selectAll().where("action", "=", "token.created").executeTakeFirstOrThrow();
      await sql`update audit_events set actor = ${"user:1:someone-else@example.com"} where seq = ${target.seq}`.execute(shield.database.db);
      const json = await runShield(["audit", "verify", "--json"], env);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: [{ seq: target.seq, problem: "edited" }] });
      const human = await runShield(["audit", "verify"], env);
      expect(human.code).toBe(1);
      expect(human.stdout).toContain("The audit log has been tampered with (1 problem(s)):");
      expect(human.stdout).toContain(`event ${target.seq} (token.created on user ${target.subject_id}) was edited`);
    });
  });
});
