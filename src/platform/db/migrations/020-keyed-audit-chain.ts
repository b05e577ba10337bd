import type { Kysely } from "kysely";

/**
 * The audit chain becomes an HMAC keyed from the master key. SQL cannot read the master
 * key, so this only adds where the key is recorded; the existing chain is re-chained once
 * when a process that holds the master key starts (`keyAuditLog`, decision 0017).
 * Until then `key_id` is null: the chain is plain SHA-256.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("audit_head").addColumn("key_id", "text").execute();
}
