import { createHash } from "node:crypto";
import type { Executor, Tx } from "../../platform/db/database.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import { openJobSecret, sealJobSecret } from "../../platform/jobs/job-secrets.js";
import { normalizeAddress } from "./receipt-limit.js";

/** The key a recipient is counted under: a hash of the normalised address, so the table holds no address. */
export function recipientKeyOf(address: string): string {
  return createHash("sha256").update(normalizeAddress(address)).digest("hex");
}

/**
 * Takes the recipient's row for the rest of the transaction (created if new): on
 * PostgreSQL a row lock, so that processes counting receipts for one address do it one
 * after another; SQLite has one writer anyway. Returns the waiting digest's job id.
 */
export async function lockRecipient(tx: Tx, recipientKey: string): Promise<{ digestJobId: number | null }> {
  await tx.insertInto("receipt_recipients").values({ recipient_key: recipientKey, digest_job_id: null }).onConflict((oc) => oc.column("recipient_key").doNothing()).execute();
  const row = await tx
    .selectFrom("receipt_recipients")
    .select("digest_job_id")
    .where("recipient_key", "=", recipientKey)
    .$if(databaseKindOf(tx) === "postgres", (qb) => qb.forUpdate())
    .executeTakeFirstOrThrow();
  return { digestJobId: row.digest_job_id };
}

/** Names the digest job that collects the recipient's held-back receipts (null: none waits). */
export async function setDigestJob(tx: Tx, recipientKey: string, digestJobId: number | null): Promise<void> {
  await tx.updateTable("receipt_recipients").set({ digest_job_id: digestJobId }).where("recipient_key", "=", recipientKey).execute();
}

/** Forgets the waiting digest if it is still `digestJobId` (a later one may already wait). */
export async function clearDigestJob(tx: Tx, recipientKey: string, digestJobId: number): Promise<void> {
  await tx.updateTable("receipt_recipients").set({ digest_job_id: null }).where("recipient_key", "=", recipientKey).where("digest_job_id", "=", digestJobId).execute();
}

/** When mails went to the recipient after `since`; older ones are deleted on the way, they no longer count. */
export async function listMailTimesSince(tx: Tx, recipientKey: string, since: Date): Promise<Date[]> {
  const cutoff = since.toISOString();
  await tx.deleteFrom("receipt_mails").where("recipient_key", "=", recipientKey).where("sent_at", "<=", cutoff).execute();
  const rows = await tx.selectFrom("receipt_mails").select("sent_at").where("recipient_key", "=", recipientKey).where("sent_at", ">", cutoff).execute();
  return rows.map((row) => new Date(row.sent_at));
}

/** True when the job's mail was already counted (the job runs again after a crash or a failed send). */
export async function isMailOfJobCounted(db: Executor, jobId: number): Promise<boolean> {
  return (await db.selectFrom("receipt_mails").select("id").where("job_id", "=", jobId).executeTakeFirst()) !== undefined;
}

export async function recordMail(tx: Tx, recipientKey: string, at: Date, jobId: number): Promise<void> {
  await tx.insertInto("receipt_mails").values({ recipient_key: recipientKey, sent_at: at.toISOString(), job_id: jobId }).execute();
}

/** Held receipts' tokens are sealed as the digest job's own secrets would be. */
const SEALED_AS = { kind: "mail.receipt-digest", field: "secretTrackingToken" } as const;

/**
 * Holds one receipt back for the digest job `digestJobId`: one row, whatever the number
 * held before it. A report already held for that digest is left as it is (a receipt job
 * that runs again after a crash).
 */
export async function holdReceipt(tx: Tx, digestJobId: number, receipt: { reportId: number; trackingToken: string }): Promise<void> {
  await tx
    .insertInto("held_receipts")
    .values({ digest_job_id: digestJobId, report_id: receipt.reportId, sealed_tracking_token: sealJobSecret(tx, SEALED_AS.kind, SEALED_AS.field, receipt.trackingToken) })
    .onConflict((oc) => oc.columns(["digest_job_id", "report_id"]).doNothing())
    .execute();
}

/** The receipts held for a digest, in the order they were held, tokens opened. */
export async function listHeldReceipts(db: Executor, digestJobId: number): Promise<Array<{ reportId: number; trackingToken: string }>> {
  const rows = await db.selectFrom("held_receipts").select(["report_id", "sealed_tracking_token"]).where("digest_job_id", "=", digestJobId).orderBy("id").execute();
  return rows.map((row) => ({ reportId: row.report_id, trackingToken: openJobSecret(db, SEALED_AS.kind, SEALED_AS.field, row.sealed_tracking_token) }));
}

/** Drops a digest's held receipts, tokens and all, once it has gone out or has nothing left to send. */
export async function forgetHeldReceipts(db: Executor, digestJobId: number): Promise<void> {
  await db.deleteFrom("held_receipts").where("digest_job_id", "=", digestJobId).execute();
}
