import { sql, type Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * SQLite: a new report enters the full-text index through `insertReport`, no longer through
 * an insert trigger. A statement that fires a trigger runs in a statement journal, and FTS5
 * writes out its pending entries whenever one opens: with the trigger, every report of a
 * group commit wrote its own index segment (about 0.1 ms each) instead of all of them
 * sharing one at commit. The triggers for changed titles and descriptions and for messages
 * stay: those are one statement each, not many in one commit.
 * PostgreSQL keeps its trigger (a tsvector row is written either way).
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  if (kind === "sqlite") await sql`drop trigger report_search_report_inserted`.execute(db);
}
