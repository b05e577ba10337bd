import type { Kysely } from "kysely";

/** An API token may expire: null keeps it valid until revoked, as every token made before. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_tokens").addColumn("expires_at", "text").execute();
}
