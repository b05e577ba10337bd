import type { Kysely } from "kysely";

/**
 * The service-level figures last worked out, so that a Prometheus scrape or the metrics
 * page does not read every report of 90 days each time (178,000 of them: about 2.5 s).
 * `basis` is what the figures depend on besides the reports (the targets and calendars);
 * `refreshing_until` lets one process at a time work out the next ones.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("metrics_snapshots")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("basis", "text", (c) => c.notNull())
    .addColumn("computed_at", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("refreshing_until", "text")
    .execute();
}
