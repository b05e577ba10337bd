import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShield } from "../../../test/cli.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { GENESIS_HASH } from "../../platform/db/migrations/001-foundation.js";
import { loadMasterKey, MasterKey } from "../../platform/crypto/master-key.js";
import type { Db } from "../../platform/db/database.js";
import { computeEventMac, computePlainEventHash, verifyChainSegment, type AuditEvent, type AuditKey } from "./audit.js";
import { appendAuditEvent, keyAuditLog, readAuditHead, verifyAuditLog } from "./index.js";

const testKey: AuditKey = { id: "test", bytes: Buffer.alloc(32, 7) };
const computeEventHash = (event: Omit<AuditEvent, "hash">) => computeEventMac(testKey, event);
const mac = computeEventHash;

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
    expect(verifyChainSegment(chain, start, mac)).toEqual({ problems: [], next: { seq: 5, hash: chain[4]!.hash } });
  });

  it("gives the same answer when the chain is checked in pages", () => {
    const chain = buildChain(6);
    const first = verifyChainSegment(chain.slice(0, 4), start, mac);
    const second = verifyChainSegment(chain.slice(4), first.next, mac);
    expect([...first.problems, ...second.problems]).toEqual([]);
    expect(second.next).toEqual(verifyChainSegment(chain, start, mac).next);
  });

  it("changes the hash when any stored field changes", () => {
    const [event] = buildChain(1);
    for (const field of ["at", "actor", "action", "subject_type", "subject_id", "data", "prev_hash"] as const) {
      expect(computeEventHash({ ...event!, [field]: `${event![field]}x` }), field).not.toBe(event!.hash);
    }
    expect(computeEventHash({ ...event!, seq: 2 })).not.toBe(event!.hash);
  });

  it("gives a chain keyed with another key nothing but edited events", () => {
    const chain = buildChain(3);
    const other: AuditKey = { id: "other", bytes: Buffer.alloc(32, 8) };
    expect(verifyChainSegment(chain, start, (e) => computeEventMac(other, e)).problems.map((p) => p.problem)).toEqual(["edited", "edited", "edited"]);
  });

  it("names an event re-hashed with plain SHA-256 as edited", () => {
    const chain = buildChain(3);
    chain[2] = { ...chain[2]!, hash: computePlainEventHash(chain[2]!) };
    expect(verifyChainSegment(chain, start, mac).problems.map((p) => [p.seq, p.problem])).toEqual([[3, "edited"]]);
  });

  it("names an edited event", () => {
    const chain = buildChain(4);
    chain[1] = { ...chain[1]!, data: '{"reason":"forged"}' };
    expect(verifyChainSegment(chain, start, mac).problems).toEqual([{ seq: 2, problem: "edited", message: "event 2 (report.viewed on report 2) was edited: its content does not match its MAC" }]);
  });

  it("names the event after one that was edited and re-hashed", () => {
    const chain = buildChain(4);
    const forged = { ...chain[1]!, actor: "user:9:mallory@example.com" };
    chain[1] = { ...forged, hash: computeEventHash(forged) };
    expect(verifyChainSegment(chain, start, mac).problems).toEqual([{ seq: 3, problem: "out_of_chain", message: "event 3 does not follow event 2: an event before it was changed, inserted or deleted" }]);
  });

  it("names a deleted event", () => {
    const chain = buildChain(4);
    chain.splice(2, 1);
    expect(verifyChainSegment(chain, start, mac).problems).toEqual([{ seq: 3, problem: "missing", message: "event 3 is missing: it was deleted" }]);
  });

  it("names an event that repeats a sequence number", () => {
    const chain = buildChain(3);
    const forged = { ...chain[1]!, subject_id: "99" };
    chain.splice(2, 0, { ...forged, hash: computeEventHash(forged) });
    expect(verifyChainSegment(chain, start, mac).problems.map((p) => [p.seq, p.problem])).toContainEqual([2, "inserted"]);
  });
});

/** A Shield with an admin and one report, and the environment the CLI needs to reach it. */
async function shieldWithOneReport(kind: "sqlite" | "postgres"): Promise<{ shield: TestShield; env: Record<string, string> }> {
  const shield = await createTestShield(kind);
  await shield.addMember("admin");
  await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() });
  return { shield, env: { DATABASE_URL: shield.testDatabase.url, SHIELD_DATA_DIR: shield.dataDir } };
}

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
      expect(result).toEqual({ ok: true, checked: snapshot.head.seq, head: { seq: snapshot.head.seq, mac: snapshot.head.hash }, problems: [] });
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

    /** What a database writer without the master key can do: rewrite events from `from` on with plain SHA-256, and the head with them. */
    async function rechainWithPlainSha256(events: AuditEvent[], from: number): Promise<void> {
      let prev = events.find((e) => e.seq === from - 1)?.hash ?? GENESIS_HASH;
      for (const event of events.filter((e) => e.seq >= from)) {
        const rewritten = { ...event, prev_hash: prev };
        prev = computePlainEventHash(rewritten);
        await sql`update audit_events set data = ${event.data}, prev_hash = ${rewritten.prev_hash}, hash = ${prev} where seq = ${event.seq}`.execute(db());
      }
      const last = events.at(-1)!;
      await sql`update audit_head set seq = ${last.seq}, hash = ${prev} where id = 1`.execute(db());
    }

    it("names an event appended with plain SHA-256 and the head moved to it", async () => {
      const last = snapshot.events.at(-1)!;
      const unsigned = { seq: last.seq + 1, at: new Date().toISOString(), actor: "system", action: "report.viewed", subject_type: "report", subject_id: "1", data: "{}", prev_hash: last.hash };
      const forged = { ...unsigned, hash: computePlainEventHash(unsigned) };
      await db().insertInto("audit_events").values(forged).execute();
      await sql`update audit_head set seq = ${forged.seq}, hash = ${forged.hash} where id = 1`.execute(db());
      const result = await verifyAuditLog(db());
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([{ seq: forged.seq, problem: "edited", message: `event ${forged.seq} (report.viewed on report 1) was edited: its content does not match its MAC` }]);
      await restore();
    });

    it("names event 100 when it was edited and every event after it recomputed with plain SHA-256", async () => {
      await db().transaction().execute(async (tx) => {
        for (let i = 0; i < 110; i++) await appendAuditEvent(tx, { kind: "system" }, { action: "test.tick", subjectType: "test", subjectId: String(i) }, new Date().toISOString());
      });
      const events = await db().selectFrom("audit_events").selectAll().orderBy("seq").execute();
      expect((await verifyAuditLog(db())).ok).toBe(true);
      events[99] = { ...events[99]!, data: '{"forged":true}' };
      await rechainWithPlainSha256(events, 100);
      const result = await verifyAuditLog(db());
      expect(result.ok).toBe(false);
      expect(result.problems.map((p) => [p.seq, p.problem])).toEqual(events.slice(99).map((e) => [e.seq, "edited"]));
      await restore();
      expect((await verifyAuditLog(db())).ok).toBe(true);
    });

    it("checks that the log still reaches an anchored head, which a rewrite with the master key cannot fake", async () => {
      const anchor = await readAuditHead(db());
      expect(await verifyAuditLog(db(), { anchor })).toMatchObject({ ok: true, problems: [] });
      await db().transaction().execute((tx) => appendAuditEvent(tx, { kind: "system" }, { action: "test.tick", subjectType: "test", subjectId: "later" }, new Date().toISOString()));
      expect(await verifyAuditLog(db(), { anchor })).toMatchObject({ ok: true, problems: [] });

      // Someone holding the master key cuts the log back before the anchor and appends anew: the chain itself verifies.
      await sql`delete from audit_events where seq >= ${anchor.seq - 1}`.execute(db());
      const kept = (await db().selectFrom("audit_events").selectAll().orderBy("seq", "desc").executeTakeFirstOrThrow());
      await sql`update audit_head set seq = ${kept.seq}, hash = ${kept.hash} where id = 1`.execute(db());
      expect((await verifyAuditLog(db())).ok).toBe(true);
      expect((await verifyAuditLog(db(), { anchor })).problems).toEqual([{ seq: anchor.seq, problem: "anchor", message: `the log no longer reaches the anchored head ${anchor.seq}: it ends at event ${kept.seq}` }]);
      for (let i = 0; i < 3; i++) await db().transaction().execute((tx) => appendAuditEvent(tx, { kind: "system" }, { action: "test.tick", subjectType: "test", subjectId: `again ${i}` }, new Date().toISOString()));
      expect((await verifyAuditLog(db())).ok).toBe(true);
      expect((await verifyAuditLog(db(), { anchor })).problems).toEqual([
        { seq: anchor.seq, problem: "anchor", message: `event ${anchor.seq} is not the anchored one (MAC ${anchor.mac}): the log was rewritten up to it` },
      ]);
      await restore();
    });

    it("refuses to verify or append with another master key", async () => {
      const other = await keyAuditLog(shield.database.db.withoutPlugins() as Db, new MasterKey(randomBytes(32), "environment"), () => new Date().toISOString()).catch((e: Error) => e);
      expect(other).toBeInstanceOf(Error);
      expect((other as Error).message).toMatch(/^the audit log is keyed with master key [0-9a-f]{16}, but this process has master key [0-9a-f]{16}$/);
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
      ({ shield, env } = await shieldWithOneReport(kind));
    });
    afterAll(async () => shield.destroy());

    it("exits 0 and says so when the log is intact", async () => {
      const head = await shield.database.db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
      expect(head.seq).toBeGreaterThanOrEqual(3);
      const json = await runShield(["audit", "verify", "--json"], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ ok: true, checked: head.seq, head: { seq: head.seq, mac: head.hash }, problems: [] });
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

  describe("shield audit head and verify --anchor", () => {
    let shield: TestShield;
    let env: Record<string, string>;
    let dir: string;

    beforeAll(async () => {
      ({ shield, env } = await shieldWithOneReport(kind));
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-anchor-"));
    });
    afterAll(async () => {
      await shield.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("prints the head, records it in every backup, and checks a log against it later", async () => {
      const stored = await shield.database.db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
      const json = await runShield(["audit", "head", "--json"], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ seq: stored.seq, mac: stored.hash });
      expect((await runShield(["audit", "head"], env)).stdout).toBe(`${stored.seq} ${stored.hash}\n`);
      const anchorFile = path.join(dir, "anchor.json");
      fs.writeFileSync(anchorFile, json.stdout);

      const backup = await runShield(["backup", "--out", path.join(dir, "backup"), "--json"], env);
      expect(backup.code).toBe(0);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "backup", "manifest.json"), "utf8"));
      expect(manifest.auditHead).toEqual({ seq: stored.seq, hash: stored.hash });

      const fine = await runShield(["audit", "verify", "--anchor", anchorFile], env);
      expect(fine.code).toBe(0);
      expect(fine.stdout).toContain(`it still reaches the anchored head ${stored.seq}.`);
      expect((await runShield(["audit", "verify", "--anchor", path.join(dir, "backup", "manifest.json")], env)).code).toBe(0);

      // The last events go, and the head is moved back with them: only the anchor tells.
      const kept = await shield.database.db.selectFrom("audit_events").select(["seq", "hash"]).where("seq", "=", stored.seq - 1).executeTakeFirstOrThrow();
      await sql`delete from audit_events where seq = ${stored.seq}`.execute(shield.database.db);
      await sql`update audit_head set seq = ${kept.seq}, hash = ${kept.hash} where id = 1`.execute(shield.database.db);
      expect((await runShield(["audit", "verify"], env)).code).toBe(0);
      const cut = await runShield(["audit", "verify", "--anchor", anchorFile, "--json"], env);
      expect(cut.code).toBe(1);
      expect(JSON.parse(cut.stdout).problems).toEqual([{ seq: stored.seq, problem: "anchor", message: `the log no longer reaches the anchored head ${stored.seq}: it ends at event ${kept.seq}` }]);
    });

    it("refuses an anchor file that is not one", async () => {
      const file = path.join(dir, "not-an-anchor.json");
      fs.writeFileSync(file, '{"seq": "twelve"}');
      const result = await runShield(["audit", "verify", "--anchor", file], env);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`${file} is not an anchor`);
    });
  });

  describe("re-chaining a log written with plain SHA-256 (before migration 020)", () => {
    let shield: TestShield;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      await shield.addMember("admin");
      for (let i = 0; i < 3; i++) await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() });
    });
    afterAll(async () => shield.destroy());

    /** Turns the stored chain back into what an older Shield wrote: plain SHA-256, no key recorded. */
    async function writeAsBeforeMigration(db: Db, edit?: { seq: number; data: string }): Promise<{ seq: number; hash: string }> {
      const events = await db.selectFrom("audit_events").selectAll().orderBy("seq").execute();
      let prev = GENESIS_HASH;
      for (const event of events) {
        const plain = { ...event, prev_hash: prev };
        prev = computePlainEventHash(plain);
        const data = edit?.seq === event.seq ? edit.data : event.data;
        await sql`update audit_events set prev_hash = ${plain.prev_hash}, hash = ${prev}, data = ${data} where seq = ${event.seq}`.execute(db);
      }
      await sql`update audit_head set hash = ${prev}, key_id = null where id = 1`.execute(db);
      return { seq: events.at(-1)!.seq, hash: prev };
    }

    it("re-chains once with the key, recording how many events and the plain head, and verifies", async () => {
      const raw = shield.database.db.withoutPlugins() as Db;
      const plainHead = await writeAsBeforeMigration(raw);
      const masterKey = await loadMasterKey({ dataDir: shield.dataDir });
      await expect(verifyAuditLog(shield.database.db)).resolves.toMatchObject({ ok: false, problems: [{ problem: "wrong_key" }] });
      const [first, second] = await Promise.all([
        keyAuditLog(raw, masterKey, () => new Date().toISOString()),
        keyAuditLog(raw, masterKey, () => new Date().toISOString()),
      ]);
      const result = await verifyAuditLog(first);
      expect(result).toMatchObject({ ok: true, checked: plainHead.seq + 1 });
      expect((await verifyAuditLog(second)).ok).toBe(true);
      const rechained = await raw.selectFrom("audit_events").selectAll().where("action", "=", "audit.rechained").execute();
      expect(rechained).toHaveLength(1);
      expect(JSON.parse(rechained[0]!.data)).toEqual({ events: plainHead.seq, plainHead, problems: [], problemCount: 0 });
      // Every MAC changed: none of the plain hashes is left.
      expect(await raw.selectFrom("audit_events").select("seq").where("hash", "=", plainHead.hash).execute()).toEqual([]);
      await keyAuditLog(raw, masterKey, () => new Date().toISOString());
      expect((await readAuditHead(first)).seq).toBe(plainHead.seq + 1);
    });

    it("keeps what a check of the plain chain found before in the keyed log", async () => {
      const raw = shield.database.db.withoutPlugins() as Db;
      await writeAsBeforeMigration(raw, { seq: 2, data: '{"forged":true}' });
      const keyed = await keyAuditLog(raw, await loadMasterKey({ dataDir: shield.dataDir }), () => new Date().toISOString());
      expect((await verifyAuditLog(keyed)).ok).toBe(true);
      const last = await raw.selectFrom("audit_events").selectAll().where("action", "=", "audit.rechained").orderBy("seq", "desc").executeTakeFirstOrThrow();
      expect(JSON.parse(last.data)).toMatchObject({ problemCount: 1, problems: [expect.stringMatching(/^event 2 \(.+\) was edited/)] });
    });
  });
});
