import { sql, type Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * SQLite: the team's lists in their default order, newest first, read along an index that
 * starts with the id and holds the filter columns (as reports_next_deadline does for the
 * queue order). Without it, a filter such as `state=new` found its reports through
 * reports_state_channel and then sorted every match, rows and all, for each page: 0.2 s at
 * 30,000 new reports, and growing with them. Along this index a page needs only the first
 * matching entries. PostgreSQL's planner weighs the LIMIT itself and needs no such index.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  if (kind === "sqlite") await sql`create index reports_newest on reports (id, state, channel, severity, owner_id)`.execute(db);
}
