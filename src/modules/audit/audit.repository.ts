import type { Executor, Tx } from "../../platform/db/database.js";
import { insertRows, runCompiledOnce } from "../../platform/db/compiled-once.js";
import { writeAtCommit, type CommitWriter } from "../../platform/db/group-commit.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import { auditKeyOf } from "./audit-key.plugin.js";
import { computeEventMac, describeActor, type Actor, type AuditEntry, type AuditEvent } from "./audit.js";

/**
 * Appends one event inside the caller's transaction. The `update … returning` on the
 * single head row takes a row lock on PostgreSQL (and SQLite serialises writers), so
 * concurrent appends from several processes queue up instead of forking the chain.
 * The MAC is keyed with the key the handle carries (`keyAuditLog`).
 * @throws Error when the handle carries no audit key, or the chain is keyed with another
 * master key (or not yet re-chained): an event appended then would not verify.
 */
export async function appendAuditEvent(tx: Tx, actor: Actor, entry: AuditEntry, at: string): Promise<AuditEvent> {
  return (await appendAuditEvents(tx, [{ actor, entry, at }]))[0]!;
}

interface PendingAuditEvent {
  actor: Actor;
  entry: AuditEntry;
  at: string;
}

/** The events of a group commit's units, appended together, last, just before it commits. */
const auditEventsAtCommit: CommitWriter<PendingAuditEvent> = {
  order: 100,
  takesSharedLock: true,
  flush: async (tx, events) => {
    await appendAuditEvents(tx, events);
  },
};

/**
 * Appends one event as `appendAuditEvent` does, but in a group commit together with the
 * other units' events at its end (platform/db/group-commit.ts), so that the head is taken
 * once per batch and only for the moment before the commit. Events keep the order the
 * units ran in. Outside a group commit it appends at once.
 */
export function queueAuditEvent(tx: Tx, actor: Actor, entry: AuditEntry, at: string): Promise<void> {
  return writeAtCommit(tx, auditEventsAtCommit, { actor, entry, at });
}

/** Appends events in the order given, taking the head once for all of them. */
async function appendAuditEvents(tx: Tx, pending: readonly PendingAuditEvent[]): Promise<AuditEvent[]> {
  const key = auditKeyOf(tx);
  const count = pending.length;
  // Taking the numbers first takes the write lock first (SQLite) or the head row's lock
  // (PostgreSQL). On SQLite it is read back by a second statement rather than RETURNING,
  // which would make the full-text index write out its pending entries mid-transaction
  // (see insertReport).
  const bump = () =>
    tx
      .updateTable("audit_head")
      .set((eb) => ({ seq: eb("seq", "+", count) }))
      .where("id", "=", 1);
  let head: { seq: number; hash: string; key_id: string | null } | undefined;
  if (databaseKindOf(tx) === "sqlite") {
    await runCompiledOnce(tx, "audit head: next numbers", [count, 1], bump);
    head = (await runCompiledOnce(tx, "audit head: read", [1], () => tx.selectFrom("audit_head").select(["seq", "hash", "key_id"]).where("id", "=", 1))).rows[0];
  } else {
    head = (await runCompiledOnce(tx, "audit head: next numbers, returned", [count, 1], () => bump().returning(["seq", "hash", "key_id"]))).rows[0];
  }
  if (!head) throw new Error("the audit log has no head row");
  if (head.key_id !== key.id) throw new Error(auditKeyMismatch(head.key_id, key.id));
  let prevHash = head.hash;
  const events = pending.map(({ actor, entry, at }, index): AuditEvent => {
    const unsigned = {
      seq: Number(head.seq) - count + 1 + index,
      at,
      actor: describeActor(actor),
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId,
      data: JSON.stringify(entry.data ?? {}),
      prev_hash: prevHash,
    };
    prevHash = computeEventMac(key, unsigned);
    return { ...unsigned, hash: prevHash };
  });
  if (databaseKindOf(tx) === "postgres") {
    // One round trip fewer while every other committer waits for the head: the events and the head's new MAC in one statement.
    await tx
      .with("inserted", (db) => db.insertInto("audit_events").values(events).returning("seq"))
      .updateTable("audit_head")
      .set({ hash: prevHash })
      .where("id", "=", 1)
      .execute();
    return events;
  }
  await insertRows(tx, "audit_events", events);
  await runCompiledOnce(tx, "audit head: hash", [prevHash, 1], () => tx.updateTable("audit_head").set({ hash: prevHash }).where("id", "=", 1));
  return events;
}

export async function listAuditEvents(db: Executor, afterSeq: number, limit: number): Promise<AuditEvent[]> {
  return db.selectFrom("audit_events").selectAll().where("seq", ">", afterSeq).orderBy("seq").limit(limit).execute();
}

export async function listAuditEventsFor(db: Executor, subjectType: string, subjectId: string, options: { exceptActions?: readonly string[] } = {}): Promise<AuditEvent[]> {
  let query = db.selectFrom("audit_events").selectAll().where("subject_type", "=", subjectType).where("subject_id", "=", subjectId);
  if (options.exceptActions?.length) query = query.where("action", "not in", options.exceptActions);
  return query.orderBy("seq").execute();
}

/**
 * The latest `limit` events about a subject, in log order, and how many there are in all:
 * a report the team opens often gathers thousands of `report.viewed` events.
 */
export async function listLatestAuditEventsFor(
  db: Executor,
  subjectType: string,
  subjectId: string,
  limit: number,
  options: { exceptActions?: readonly string[] } = {},
): Promise<{ events: AuditEvent[]; total: number }> {
  const except = options.exceptActions ?? [];
  const [latest, counted] = await Promise.all([
    db
      .selectFrom("audit_events")
      .selectAll()
      .where("subject_type", "=", subjectType)
      .where("subject_id", "=", subjectId)
      .$if(except.length > 0, (q) => q.where("action", "not in", except))
      .orderBy("seq", "desc")
      .limit(limit)
      .execute(),
    db
      .selectFrom("audit_events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("subject_type", "=", subjectType)
      .where("subject_id", "=", subjectId)
      .$if(except.length > 0, (q) => q.where("action", "not in", except))
      .executeTakeFirstOrThrow(),
  ]);
  return { events: latest.reverse(), total: Number(counted.n) };
}

/** One kind of event (`action`) about several subjects of a type, in log order. */
export async function listAuditEventsOf(db: Executor, subjectType: string, subjectIds: readonly string[], action: string): Promise<AuditEvent[]> {
  if (subjectIds.length === 0) return [];
  return db
    .selectFrom("audit_events")
    .selectAll()
    .where("subject_type", "=", subjectType)
    .where("subject_id", "in", subjectIds)
    .where("action", "=", action)
    .orderBy("seq")
    .execute();
}

/** Why a chain cannot be appended to or verified with this process's key. */
export function auditKeyMismatch(chainKeyId: string | null, keyId: string): string {
  return chainKeyId === null
    ? "the audit log is not keyed yet: it is re-chained when a process with the master key starts (keyAuditLog)"
    : `the audit log is keyed with master key ${chainKeyId}, but this process has master key ${keyId}`;
}

/** The last event's number and MAC, and the master key the chain is keyed with (null: not re-chained yet). */
export async function readAuditHeadRow(db: Executor): Promise<{ seq: number; hash: string; key_id: string | null }> {
  return db.selectFrom("audit_head").select(["seq", "hash", "key_id"]).where("id", "=", 1).executeTakeFirstOrThrow();
}
