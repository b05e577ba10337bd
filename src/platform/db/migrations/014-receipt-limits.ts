import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * What several processes must count together (issue 12, "not a mail cannon"):
 * - `receipt_mails`: each receipt or digest mailed to a recipient, for the per-recipient limit;
 *   `job_id` makes a retried job count once.
 * - `receipt_recipients`: one row per recipient, locked while a receipt is counted, naming
 *   the digest job that collects the receipts held back.
 * - `rate_limit_counts`: hits per client address and fixed window for the intake limit.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());
  await db.schema
    .createTable("receipt_mails")
    .addColumn("id", id, pk)
    .addColumn("recipient_key", "text", (c) => c.notNull())
    .addColumn("sent_at", "text", (c) => c.notNull())
    .addColumn("job_id", "integer", (c) => c.unique())
    .execute();
  await db.schema.createIndex("receipt_mails_recipient").on("receipt_mails").columns(["recipient_key", "sent_at"]).execute();
  await db.schema
    .createTable("receipt_recipients")
    .addColumn("recipient_key", "text", (c) => c.primaryKey())
    .addColumn("digest_job_id", "integer")
    .execute();
  await db.schema
    .createTable("rate_limit_counts")
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("window_start", "text", (c) => c.notNull())
    .addColumn("hits", "integer", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("rate_limit_counts_pk", ["key", "window_start"])
    .execute();
  await db.schema.createIndex("rate_limit_counts_expiry").on("rate_limit_counts").columns(["expires_at"]).execute();
}
