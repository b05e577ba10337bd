import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Where the IMAP poller got to in each mailbox: the highest UID finished, per UIDVALIDITY.
 * A restart starts after it; a new UIDVALIDITY (the server renumbered the folder) has no
 * row yet, so the folder is read again and the messages' dedup keys recognise what is
 * stored. UIDs go up to 2^32 - 1, beyond PostgreSQL's integer.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  await db.schema
    .createTable("imap_cursors")
    .addColumn("mailbox", "text", (c) => c.notNull())
    .addColumn("uid_validity", "text", (c) => c.notNull())
    .addColumn("last_uid", kind === "postgres" ? "bigint" : "integer", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("imap_cursors_pk", ["mailbox", "uid_validity"])
    .execute();
}
