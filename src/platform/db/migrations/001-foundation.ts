import { sql, type Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/** Reports, messages, people, API tokens, settings, the outbox and the audit chain. */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("settings")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("users")
    .addColumn("id", id, pk)
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("disabled_at", "text")
    .execute();

  await db.schema
    .createTable("api_tokens")
    .addColumn("id", id, pk)
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .addColumn("revoked_at", "text")
    .execute();

  await db.schema
    .createTable("reports")
    .addColumn("id", id, pk)
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("steps", "text")
    .addColumn("impact", "text")
    .addColumn("asset", "text")
    .addColumn("reporter_name", "text", (c) => c.notNull())
    .addColumn("reporter_email", "text", (c) => c.notNull())
    .addColumn("reporter_pgp_key", "text")
    .addColumn("credit_name", "text")
    .addColumn("credit_url", "text")
    .addColumn("ai_used", "integer")
    .addColumn("severity", "text")
    .addColumn("owner_id", "integer", (c) => c.references("users.id"))
    .addColumn("duplicate_of", "integer", (c) => c.references("reports.id"))
    .addColumn("tracking_hash", "text", (c) => c.notNull().unique())
    .addColumn("received_at", "text", (c) => c.notNull())
    .addColumn("acknowledged_at", "text")
    .addColumn("triaged_at", "text")
    .addColumn("resolved_at", "text")
    .addColumn("closed_at", "text")
    .addColumn("disclosed_at", "text")
    .addColumn("needs_info_since", "text")
    .addColumn("state_before_needs_info", "text")
    .addColumn("paused_ms", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("reports_state_channel").on("reports").columns(["state", "channel", "id"]).execute();
  await db.schema.createIndex("reports_received").on("reports").columns(["received_at"]).execute();

  await db.schema
    .createTable("messages")
    .addColumn("id", id, pk)
    .addColumn("report_id", "integer", (c) => c.notNull().references("reports.id"))
    .addColumn("author_kind", "text", (c) => c.notNull())
    .addColumn("author_user_id", "integer", (c) => c.references("users.id"))
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("internal", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("messages_report").on("messages").columns(["report_id", "id"]).execute();

  await db.schema
    .createTable("jobs")
    .addColumn("id", id, pk)
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_attempts", "integer", (c) => c.notNull())
    .addColumn("run_at", "text", (c) => c.notNull())
    .addColumn("locked_by", "text")
    .addColumn("locked_until", "text")
    .addColumn("last_error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text")
    .execute();
  await db.schema.createIndex("jobs_due").on("jobs").columns(["state", "run_at"]).execute();

  await db.schema
    .createTable("audit_events")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("subject_type", "text", (c) => c.notNull())
    .addColumn("subject_id", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("prev_hash", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_subject").on("audit_events").columns(["subject_type", "subject_id", "seq"]).execute();

  await db.schema
    .createTable("audit_head")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();
  await sql`insert into audit_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);
}

/** The hash the first audit event chains from. */
export const GENESIS_HASH = "0".repeat(64);
