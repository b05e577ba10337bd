import type { BlobStore, StagedBlob } from "../../platform/blobs/blob-store.js";
import { sniffFile } from "../../platform/blobs/content-sniffer.js";
import { startsWithEncryptedSessionKey } from "../../platform/crypto/openpgp-message.js";
import type { Db, Executor } from "../../platform/db/database.js";
import { Readable } from "node:stream";
import type { Clock } from "../../shared/clock.js";
import { ReportNotFoundError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { findReport } from "../reports/index.js";
import { AttachmentNotEncryptedError, AttachmentNotFoundError, classifyContent, type Attachment } from "./attachment.js";
import { findAttachment, insertAttachment, listAttachments, referencedBlobs } from "./attachment.repository.js";

/** A received file that passed the content check, still in the staging area. */
export interface AcceptedUpload {
  blob: StagedBlob;
  filename: string;
  contentType: string;
}

export type UploadOutcome = { ok: true; upload: AcceptedUpload } | { ok: false; why: string };

/**
 * Receives one file into the staging area and judges it by its bytes. A refused file
 * is removed at once; an accepted one waits for `storeUploads` or `discardUploads`.
 */
export async function stageUpload(blobs: BlobStore, source: AsyncIterable<Uint8Array>, filename: string, options: { allowOpenPgp?: boolean } = {}): Promise<UploadOutcome> {
  const blob = await blobs.stage(source);
  try {
    // A file encrypted in the reporter's browser: opaque bytes, checked whole by the
    // browser-encryption module before anything is stored.
    if (options.allowOpenPgp && (await startsWithEncryptedSessionKey(blob.tempPath))) {
      return { ok: true, upload: { blob, filename, contentType: "application/pgp-encrypted" } };
    }
    const verdict = classifyContent(await sniffFile(blob.tempPath));
    if (!verdict.ok) {
      await blobs.discard(blob);
      return { ok: false, why: verdict.why };
    }
    return { ok: true, upload: { blob, filename, contentType: verdict.contentType } };
  } catch (error) {
    await blobs.discard(blob);
    throw error;
  }
}

/**
 * The bytes of a text field that was not valid UTF-8, staged as a file to be kept with the
 * report or reply: the text itself can only be stored with U+FFFD where bytes could not be
 * read, so what was sent is kept here, byte for byte (downloaded only, never shown).
 */
export async function stageTextAsSent(blobs: BlobStore, label: string, bytes: Buffer): Promise<AcceptedUpload> {
  const blob = await blobs.stage(Readable.from([bytes]));
  return { blob, filename: `${label}${AS_SENT_SUFFIX}`, contentType: AS_SENT_CONTENT_TYPE };
}

/** No file a reporter attaches is recorded under this type (the content check names every accepted one). */
const AS_SENT_CONTENT_TYPE = "application/octet-stream";
const AS_SENT_SUFFIX = " as sent (not valid UTF-8).txt";

/** The labels of the fields whose bytes `stageTextAsSent` kept among these attachments. */
export function labelsKeptAsSent(attachments: ReadonlyArray<Pick<Attachment, "filename" | "contentType">>): string[] {
  return attachments.filter((a) => a.contentType === AS_SENT_CONTENT_TYPE && a.filename.endsWith(AS_SENT_SUFFIX)).map((a) => a.filename.slice(0, -AS_SENT_SUFFIX.length));
}

/** Makes accepted uploads durable in the blob store. Runs before the transaction that records them commits. */
export async function storeUploads(blobs: BlobStore, uploads: AcceptedUpload[]): Promise<void> {
  for (const upload of uploads) await blobs.commit(upload.blob);
}

export async function discardUploads(blobs: BlobStore, uploads: AcceptedUpload[]): Promise<void> {
  await Promise.all(uploads.map((u) => blobs.discard(u.blob)));
}

/** Records stored uploads for a report (and the reporter's reply), inside the caller's transaction. */
export async function recordAttachments(tx: Executor, target: { reportId: number; messageId: number | null }, uploads: AcceptedUpload[], at: string): Promise<Attachment[]> {
  const out: Attachment[] = [];
  for (const upload of uploads) {
    out.push(
      await insertAttachment(tx, {
        reportId: target.reportId,
        messageId: target.messageId,
        sha256: upload.blob.sha256,
        filename: upload.filename,
        contentType: upload.contentType,
        size: upload.blob.size,
        createdAt: at,
      }),
    );
  }
  return out;
}

/** For the reporter's own tracking page (the link is their identity; not a team read). */
export async function listAttachmentsOfReport(db: Executor, reportId: number): Promise<Attachment[]> {
  return listAttachments(db, reportId);
}

/**
 * A report's attachments for the team, audited like reading the report.
 * @throws ReportNotFoundError
 */
export async function listAttachmentsAsTeam(db: Db, clock: Clock, actor: Actor, reportId: number): Promise<Attachment[]> {
  return db.transaction().execute(async (tx) => {
    if (!(await findReport(tx, reportId))) throw ReportNotFoundError(reportId);
    const attachments = await listAttachments(tx, reportId);
    await appendAuditEvent(tx, actor, { action: "attachments.listed", subjectType: "report", subjectId: String(reportId) }, clock.now().toISOString());
    return attachments;
  });
}

/**
 * Opens an attachment for a team member to download; the download is in the audit log
 * before the first byte leaves.
 * @throws ReportNotFoundError, AttachmentNotFoundError
 */
export async function openAttachmentAsTeam(
  db: Db,
  clock: Clock,
  actor: Actor,
  blobs: BlobStore,
  reportId: number,
  attachmentId: number,
  options: { decrypted?: boolean } = {},
): Promise<{ attachment: Attachment; stream: Readable; size: number }> {
  const attachment = await db.transaction().execute(async (tx) => {
    if (!(await findReport(tx, reportId))) throw ReportNotFoundError(reportId);
    const found = await findAttachment(tx, reportId, attachmentId);
    if (!found) throw AttachmentNotFoundError(reportId, attachmentId);
    if (options.decrypted && !found.browserEncrypted) throw AttachmentNotEncryptedError(reportId, attachmentId);
    await appendAuditEvent(
      tx,
      actor,
      { action: "attachment.downloaded", subjectType: "report", subjectId: String(reportId), data: { attachmentId, sha256: found.sha256, ...(options.decrypted ? { decrypted: true } : {}) } },
      clock.now().toISOString(),
    );
    return found;
  });
  const { stream, size } = await blobs.open(attachment.sha256);
  return { attachment, stream, size };
}

/** Files a crash can leave behind are this old before start-up removes them: no upload or commit in progress is that slow. */
export const STALE_FILE_AGE_MS = 60 * 60_000;

/**
 * Start-up clean-up after crashes: staging files of uploads that never finished, and blobs
 * no attachment row names (their report never committed). Only files older than
 * `STALE_FILE_AGE_MS`: another process on the same PostgreSQL database may be committing
 * a blob right now, between its link into the store and its row's commit.
 */
export async function removeLeftoverBlobs(db: Executor, blobs: BlobStore, now: Date): Promise<{ staging: number; unreferenced: number }> {
  return blobs.removeLeftovers(new Date(now.getTime() - STALE_FILE_AGE_MS), (sha256s) => referencedBlobs(db, sha256s));
}
