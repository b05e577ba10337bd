import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/** Service-level alerts: one row per report, target and kind, so each is sent once. */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("sla_alerts")
    .addColumn("id", id, pk)
    .addColumn("report_id", "integer", (c) => c.notNull().references("reports.id"))
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("due_at", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("sla_alerts_once", ["report_id", "target", "kind"])
    .execute();
}
