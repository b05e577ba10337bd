import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Mail received for the program's addresses (SMTP listener or IMAP poller). Each row is
 * one message as it arrived: its raw original is a blob (`raw_sha256`), and it became a
 * report, a message in a report's thread, or a bounce recorded on a report. `dedup_key`
 * (Message-ID plus a hash of the message without its transport headers) is unique, so
 * the same message arriving twice, by either way in, is stored once.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());
  await db.schema
    .createTable("inbound_messages")
    .addColumn("id", id, pk)
    .addColumn("dedup_key", "text", (c) => c.notNull().unique())
    .addColumn("via", "text", (c) => c.notNull())
    .addColumn("message_id_header", "text")
    .addColumn("raw_sha256", "text", (c) => c.notNull())
    .addColumn("raw_size", "integer", (c) => c.notNull())
    .addColumn("envelope_from", "text")
    .addColumn("envelope_to", "text", (c) => c.notNull())
    .addColumn("remote_address", "text")
    .addColumn("from_address", "text")
    .addColumn("subject", "text")
    .addColumn("received_at", "text", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("report_id", "integer", (c) => c.references("reports.id"))
    .addColumn("thread_message_id", "integer", (c) => c.references("messages.id"))
    .addColumn("notes", "text", (c) => c.notNull())
    .addColumn("details", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("inbound_messages_report").on("inbound_messages").columns(["report_id", "id"]).execute();
  await db.schema.createIndex("inbound_messages_message_id").on("inbound_messages").columns(["message_id_header"]).execute();
}
