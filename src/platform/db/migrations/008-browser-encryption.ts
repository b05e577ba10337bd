import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Reports and attachments encrypted in the reporter's browser to the team key: the
 * stored description, steps and impact (armoured) and attachments (binary OpenPGP
 * messages) are the ciphertext exactly as received, and this flag says so (0/1).
 */
export async function up(db: Kysely<any>, _kind: DatabaseKind): Promise<void> {
  await db.schema.alterTable("reports").addColumn("browser_encrypted", "integer", (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable("attachments").addColumn("browser_encrypted", "integer", (c) => c.notNull().defaultTo(0)).execute();
}
