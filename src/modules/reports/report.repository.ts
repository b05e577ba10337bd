import { sql, type Insertable, type Selectable, type Updateable } from "kysely";
import type { Db, Executor } from "../../platform/db/database.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import type { MessagesTable, ReportsTable, ReportUpstreamsTable } from "../../platform/db/schema.js";
import { loadSettings, type Settings } from "../settings/index.js";
import { computeNextDeadline, deadlineBasisOf } from "./next-deadline.js";
import type { CvssDetails, CvssRatingName, ReportDetails, SeveritySource, Upstream, UpstreamStatus } from "./report-details.js";
import { toFts5Query, toTsQuery } from "./report-search.js";
import type { Channel, Report, ReportState, Severity } from "./report.js";

type ReportRow = Selectable<ReportsTable>;

export function toReport(row: ReportRow): Report {
  return {
    id: row.id,
    channel: row.channel as Channel,
    state: row.state as ReportState,
    source: row.source as Report["source"],
    title: row.title,
    description: row.description,
    steps: row.steps,
    impact: row.impact,
    asset: row.asset,
    reporterName: row.reporter_name,
    reporterEmail: row.reporter_email,
    reporterPgpKey: row.reporter_pgp_key,
    creditName: row.credit_name,
    creditUrl: row.credit_url,
    aiUsed: row.ai_used == null ? null : row.ai_used === 1,
    severity: row.severity as Severity | null,
    ownerId: row.owner_id,
    duplicateOf: row.duplicate_of,
    receivedAt: row.received_at,
    acknowledgedAt: row.acknowledged_at,
    triagedAt: row.triaged_at,
    resolvedAt: row.resolved_at,
    closedAt: row.closed_at,
    disclosedAt: row.disclosed_at,
    needsInfoSince: row.needs_info_since,
    stateBeforeNeedsInfo: row.state_before_needs_info as ReportState | null,
    pausedMs: Number(row.paused_ms),
    updatedAt: row.updated_at,
  };
}

const COLUMN_OF: Record<keyof Report, keyof ReportsTable> = {
  id: "id",
  channel: "channel",
  state: "state",
  source: "source",
  title: "title",
  description: "description",
  steps: "steps",
  impact: "impact",
  asset: "asset",
  reporterName: "reporter_name",
  reporterEmail: "reporter_email",
  reporterPgpKey: "reporter_pgp_key",
  creditName: "credit_name",
  creditUrl: "credit_url",
  aiUsed: "ai_used",
  severity: "severity",
  ownerId: "owner_id",
  duplicateOf: "duplicate_of",
  receivedAt: "received_at",
  acknowledgedAt: "acknowledged_at",
  triagedAt: "triaged_at",
  resolvedAt: "resolved_at",
  closedAt: "closed_at",
  disclosedAt: "disclosed_at",
  needsInfoSince: "needs_info_since",
  stateBeforeNeedsInfo: "state_before_needs_info",
  pausedMs: "paused_ms",
  updatedAt: "updated_at",
};

function toRow(changes: Partial<Report>): Updateable<ReportsTable> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changes)) {
    const column = COLUMN_OF[key as keyof Report];
    row[column] = typeof value === "boolean" ? (value ? 1 : 0) : value;
  }
  return row as Updateable<ReportsTable>;
}

export type NewReport = Omit<Report, "id" | "ownerId" | "duplicateOf" | "severity" | "acknowledgedAt" | "triagedAt" | "resolvedAt" | "closedAt" | "disclosedAt" | "needsInfoSince" | "stateBeforeNeedsInfo" | "pausedMs">;

export async function insertReport(db: Executor, report: NewReport, trackingHash: string): Promise<Report> {
  // Every way in (API, form, e-mail) comes through here, so the queue order is set here.
  const nextDeadline = computeNextDeadline(
    { ...report, severity: null, acknowledgedAt: null, triagedAt: null, resolvedAt: null, closedAt: null, needsInfoSince: null, pausedMs: 0 },
    await loadSettings(db as Db),
    new Date(report.receivedAt),
  );
  const values = { ...(toRow(report) as Insertable<ReportsTable>), tracking_hash: trackingHash, paused_ms: 0, next_deadline_at: nextDeadline };
  if (databaseKindOf(db) === "sqlite") {
    // Not `returning`: on SQLite a statement with RETURNING makes the full-text index write
    // out its pending entries, once per report instead of once per (group) commit.
    const { insertId } = await db.insertInto("reports").values(values).executeTakeFirstOrThrow();
    return toReport(await db.selectFrom("reports").selectAll().where("id", "=", Number(insertId)).executeTakeFirstOrThrow());
  }
  return toReport(await db.insertInto("reports").values(values).returningAll().executeTakeFirstOrThrow());
}

export async function findReport(db: Executor, id: number): Promise<Report | undefined> {
  const row = await db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toReport(row);
}

export async function findReportByTrackingHash(db: Executor, trackingHash: string): Promise<Report | undefined> {
  const row = await db.selectFrom("reports").selectAll().where("tracking_hash", "=", trackingHash).executeTakeFirst();
  return row && toReport(row);
}

/**
 * Applies changes only if the report is still in the state the caller saw: two people
 * moving the same report at once cannot both win.
 */
export async function updateReportIfState(db: Executor, id: number, expected: ReportState, changes: Partial<Report>): Promise<boolean> {
  const row = await db.updateTable("reports").set(toRow(changes)).where("id", "=", id).where("state", "=", expected).returningAll().executeTakeFirst();
  if (!row) return false;
  // Whoever moves a report also moves it in the queue.
  await storeNextDeadline(db, row, await loadSettings(db as Db));
  return true;
}

/** Computes and stores the report's next deadline from its row as it is now. */
async function storeNextDeadline(db: Executor, row: ReportRow, settings: Settings): Promise<void> {
  const report = toReport(row);
  const next = computeNextDeadline(report, settings, new Date(report.updatedAt));
  if (next !== row.next_deadline_at) await db.updateTable("reports").set({ next_deadline_at: next }).where("id", "=", row.id).execute();
}

/** Refreshes one report's next deadline after a change that did not go through `updateReportIfState`. */
export async function refreshNextDeadline(db: Executor, id: number, settings: Settings): Promise<void> {
  const row = await db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirst();
  if (row) await storeNextDeadline(db, row, settings);
}

const OPEN_WITH_CLOCKS: ReportState[] = ["new", "acknowledged", "triaged"];

/**
 * Makes the stored next deadlines agree with the service-level settings: when the
 * targets or calendars changed since they were computed, every open report is computed
 * again; on first use (after the upgrade that added the column) the missing ones are
 * filled. Idempotent, so several processes may run it at once.
 */
export async function recomputeNextDeadlinesIfStale(db: Db, settings: Settings, now: Date): Promise<{ recomputed: number }> {
  const basis = deadlineBasisOf(settings);
  const stored = await db.selectFrom("report_deadline_basis").select("targets").where("id", "=", 1).executeTakeFirst();
  if (stored?.targets === basis) return { recomputed: 0 };
  let recomputed = 0;
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom("reports")
      .selectAll()
      .where("state", "in", OPEN_WITH_CLOCKS)
      .$if(!stored, (qb) => qb.where("next_deadline_at", "is", null))
      .where("id", ">", after)
      .orderBy("id")
      .limit(500)
      .execute();
    if (rows.length === 0) break;
    await db.transaction().execute(async (tx) => {
      for (const row of rows) await storeNextDeadline(tx, row, settings);
    });
    recomputed += rows.length;
    after = rows.at(-1)!.id;
  }
  const at = now.toISOString();
  await db
    .insertInto("report_deadline_basis")
    .values({ id: 1, targets: basis, updated_at: at })
    .onConflict((oc) => oc.column("id").doUpdateSet({ targets: basis, updated_at: at }))
    .execute();
  return { recomputed };
}

export type ReportSort = "newest" | "deadline";

export interface ReportFilter {
  states?: ReportState[];
  channels?: Channel[];
  /** A member's id, or null for reports nobody owns. */
  ownerId?: number | null;
  severities?: Severity[];
  /** Words that must all occur in the title, description or a message (see report-search.ts). */
  words?: string[];
  /** `newest` (default): highest id first; `deadline`: the queue, soonest deadline first, reports without one last. */
  sort?: ReportSort;
  limit: number;
  offset: number;
}

export async function listReports(db: Executor, filter: ReportFilter): Promise<{ reports: Report[]; total: number; totalIsExact: boolean }> {
  const kind = databaseKindOf(db);
  const words = filter.words ?? [];
  // On SQLite the page of the queue order is read along the index reports_next_deadline,
  // which also holds the filter columns: a page needs only the first matching entries,
  // and even a filter that matches nothing costs one pass over the index, not over the
  // rows. SQLite's planner would rather use the state/channel or owner index and then
  // sort every match (seconds at a million reports), so those columns are hidden from
  // it with a unary "+" in the page query; the count keeps them. PostgreSQL's planner
  // weighs the LIMIT itself.
  const filtered = (hideFromPlanner: boolean) => {
    const column = <T extends string | number | null>(name: "state" | "channel" | "severity" | "owner_id") =>
      hideFromPlanner ? sql<T>`+${sql.ref(name)}` : sql<T>`${sql.ref(name)}`;
    return db
      .selectFrom("reports")
      .$if(!!filter.states?.length, (qb) => qb.where(column("state"), "in", filter.states!))
      .$if(!!filter.channels?.length, (qb) => qb.where(column("channel"), "in", filter.channels!))
      .$if(filter.ownerId !== undefined, (qb) => (filter.ownerId === null ? qb.where(column<number | null>("owner_id"), "is", null) : qb.where(column<number | null>("owner_id"), "=", filter.ownerId!)))
      .$if(!!filter.severities?.length, (qb) => qb.where(column("severity"), "in", filter.severities!))
      .$if(words.length > 0, (qb) =>
        qb.where(
          "id",
          "in",
          kind === "sqlite"
            ? sql<number>`(select rowid from report_search where report_search match ${toFts5Query(words, { prefixLast: true })})`
            : sql<number>`(select report_id from report_search where document @@ to_tsquery('simple', ${toTsQuery(words, { prefixLast: true })}))`,
        ),
      );
  };
  const ordered =
    filter.sort === "deadline"
      ? // The same expressions as the index reports_next_deadline, so that it serves the order.
        filtered(kind === "sqlite").selectAll().orderBy(sql`(next_deadline_at is null)`).orderBy("next_deadline_at").orderBy("id")
      : filtered(false).selectAll().orderBy("id", "desc");
  // A search that matches a large share of a big database would spend most of its time
  // counting; past SEARCH_COUNT_CAP the total is reported as "at least" instead.
  const counted =
    words.length > 0
      ? db.selectFrom(filtered(false).select("id").limit(SEARCH_COUNT_CAP + 1).as("matches")).select((eb) => eb.fn.countAll<number>().as("n"))
      : filtered(false).select((eb) => eb.fn.countAll<number>().as("n"));
  const [rows, count] = await Promise.all([ordered.limit(filter.limit).offset(filter.offset).execute(), counted.executeTakeFirstOrThrow()]);
  const n = Number(count.n);
  return { reports: rows.map(toReport), total: Math.min(n, SEARCH_COUNT_CAP), totalIsExact: n <= SEARCH_COUNT_CAP };
}

/** The most matches a search counts exactly. */
export const SEARCH_COUNT_CAP = 10_000;

/**
 * Reports whose title or description shares words with `words`, best first by the
 * database's own ranking (FTS5 bm25, PostgreSQL ts_rank), for the similar-reports list.
 * Messages are left out: a thread drifts, the report itself is what is duplicated.
 */
export async function findReportsSharingWords(db: Executor, words: string[], excludeId: number, limit: number): Promise<number[]> {
  if (words.length === 0) return [];
  if (databaseKindOf(db) === "sqlite") {
    const rows = await sql<{ id: number }>`select rowid as id from report_search
      where report_search match ${`{title description} : (${toFts5Query(words, { any: true })})`} and rowid <> ${excludeId}
      order by bm25(report_search, 4.0, 1.0, 0.0) limit ${limit}`.execute(db);
    return rows.rows.map((r) => Number(r.id));
  }
  const query = words.map((w) => `'${w}':AB`).join(" | ");
  const rows = await sql<{ id: number }>`select report_id as id from report_search
    where document @@ to_tsquery('simple', ${query}) and report_id <> ${excludeId}
    order by ts_rank('{0, 0, 0.25, 1}', document, to_tsquery('simple', ${query})) desc, report_id limit ${limit}`.execute(db);
  return rows.rows.map((r) => Number(r.id));
}

export interface Message {
  id: number;
  reportId: number;
  authorKind: "reporter" | "team" | "system";
  authorUserId: number | null;
  body: string;
  internal: boolean;
  createdAt: string;
}

export async function insertMessage(db: Executor, message: Omit<Message, "id">): Promise<Message> {
  const row = await db
    .insertInto("messages")
    .values({
      report_id: message.reportId,
      author_kind: message.authorKind,
      author_user_id: message.authorUserId,
      body: message.body,
      internal: message.internal ? 1 : 0,
      created_at: message.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toMessage(row);
}

function toMessage(row: Selectable<MessagesTable>): Message {
  return {
    id: row.id,
    reportId: row.report_id,
    authorKind: row.author_kind as Message["authorKind"],
    authorUserId: row.author_user_id,
    body: row.body,
    internal: row.internal === 1,
    createdAt: row.created_at,
  };
}

export async function listMessages(db: Executor, reportId: number, options: { includeInternal: boolean }): Promise<Message[]> {
  const rows = await db
    .selectFrom("messages")
    .selectAll()
    .where("report_id", "=", reportId)
    .$if(!options.includeInternal, (qb) => qb.where("internal", "=", 0))
    .orderBy("id")
    .execute();
  return rows.map(toMessage);
}

export function toUpstream(row: Selectable<ReportUpstreamsTable>): Upstream {
  return {
    id: row.id,
    reportId: row.report_id,
    project: row.project,
    contact: row.contact,
    reference: row.reference,
    status: row.status as UpstreamStatus,
    embargoUntil: row.embargo_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function cvssOf(vector: string | null, score: number | null, rating: string | null): CvssDetails | null {
  return vector == null || score == null || rating == null ? null : { vector, score: Number(score), rating: rating as CvssRatingName };
}

/** The triage fields of a report (severity, CWE, bounty, upstreams, owner's address), for the team's view. */
export async function findReportDetails(db: Executor, id: number): Promise<ReportDetails | undefined> {
  const row = await db
    .selectFrom("reports")
    .leftJoin("users", "users.id", "reports.owner_id")
    .selectAll("reports")
    .select("users.email as owner_email")
    .where("reports.id", "=", id)
    .executeTakeFirst();
  if (!row) return undefined;
  const upstreams = await db.selectFrom("report_upstreams").selectAll().where("report_id", "=", id).orderBy("id").execute();
  return {
    ownerEmail: row.owner_email ?? null,
    cvss31: cvssOf(row.cvss31_vector, row.cvss31_score, row.cvss31_rating),
    cvss40: cvssOf(row.cvss40_vector, row.cvss40_score, row.cvss40_rating),
    severity: row.severity as Severity | null,
    severitySource: row.severity == null ? null : (row.severity_source as SeveritySource | null),
    cwe: row.cwe_id && row.cwe_name != null ? { id: row.cwe_id, name: row.cwe_name } : null,
    affectedVersions: row.affected_versions,
    bounty: {
      eligible: row.bounty_eligible == null ? null : row.bounty_eligible === 1,
      reason: row.bounty_reason,
      amount: row.bounty_amount == null ? null : Number(row.bounty_amount),
      currency: row.bounty_currency,
      awardedAt: row.bounty_awarded_at,
      paidAt: row.bounty_paid_at,
    },
    upstreams: upstreams.map(toUpstream),
  };
}
