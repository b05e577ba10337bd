import type { Selectable } from "kysely";
import type { Executor, Tx } from "../../platform/db/database.js";
import type { AdvisoriesTable } from "../../platform/db/schema.js";
import type { Advisory, AdvisoryContent, AdvisoryRevision, AdvisoryState } from "./advisory.js";

type AdvisoryRow = Selectable<AdvisoriesTable>;

/** The next free sequence number of `prefix` in `year` (EXA-2026-007 → 8). */
export async function nextAdvisorySequence(tx: Tx, prefix: string, year: number): Promise<number> {
  const rows = await tx.selectFrom("advisories").select("public_id").where("public_id", "like", `${prefix}-${year}-%`).execute();
  const numbers = rows.map((r) => Number(r.public_id.slice(`${prefix}-${year}-`.length))).filter(Number.isInteger);
  return numbers.length ? Math.max(...numbers) + 1 : 1;
}

export interface NewAdvisory {
  publicId: string;
  content: AdvisoryContent;
  reportIds: number[];
  at: string;
}

export async function insertAdvisory(tx: Tx, advisory: NewAdvisory): Promise<number> {
  const { id } = await tx
    .insertInto("advisories")
    .values({ public_id: advisory.publicId, state: "draft", content: JSON.stringify(advisory.content), scheduled_at: null, published_at: null, guard_override: null, created_at: advisory.at, updated_at: advisory.at })
    .returning("id")
    .executeTakeFirstOrThrow();
  await replaceAdvisoryReports(tx, id, advisory.reportIds);
  return id;
}

export async function replaceAdvisoryReports(tx: Tx, advisoryId: number, reportIds: number[]): Promise<void> {
  await tx.deleteFrom("advisory_reports").where("advisory_id", "=", advisoryId).execute();
  if (reportIds.length) await tx.insertInto("advisory_reports").values([...new Set(reportIds)].map((report_id) => ({ advisory_id: advisoryId, report_id }))).execute();
}

export interface AdvisoryChanges {
  state?: AdvisoryState;
  content?: AdvisoryContent;
  scheduledAt?: string | null;
  publishedAt?: string | null;
  guardOverride?: string | null;
  updatedAt: string;
}

/** Applies `changes` only while the advisory is still in `state`; false when someone else moved it first. */
export async function updateAdvisoryIfState(tx: Tx, id: number, state: AdvisoryState, changes: AdvisoryChanges): Promise<boolean> {
  const result = await tx
    .updateTable("advisories")
    .set({
      ...(changes.state !== undefined ? { state: changes.state } : {}),
      ...(changes.content !== undefined ? { content: JSON.stringify(changes.content) } : {}),
      ...(changes.scheduledAt !== undefined ? { scheduled_at: changes.scheduledAt } : {}),
      ...(changes.publishedAt !== undefined ? { published_at: changes.publishedAt } : {}),
      ...(changes.guardOverride !== undefined ? { guard_override: changes.guardOverride } : {}),
      updated_at: changes.updatedAt,
    })
    .where("id", "=", id)
    .where("state", "=", state)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function insertAdvisoryRevision(tx: Tx, advisoryId: number, revision: AdvisoryRevision): Promise<void> {
  await tx
    .insertInto("advisory_revisions")
    .values({ advisory_id: advisoryId, number: revision.number, summary: revision.summary, content: JSON.stringify(revision.content), published_at: revision.publishedAt })
    .execute();
}

export async function findAdvisory(db: Executor, where: { id: number } | { publicId: string }): Promise<Advisory | undefined> {
  let query = db.selectFrom("advisories").selectAll();
  query = "id" in where ? query.where("id", "=", where.id) : query.where("public_id", "=", where.publicId);
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  return (await withLinks(db, [row]))[0];
}

/** Advisories for the team, newest first; `state` narrows them. */
export async function listAdvisories(db: Executor, filter: { state?: AdvisoryState; limit?: number } = {}): Promise<Advisory[]> {
  let query = db.selectFrom("advisories").selectAll();
  if (filter.state) query = query.where("state", "=", filter.state);
  if (filter.state === "published") query = query.orderBy("published_at", "desc");
  const rows = await query.orderBy("id", "desc").limit(filter.limit ?? 500).execute();
  return withLinks(db, rows);
}

/** The advisories that link a report (a report page lists them). */
export async function listAdvisoryIdsOfReport(db: Executor, reportId: number): Promise<Array<{ publicId: string; state: AdvisoryState }>> {
  return (await listAdvisoryIdsOfReports(db, [reportId])).get(reportId) ?? [];
}

/** The advisories that link each of `reportIds` (a page of the queue), oldest first; a report no advisory links is absent. */
export async function listAdvisoryIdsOfReports(db: Executor, reportIds: readonly number[]): Promise<Map<number, Array<{ publicId: string; state: AdvisoryState }>>> {
  const byReport = new Map<number, Array<{ publicId: string; state: AdvisoryState }>>();
  if (reportIds.length === 0) return byReport;
  const rows = await db
    .selectFrom("advisory_reports")
    .innerJoin("advisories", "advisories.id", "advisory_reports.advisory_id")
    .select(["advisory_reports.report_id", "advisories.public_id", "advisories.state"])
    .where("advisory_reports.report_id", "in", [...reportIds])
    .orderBy("advisories.id")
    .execute();
  for (const r of rows) {
    const list = byReport.get(r.report_id) ?? [];
    list.push({ publicId: r.public_id, state: r.state as AdvisoryState });
    byReport.set(r.report_id, list);
  }
  return byReport;
}

async function withLinks(db: Executor, rows: AdvisoryRow[]): Promise<Advisory[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const links = await db.selectFrom("advisory_reports").selectAll().where("advisory_id", "in", ids).orderBy("report_id").execute();
  const revisions = await db.selectFrom("advisory_revisions").selectAll().where("advisory_id", "in", ids).orderBy("number").execute();
  return rows.map((row) => ({
    id: row.id,
    publicId: row.public_id,
    state: row.state as AdvisoryState,
    content: JSON.parse(row.content) as AdvisoryContent,
    reportIds: links.filter((l) => l.advisory_id === row.id).map((l) => l.report_id),
    scheduledAt: row.scheduled_at,
    publishedAt: row.published_at,
    guardOverride: row.guard_override,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revisions: revisions
      .filter((r) => r.advisory_id === row.id)
      .map((r) => ({ number: r.number, summary: r.summary, publishedAt: r.published_at, content: JSON.parse(r.content) as AdvisoryContent })),
  }));
}
