import type { Selectable, Updateable } from "kysely";
import type { Executor, Tx } from "../../platform/db/database.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import type { ReportsTable } from "../../platform/db/schema.js";
import { toUpstream, type Upstream, type UpstreamStatus } from "../reports/index.js";

export type ReportRow = Selectable<ReportsTable>;

/**
 * The report row, locked for the rest of the transaction on PostgreSQL, so that two
 * triagers changing it at once are applied one after the other and each audit entry's
 * "from" is what the change really replaced. (SQLite has a single writer already.)
 */
export async function lockReportRow(tx: Tx, id: number): Promise<ReportRow | undefined> {
  return tx
    .selectFrom("reports")
    .selectAll()
    .where("id", "=", id)
    .$if(databaseKindOf(tx) === "postgres", (qb) => qb.forUpdate())
    .executeTakeFirst();
}

export async function updateReportColumns(tx: Tx, id: number, columns: Updateable<ReportsTable>): Promise<void> {
  await tx.updateTable("reports").set(columns).where("id", "=", id).execute();
}

export interface NewUpstream {
  project: string;
  contact: string | null;
  reference: string | null;
  status: UpstreamStatus;
  embargoUntil: string | null;
}

export async function insertUpstream(tx: Tx, reportId: number, upstream: NewUpstream, at: string): Promise<Upstream> {
  const row = await tx
    .insertInto("report_upstreams")
    .values({
      report_id: reportId,
      project: upstream.project,
      contact: upstream.contact,
      reference: upstream.reference,
      status: upstream.status,
      embargo_until: upstream.embargoUntil,
      created_at: at,
      updated_at: at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toUpstream(row);
}

export async function findUpstream(db: Executor, reportId: number, upstreamId: number): Promise<Upstream | undefined> {
  const row = await db.selectFrom("report_upstreams").selectAll().where("id", "=", upstreamId).where("report_id", "=", reportId).executeTakeFirst();
  return row && toUpstream(row);
}

export async function updateUpstream(tx: Tx, upstream: Upstream, at: string): Promise<void> {
  await tx
    .updateTable("report_upstreams")
    .set({
      project: upstream.project,
      contact: upstream.contact,
      reference: upstream.reference,
      status: upstream.status,
      embargo_until: upstream.embargoUntil,
      updated_at: at,
    })
    .where("id", "=", upstream.id)
    .execute();
}

export async function deleteUpstream(tx: Tx, upstreamId: number): Promise<void> {
  await tx.deleteFrom("report_upstreams").where("id", "=", upstreamId).execute();
}

export interface SimilarityRow {
  id: number;
  title: string;
  description: string;
  state: string;
  channel: string;
  asset: string | null;
  cwe_id: string | null;
  received_at: string;
}

export async function findSimilarityRows(db: Executor, ids: number[]): Promise<SimilarityRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom("reports")
    .select(["id", "title", "description", "state", "channel", "asset", "cwe_id", "received_at"])
    .where("id", "in", ids)
    .execute();
}
