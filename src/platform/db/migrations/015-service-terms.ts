import type { Kysely } from "kysely";

/**
 * What each report was promised when it arrived: the targets and calendar of its channel
 * then (JSON). Deadlines are worked out from these, not from the settings of the day, so
 * that a change of targets applies to reports received after it. Reports stored before
 * this column are given the settings of the first start after it (`fixTermsOfEarlierReports`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("reports").addColumn("service_terms", "text").execute();
}
