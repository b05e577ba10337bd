import type { Kysely } from "kysely";

/**
 * Every failed sign-in deletes the failures older than the window (`delete … where at <= ?`),
 * which the (scope, key, at) index cannot serve: during a spread-out password-guessing
 * attack the table holds every address's recent failures, and each failure scanned them all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("sign_in_failures_at").on("sign_in_failures").columns(["at"]).execute();
}
