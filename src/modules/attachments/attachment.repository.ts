import type { Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { AttachmentsTable } from "../../platform/db/schema.js";
import type { Attachment } from "./attachment.js";

function toAttachment(row: Selectable<AttachmentsTable>): Attachment {
  return {
    id: row.id,
    reportId: row.report_id,
    messageId: row.message_id,
    sha256: row.blob_sha256,
    filename: row.filename,
    contentType: row.content_type,
    size: Number(row.size),
    createdAt: row.created_at,
    browserEncrypted: Number(row.browser_encrypted) === 1,
  };
}

export async function insertAttachment(db: Executor, attachment: Omit<Attachment, "id">): Promise<Attachment> {
  const row = await db
    .insertInto("attachments")
    .values({
      report_id: attachment.reportId,
      message_id: attachment.messageId,
      blob_sha256: attachment.sha256,
      filename: attachment.filename,
      content_type: attachment.contentType,
      size: attachment.size,
      created_at: attachment.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAttachment(row);
}

export async function listAttachments(db: Executor, reportId: number): Promise<Attachment[]> {
  const rows = await db.selectFrom("attachments").selectAll().where("report_id", "=", reportId).orderBy("id").execute();
  return rows.map(toAttachment);
}

export async function findAttachment(db: Executor, reportId: number, attachmentId: number): Promise<Attachment | undefined> {
  const row = await db.selectFrom("attachments").selectAll().where("id", "=", attachmentId).where("report_id", "=", reportId).executeTakeFirst();
  return row && toAttachment(row);
}

/** Which of these blobs some attachment row names. */
export async function referencedBlobs(db: Executor, sha256s: readonly string[]): Promise<Set<string>> {
  if (sha256s.length === 0) return new Set();
  const rows = await db.selectFrom("attachments").select("blob_sha256").distinct().where("blob_sha256", "in", [...sha256s]).execute();
  return new Set(rows.map((row) => row.blob_sha256));
}
