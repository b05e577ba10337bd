import { sql, type Kysely } from "kysely";

/**
 * The outbox's fair order (issue 12, "fair under a flood"): `fair_at` is when a job's turn
 * comes, `fairness_key` who it is for (the client that submitted the report). A sender's
 * jobs are spaced out in `fair_at`, so one flooding client's backlog queues behind everyone
 * else's, and account-attack pages get a head start. Existing jobs keep their due time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("jobs").addColumn("fair_at", "text", (c) => c.notNull().defaultTo("")).execute();
  await db.schema.alterTable("jobs").addColumn("fairness_key", "text").execute();
  await sql`update jobs set fair_at = run_at`.execute(db);
  await db.schema.createIndex("jobs_fair").on("jobs").columns(["state", "fair_at", "id"]).execute();
  await db.schema.createIndex("jobs_sender").on("jobs").columns(["fairness_key", "state", "fair_at"]).execute();
}
