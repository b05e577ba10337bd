import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Advisories: what the team writes (`content`, JSON), the reports each one discloses, and
 * the numbered revisions published, each a copy of the content as the public read it.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("advisories")
    .addColumn("id", id, pk)
    .addColumn("public_id", "text", (c) => c.notNull().unique())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("scheduled_at", "text")
    .addColumn("published_at", "text")
    .addColumn("guard_override", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  // The public list: published ones, newest first.
  await db.schema.createIndex("advisories_state_published").on("advisories").columns(["state", "published_at", "id"]).execute();

  await db.schema
    .createTable("advisory_reports")
    .addColumn("advisory_id", "integer", (c) => c.notNull().references("advisories.id"))
    .addColumn("report_id", "integer", (c) => c.notNull().references("reports.id"))
    .addPrimaryKeyConstraint("advisory_reports_pk", ["advisory_id", "report_id"])
    .execute();
  await db.schema.createIndex("advisory_reports_report").on("advisory_reports").columns(["report_id"]).execute();

  await db.schema
    .createTable("advisory_revisions")
    .addColumn("advisory_id", "integer", (c) => c.notNull().references("advisories.id"))
    .addColumn("number", "integer", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("published_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("advisory_revisions_pk", ["advisory_id", "number"])
    .execute();
}
