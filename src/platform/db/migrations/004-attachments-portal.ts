import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Attachments (rows pointing at content-addressed blobs on disk), the per-report
 * escalation stamp that enforces "at most once per 12 hours", and the one-time
 * confirmations shown after the web form.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("attachments")
    .addColumn("id", id, pk)
    .addColumn("report_id", "integer", (c) => c.notNull().references("reports.id"))
    .addColumn("message_id", "integer", (c) => c.references("messages.id"))
    .addColumn("blob_sha256", "text", (c) => c.notNull())
    .addColumn("filename", "text", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("size", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("attachments_report").on("attachments").columns(["report_id", "id"]).execute();
  await db.schema.createIndex("attachments_blob").on("attachments").columns(["blob_sha256"]).execute();

  await db.schema
    .createTable("report_escalations")
    .addColumn("report_id", "integer", (c) => c.primaryKey().references("reports.id"))
    .addColumn("last_escalated_at", "text", (c) => c.notNull())
    .addColumn("count", "integer", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("report_confirmations")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("report_id", "integer", (c) => c.notNull().references("reports.id"))
    .addColumn("sealed_token", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("report_confirmations_expiry").on("report_confirmations").columns(["expires_at"]).execute();
}
