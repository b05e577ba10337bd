import type { Kysely } from "kysely";

/** The year a hall-of-fame entry is thanked for, when the imported list said so ("Peggy (2023)"). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("hall_of_fame_entries").addColumn("year", "integer").execute();
}
