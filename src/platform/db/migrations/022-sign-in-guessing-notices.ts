import type { Kysely } from "kysely";

/**
 * When a member was last told by mail that their account is under password guessing
 * (its failed sign-ins reached the limit of the window). One row per member; a new
 * notice is sent only once the last one is a window old, so a long attack sends one
 * mail a window rather than one per attempt, whichever process counts the failure.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("sign_in_guessing_notices")
    .addColumn("user_id", "integer", (c) => c.primaryKey().references("users.id"))
    .addColumn("notified_at", "text", (c) => c.notNull())
    .execute();
}
