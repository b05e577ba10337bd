import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Team sign-in: passwords, TOTP, recovery codes, passkeys, server-side sessions,
 * invite links and the failed-attempt log behind the sign-in rate limits.
 * Every secret a person presents (session id, invite link, recovery code) is stored
 * only as its SHA-256; passwords as argon2id; TOTP secrets sealed under the master key.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("user_passwords")
    .addColumn("user_id", "integer", (c) => c.primaryKey().references("users.id"))
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("changed_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("user_totp")
    .addColumn("user_id", "integer", (c) => c.primaryKey().references("users.id"))
    .addColumn("sealed_secret", "text")
    .addColumn("enrolled_at", "text")
    .addColumn("last_step", "integer")
    .addColumn("pending_sealed_secret", "text")
    .addColumn("pending_since", "text")
    .execute();

  await db.schema
    .createTable("recovery_codes")
    .addColumn("id", id, pk)
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id"))
    .addColumn("code_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .execute();
  await db.schema.createIndex("recovery_codes_user").on("recovery_codes").columns(["user_id"]).execute();

  await db.schema
    .createTable("passkeys")
    .addColumn("id", id, pk)
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id"))
    .addColumn("credential_id", "text", (c) => c.notNull().unique())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("counter", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("transports", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .execute();
  await db.schema.createIndex("passkeys_user").on("passkeys").columns(["user_id"]).execute();

  await db.schema
    .createTable("sessions")
    .addColumn("id", id, pk)
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sessions_user").on("sessions").columns(["user_id"]).execute();
  await db.schema.createIndex("sessions_expires").on("sessions").columns(["expires_at"]).execute();

  await db.schema
    .createTable("invites")
    .addColumn("id", id, pk)
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .execute();
  await db.schema.createIndex("invites_user").on("invites").columns(["user_id"]).execute();

  await db.schema
    .createTable("sign_in_failures")
    .addColumn("id", id, pk)
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sign_in_failures_key").on("sign_in_failures").columns(["scope", "key", "at"]).execute();
}
