import { sql } from "kysely";
import type { Db, Tx } from "../../platform/db/database.js";
import { GENESIS_HASH } from "../../platform/db/migrations/001-foundation.js";
import { auditKeyOf, deriveAuditKey, withAuditKey } from "./audit-key.plugin.js";
import { computeEventMac, computePlainEventHash, verifyChainSegment, type AuditKey, type ChainProblem } from "./audit.js";
import { appendAuditEvent, auditKeyMismatch, listAuditEvents, readAuditHeadRow } from "./audit.repository.js";

/** Where the log ends: the last event's number and MAC. Anchored outside the server, it is what the log must still reach later. */
export interface AuditHead {
  seq: number;
  mac: string;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  head: AuditHead;
  problems: ChainProblem[];
}

/** The head as it is now, for `shield audit head` and the backup manifest. */
export async function readAuditHead(db: Db | Tx): Promise<AuditHead> {
  const row = await readAuditHeadRow(db);
  return { seq: row.seq, mac: row.hash };
}

/**
 * Walks the whole log in pages and checks every MAC and link with the key the handle
 * carries, then compares the end of the chain with the head row, which catches events
 * deleted from the end. With an `anchor` (a head recorded earlier, kept outside the
 * server) it also checks that the log still passes through that event with that MAC:
 * someone who holds the database but not the anchor cannot cut the log back or rewrite
 * it, even with the master key, without this failing.
 *
 * It reads one snapshot (repeatable read on PostgreSQL, a read transaction on SQLite):
 * a server keeps appending while an operator verifies, and events committed after the
 * head was read would otherwise be named as inserted, or chased page after page forever.
 * On SQLite the snapshot holds the connection, so run it from its own process (the CLI).
 */
export async function verifyAuditLog(db: Db, options: { anchor?: AuditHead; onProgress?: (checked: number, total: number) => void } = {}): Promise<AuditVerification> {
  const key = auditKeyOf(db);
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute((tx) => verifySnapshot(tx, key, options));
}

async function verifySnapshot(db: Tx, key: AuditKey, options: { anchor?: AuditHead; onProgress?: (checked: number, total: number) => void }): Promise<AuditVerification> {
  const row = await readAuditHeadRow(db);
  const head = { seq: row.seq, mac: row.hash };
  if (row.key_id !== key.id) {
    return { ok: false, checked: 0, head, problems: [{ seq: row.seq, problem: "wrong_key", message: auditKeyMismatch(row.key_id, key.id) }] };
  }
  const mac = (event: Parameters<typeof computeEventMac>[1]) => computeEventMac(key, event);
  let expected = { seq: 0, hash: GENESIS_HASH };
  let checked = 0;
  let anchorSeen: string | undefined;
  const problems: ChainProblem[] = [];
  for (;;) {
    const page = await listAuditEvents(db, expected.seq, 5000);
    if (page.length === 0) break;
    const result = verifyChainSegment(page, expected, mac);
    problems.push(...result.problems);
    if (options.anchor) anchorSeen ??= page.find((event) => event.seq === options.anchor!.seq)?.hash;
    expected = result.next;
    checked += page.length;
    options.onProgress?.(checked, head.seq);
  }
  if (expected.seq < head.seq) {
    for (let missing = expected.seq + 1; missing <= head.seq; missing++) {
      problems.push({ seq: missing, problem: "missing", message: `event ${missing} is missing: it was deleted from the end of the log` });
    }
  } else if (expected.seq > head.seq || (expected.seq === head.seq && expected.hash !== head.mac)) {
    problems.push({ seq: expected.seq, problem: "inserted", message: `event ${expected.seq} is past the recorded end of the log: it was inserted` });
  }
  const anchor = options.anchor;
  if (anchor && anchor.seq > 0 && anchorSeen !== anchor.mac) {
    problems.push({
      seq: anchor.seq,
      problem: "anchor",
      message:
        anchorSeen === undefined
          ? `the log no longer reaches the anchored head ${anchor.seq}: it ends at event ${expected.seq}`
          : `event ${anchor.seq} is not the anchored one (MAC ${anchor.mac}): the log was rewritten up to it`,
    });
  }
  return { ok: problems.length === 0, checked, head, problems };
}

/** Events re-chained per statement: three parameters each, under SQLite's 32,766. */
const RECHAIN_PAGE = 2000;

/**
 * The database handle to use from now on: `db` carrying the audit key derived from the
 * master key. A chain still written with plain SHA-256 (every log from before migration
 * 014) is re-chained first, once, in one transaction that holds the head row, so that
 * processes starting together do it once between them: every MAC is recomputed with the
 * key, the head records the master key's id, and an `audit.rechained` event says how many
 * events were re-chained, the plain head they ended at, and what a check of the plain
 * chain found before (a log tampered with before the upgrade stays marked so in the keyed
 * one). Decision 0013.
 * @throws Error when the chain is keyed with another master key.
 */
export async function keyAuditLog(db: Db, masterKey: { id: string; bytes: Uint8Array }, at: () => string): Promise<Db> {
  const key = deriveAuditKey(masterKey);
  const keyed = withAuditKey(db, key);
  const current = await readAuditHeadRow(db);
  if (current.key_id === key.id) return keyed;
  if (current.key_id !== null) throw new Error(auditKeyMismatch(current.key_id, key.id));
  await keyed.transaction().execute(async (tx) => {
    // Holding the head row (PostgreSQL) or the write lock (SQLite) makes a second process wait here, then find the chain keyed.
    await tx.updateTable("audit_head").set((eb) => ({ seq: eb.ref("seq") })).where("id", "=", 1).execute();
    const head = await readAuditHeadRow(tx);
    if (head.key_id === key.id) return;
    if (head.key_id !== null) throw new Error(auditKeyMismatch(head.key_id, key.id));
    const problems: ChainProblem[] = [];
    let plain = { seq: 0, hash: GENESIS_HASH };
    let prevMac = GENESIS_HASH;
    let count = 0;
    for (;;) {
      const page = await listAuditEvents(tx, plain.seq, RECHAIN_PAGE);
      if (page.length === 0) break;
      const checked = verifyChainSegment(page, plain, computePlainEventHash);
      problems.push(...checked.problems);
      plain = checked.next;
      const rows = page.map((event) => {
        const rechained = { ...event, prev_hash: prevMac };
        prevMac = computeEventMac(key, rechained);
        return sql`(cast(${event.seq} as integer), ${rechained.prev_hash}, ${prevMac})`;
      });
      await sql`with v(seq, prev_mac, mac) as (values ${sql.join(rows)})
        update audit_events set prev_hash = v.prev_mac, hash = v.mac from v where audit_events.seq = v.seq`.execute(tx);
      count += page.length;
    }
    if (plain.seq !== head.seq || plain.hash !== head.hash) {
      problems.push({ seq: plain.seq, problem: "inserted", message: `the plain chain ended at event ${plain.seq}, not at the recorded head ${head.seq}` });
    }
    await tx.updateTable("audit_head").set({ hash: prevMac, key_id: key.id, seq: Math.max(head.seq, plain.seq) }).where("id", "=", 1).execute();
    // A new database has nothing to re-chain: it is keyed from its first event.
    if (count === 0 && head.seq === 0) return;
    await appendAuditEvent(tx, { kind: "system" }, {
      action: "audit.rechained",
      subjectType: "audit",
      subjectId: "chain",
      data: { events: count, plainHead: { seq: head.seq, hash: head.hash }, problems: problems.slice(0, 50).map((p) => p.message), problemCount: problems.length },
    }, at());
  });
  return keyed;
}
