import type { Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * The public policy page (every imported version kept; the newest is shown), the
 * admin-set `{{ site.* }}` variables it uses, and the hall of fame.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable("policy_versions")
    .addColumn("id", id, pk)
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("imported_at", "text", (c) => c.notNull())
    .addColumn("imported_by", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("policy_variables")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("hall_of_fame_entries")
    .addColumn("id", id, pk)
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("url", "text")
    .addColumn("affiliation", "text")
    // Normalised name, affiliation and link: the same entry imported twice is found here.
    .addColumn("content_key", "text", (c) => c.notNull().unique())
    .addColumn("position", "integer", (c) => c.notNull().unique())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("added_at", "text", (c) => c.notNull())
    .execute();
}
