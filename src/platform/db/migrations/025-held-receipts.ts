import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * The receipts held back for a recipient's digest, one row each. They were a list in the
 * digest job's payload, sealed as one value: every receipt folded in read, opened, grew,
 * sealed and rewrote the whole list, so a flood of n reports to one address cost n² work
 * under that address's lock. A row per receipt costs the same for the first and the
 * thousandth. The tracking token is sealed per row, as job secrets are, and the rows are
 * deleted once the digest has gone out.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  await db.schema
    .createTable("held_receipts")
    .addColumn("id", kind === "postgres" ? "serial" : "integer", (c) => (kind === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("digest_job_id", "integer", (c) => c.notNull())
    .addColumn("report_id", "integer", (c) => c.notNull())
    .addColumn("sealed_tracking_token", "text", (c) => c.notNull())
    .addUniqueConstraint("held_receipts_digest_report", ["digest_job_id", "report_id"])
    .execute();
}
