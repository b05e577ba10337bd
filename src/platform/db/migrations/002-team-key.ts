import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * The team's OpenPGP keys. Exactly one row has `slot = 'current'` (a unique column, so
 * two processes creating the first key at once cannot both succeed); replaced keys keep
 * their row with `slot` null and `retired_at` set, so mail encrypted to them still opens.
 * The private key is sealed with AES-256-GCM under the master key (`master_key_id` names
 * which one, to say so clearly when a process starts with another).
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("team_keys")
    .addColumn("id", id, pk)
    .addColumn("slot", "text", (c) => c.unique())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("algorithm", "text", (c) => c.notNull())
    .addColumn("user_ids", "text", (c) => c.notNull())
    .addColumn("key_created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text")
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("sealed_private_key", "text", (c) => c.notNull())
    .addColumn("master_key_id", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("stored_at", "text", (c) => c.notNull())
    .addColumn("retired_at", "text")
    .execute();
  await db.schema.createIndex("team_keys_fingerprint").on("team_keys").columns(["fingerprint"]).execute();
}
