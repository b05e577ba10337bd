import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import { runInTransaction, type GroupCommit } from "../../platform/db/group-commit.js";
import { defineJob, enqueue } from "../../platform/jobs/job.js";
import { findJob, readJobForUpdate } from "../../platform/jobs/outbox.repository.js";
import { decideReceipt, type ReceiptLimit } from "./receipt-limit.js";
import { clearDigestJob, forgetHeldReceipts, holdReceipt, isMailOfJobCounted, listHeldReceipts, listMailTimesSince, lockRecipient, recipientKeyOf, recordMail, setDigestJob } from "./receipt-limit.repository.js";

const heldReceipt = z.object({ reportId: z.number().int().positive(), trackingToken: z.string() });

/** One receipt held back for a digest: the report and the reporter's tracking token. */
export type HeldReceipt = z.output<typeof heldReceipt>;

/**
 * The job that mails a recipient's held-back receipts together, once the window allows.
 * Its payload names the recipient; the receipts are rows of `held_receipts`, each token
 * sealed, deleted once the digest has gone out. `secretReceipts` is how a digest enqueued
 * before those rows carried them (sealed like any job secret): such a digest is still sent.
 */
export const RECEIPT_DIGEST_JOB = defineJob({ kind: "mail.receipt-digest", payload: z.object({ to: z.string(), secretReceipts: z.array(heldReceipt).optional() }) });

const digestRecipient = z.object({ to: z.string() });

export type ReceiptAdmission = "send" | "folded" | "own_address";

/**
 * Decides, and records in one transaction, what becomes of one receipt: mailed now (and
 * counted), held back for the recipient's digest, or not mailed at all (one of Shield's
 * own addresses). Any channel's receipt job calls this before it mails; the count is a
 * table, so processes sharing a PostgreSQL database share it. A job that runs again after
 * its mail was counted is told to send without counting twice. With `commits`, receipts
 * admitted at the same moment share one commit; each is decided after the ones before it
 * in that transaction, and answered only once the commit is on disk.
 */
export async function admitReceipt(
  db: Db,
  limit: ReceiptLimit,
  input: { recipient: string; ownAddresses: readonly string[]; jobId: number; receipt: HeldReceipt; now: Date },
  commits?: GroupCommit,
): Promise<ReceiptAdmission> {
  return runInTransaction(db, commits, async (tx) => {
    const key = recipientKeyOf(input.recipient);
    const { digestJobId } = await lockRecipient(tx, key);
    if (await isMailOfJobCounted(tx, input.jobId)) return "send";
    const digest = digestJobId === null ? undefined : await readJobForUpdate(tx, digestJobId);
    const waiting = digest?.state === "pending" ? digest : undefined;
    const sentAt = await listMailTimesSince(tx, key, new Date(input.now.getTime() - limit.windowMs));
    const decision = decideReceipt(limit, { recipient: input.recipient, ownAddresses: input.ownAddresses, sentAt, digestWaiting: waiting !== undefined, now: input.now });
    if (decision.kind === "own_address") return "own_address";
    if (decision.kind === "send") {
      await recordMail(tx, key, input.now, input.jobId);
      return "send";
    }
    // One row per receipt held: the thousandth costs what the first did.
    if (waiting) {
      await holdReceipt(tx, digestJobId!, input.receipt);
      return "folded";
    }
    const id = await enqueue(tx, RECEIPT_DIGEST_JOB, { to: input.recipient }, input.now, { runAt: decision.digestDueAt });
    await holdReceipt(tx, id, input.receipt);
    await setDigestJob(tx, key, id);
    return "folded";
  });
}

/**
 * Takes the receipts a running digest job collects, as they are now (receipts held back
 * after the job was claimed are among them), and counts the digest as one mail. From here
 * on, later receipts start a new digest. Safe to call again when the job is retried; once
 * forgetDigest has run, it finds no receipts.
 */
export async function takeDigest(db: Db, jobId: number, now: Date): Promise<{ to: string; receipts: HeldReceipt[] }> {
  return db.transaction().execute(async (tx) => {
    // The recipient first, then the job, in the order admitReceipt takes them.
    const found = await findJob(tx, jobId);
    if (!found) throw new Error(`digest job ${jobId} is gone`);
    // As stored: its secrets (an earlier digest's receipts) still sealed.
    const { to } = digestRecipient.parse(JSON.parse(found.payload));
    const key = recipientKeyOf(to);
    await lockRecipient(tx, key);
    // Read under the recipient's lock: a receipt held back since the claim is among them.
    const current = RECEIPT_DIGEST_JOB.payload.parse((await readJobForUpdate(tx, jobId))!.payload);
    const receipts: HeldReceipt[] = [];
    const seen = new Set<number>();
    for (const held of [...(current.secretReceipts ?? []), ...(await listHeldReceipts(tx, jobId))]) {
      if (seen.has(held.reportId)) continue;
      seen.add(held.reportId);
      receipts.push(held);
    }
    await clearDigestJob(tx, key, jobId);
    if (!(await isMailOfJobCounted(tx, jobId))) await recordMail(tx, key, now, jobId);
    return { to, receipts };
  });
}

/** Drops the tracking tokens a digest collected, once it has been mailed (or had no report left to mail). */
export async function forgetDigest(db: Db, jobId: number): Promise<void> {
  await forgetHeldReceipts(db, jobId);
}
