import type { Executor, Tx } from "../../platform/db/database.js";
import { insertRow, runCompiledOnce } from "../../platform/db/compiled-once.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import { computeEventHash, describeActor, type Actor, type AuditEntry, type AuditEvent } from "./audit.js";

/**
 * Appends one event inside the caller's transaction. The `update … returning` on the
 * single head row takes a row lock on PostgreSQL (and SQLite serialises writers), so
 * concurrent appends from several processes queue up instead of forking the chain.
 */
export async function appendAuditEvent(tx: Tx, actor: Actor, entry: AuditEntry, at: string): Promise<AuditEvent> {
  // Taking the next number first takes the write lock first (SQLite) or the head row's lock
  // (PostgreSQL). On SQLite it is read back by a second statement rather than RETURNING,
  // which would make the full-text index write out its pending entries mid-transaction
  // (see insertReport).
  const bump = () =>
    tx
      .updateTable("audit_head")
      .set((eb) => ({ seq: eb("seq", "+", 1) }))
      .where("id", "=", 1);
  let head: { seq: number; hash: string } | undefined;
  if (databaseKindOf(tx) === "sqlite") {
    await runCompiledOnce(tx, "audit head: next number", [1, 1], bump);
    head = (await runCompiledOnce(tx, "audit head: read", [1], () => tx.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1))).rows[0];
  } else {
    head = (await runCompiledOnce(tx, "audit head: next number, returned", [1, 1], () => bump().returning(["seq", "hash"]))).rows[0];
  }
  if (!head) throw new Error("the audit log has no head row");
  const unsigned = {
    seq: head.seq,
    at,
    actor: describeActor(actor),
    action: entry.action,
    subject_type: entry.subjectType,
    subject_id: entry.subjectId,
    data: JSON.stringify(entry.data ?? {}),
    prev_hash: head.hash,
  };
  const event: AuditEvent = { ...unsigned, hash: computeEventHash(unsigned) };
  await insertRow(tx, "audit_events", event);
  await runCompiledOnce(tx, "audit head: hash", [event.hash, 1], () => tx.updateTable("audit_head").set({ hash: event.hash }).where("id", "=", 1));
  return event;
}

export async function listAuditEvents(db: Executor, afterSeq: number, limit: number): Promise<AuditEvent[]> {
  return db.selectFrom("audit_events").selectAll().where("seq", ">", afterSeq).orderBy("seq").limit(limit).execute();
}

export async function listAuditEventsFor(db: Executor, subjectType: string, subjectId: string): Promise<AuditEvent[]> {
  return db
    .selectFrom("audit_events")
    .selectAll()
    .where("subject_type", "=", subjectType)
    .where("subject_id", "=", subjectId)
    .orderBy("seq")
    .execute();
}

/**
 * The latest `limit` events about a subject, in log order, and how many there are in all:
 * a report the team opens often gathers thousands of `report.viewed` events.
 */
export async function listLatestAuditEventsFor(db: Executor, subjectType: string, subjectId: string, limit: number): Promise<{ events: AuditEvent[]; total: number }> {
  const [latest, counted] = await Promise.all([
    db.selectFrom("audit_events").selectAll().where("subject_type", "=", subjectType).where("subject_id", "=", subjectId).orderBy("seq", "desc").limit(limit).execute(),
    db
      .selectFrom("audit_events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("subject_type", "=", subjectType)
      .where("subject_id", "=", subjectId)
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

export async function readAuditHead(db: Executor): Promise<{ seq: number; hash: string }> {
  return db.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirstOrThrow();
}
