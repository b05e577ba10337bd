import { readOncePerBatch, takeReservedId, writeAtCommit, type CommitWriter } from "../../platform/db/group-commit.js";
import { sql, type Insertable, type RawBuilder, type Selectable, type Updateable } from "kysely";
import { slicesWithTurns } from "../../platform/db/slices.js";
import type { Db, Executor, Tx } from "../../platform/db/database.js";
import { insertRow, insertRows } from "../../platform/db/compiled-once.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import type { MessagesTable, ReportsTable, ReportUpstreamsTable } from "../../platform/db/schema.js";
import { loadSettings, type Settings } from "../settings/index.js";
import { readPauses, readPausesOf } from "./report-pauses.repository.js";
import { serviceTermsFor, type OpenReportClocks, type PauseInterval, type ServiceTerms } from "../sla/index.js";
import { computeNextDeadline } from "./next-deadline.js";
import type { CvssDetails, CvssRatingName, ReportDetails, SeveritySource, Upstream, UpstreamStatus } from "./report-details.js";
import { toFts5Query, toTsQuery } from "./report-search.js";
import { arrivingReport, CHANNELS, type EncryptedArrival, OPEN_STATES, TRACKED_CHANNELS, type Channel, type NewReport, type Report, type ReportState, type Severity } from "./report.js";

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
    serviceTerms: row.service_terms == null ? null : (JSON.parse(row.service_terms) as ServiceTerms),
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
  serviceTerms: "service_terms",
  updatedAt: "updated_at",
};

function toRow(changes: Partial<Report>): Updateable<ReportsTable> {
  const row: Record<string, unknown> = {};
  for (const key in changes) {
    const value = changes[key as keyof Report];
    row[COLUMN_OF[key as keyof Report]] = typeof value === "boolean" ? (value ? 1 : 0) : key === "serviceTerms" && value != null ? JSON.stringify(value) : value;
  }
  return row as Updateable<ReportsTable>;
}

/** A group commit's new reports on PostgreSQL, inserted by one statement before its jobs and events. */
const reportsAtCommit: CommitWriter<Insertable<ReportsTable>> = {
  order: 10,
  flush: async (tx, rows) => {
    await insertRows(tx, "reports", rows);
  },
};

/**
 * Stores a new report. With `atCommit` (nothing else in the transaction refers to its row)
 * PostgreSQL takes its id from a batch's reserved ones and writes the row with the batch's
 * others just before the commit, instead of a round trip per report.
 */
export async function insertReport(db: Executor, report: NewReport, trackingHash: string, options: { atCommit?: boolean } = {}): Promise<Report> {
  // Read once for all reports of a group commit: they arrive at one moment, under one set of terms.
  const settings = await readOncePerBatch(db, "settings", () => loadSettings(db as Db));
  // Every way in (API, form, e-mail) comes through here, so the promise is fixed here
  // (the terms of this moment, whatever the settings say later) and the queue order set.
  const stored = arrivingReport(report);
  stored.serviceTerms = serviceTermsFor(report.channel, settings);
  const nextDeadline = computeNextDeadline(stored, settings, new Date(report.receivedAt));
  const values = toRow(stored) as Insertable<ReportsTable>;
  values.tracking_hash = trackingHash;
  values.next_deadline_at = nextDeadline;
  if (databaseKindOf(db) === "sqlite") {
    // Not `returning`: on SQLite a statement with RETURNING makes the full-text index write
    // out its pending entries, once per report instead of once per (group) commit. Nor
    // read back: the row holds exactly what was given (text as is, `aiUsed` as 0/1).
    const id = Number((await insertRow(db, "reports", values)).insertId);
    await indexNewReport(db, id, stored);
    return { id, ...stored };
  }
  if (options.atCommit) {
    const id = await takeReservedId(db, "reports", (count) => reserveReportIds(db, count));
    await writeAtCommit(db as Tx, reportsAtCommit, { id, ...values });
    return { id, ...stored };
  }
  return toReport(await db.insertInto("reports").values(values).returningAll().executeTakeFirstOrThrow());
}

/** `count` new report ids from the table's sequence (PostgreSQL), in one round trip. */
async function reserveReportIds(db: Executor, count: number): Promise<number[]> {
  const { rows } = await sql<{ id: string }>`select nextval(pg_get_serial_sequence('reports', 'id')) as id from generate_series(1, ${count})`.execute(db);
  return rows.map((row) => Number(row.id));
}

/**
 * Puts a report just inserted into the full-text index. On SQLite this is the only way in
 * (migration 009: an insert trigger would make FTS5 write a segment per report); on
 * PostgreSQL the insert trigger has done it already.
 */
export async function indexNewReport(db: Executor, id: number, text: Pick<Report, "title" | "description" | "reporterName" | "reporterEmail">): Promise<void> {
  if (databaseKindOf(db) !== "sqlite") return;
  // The reporter's name and address lead the messages column, so that team search finds them (migration 024).
  await sql`insert into report_search (rowid, title, description, messages) values (${id}, ${text.title}, ${text.description}, ${`${text.reporterName} ${text.reporterEmail} `})`.execute(db);
}

/**
 * Whether a report, or a message of its thread, arrived encrypted: in the reporter's browser
 * (`reports.browser_encrypted`), or as PGP mail, which the e-mail channel decrypted on
 * arrival and recorded in the message's row (`inbound_messages.details`, read here rather
 * than through that module, which builds on this one).
 */
export async function findEncryptedArrival(db: Executor, id: number): Promise<EncryptedArrival> {
  const report = await db.selectFrom("reports").select("browser_encrypted").where("id", "=", id).executeTakeFirst();
  const mails = await db.selectFrom("inbound_messages").select("details").where("report_id", "=", id).where("outcome", "in", ["report", "reply"]).execute();
  const mail = mails.some((row) => {
    try {
      return (JSON.parse(row.details) as { encryption?: { encrypted?: boolean } }).encryption?.encrypted === true;
    } catch {
      return false;
    }
  });
  return { browser: Number(report?.browser_encrypted ?? 0) === 1, mail };
}

export async function findReport(db: Executor, id: number): Promise<Report | undefined> {
  const row = await db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toReport(row);
}

const CLOCK_FIELDS = [
  "id",
  "ownerId",
  "channel",
  "state",
  "severity",
  "receivedAt",
  "acknowledgedAt",
  "triagedAt",
  "resolvedAt",
  "closedAt",
  "pausedMs",
  "needsInfoSince",
  "serviceTerms",
  "updatedAt",
] as const satisfies ReadonlyArray<keyof Report>;

/** What the service-level clocks of a report are made of, who owns it and its stored next deadline: no text. */
export type ReportClocks = Pick<Report, (typeof CLOCK_FIELDS)[number]> & { nextDeadlineAt: string | null };

/**
 * Every report in these states and channels, as its clocks with its ended pauses, a page
 * at a time: for sweeps over all open reports (the minute check). The ids come from the index reports_state_channel alone, then each page's
 * clock columns (no text), so the cost grows with the reports swept and not with sorting
 * them. A report that has left these states since its id was read is left out. Between
 * pages the event loop takes a turn (`slicesWithTurns`).
 */
export async function* pagesOfReportClocks(
  db: Executor,
  filter: { states: readonly ReportState[]; channels: readonly Channel[] },
  pageSize: number,
): AsyncGenerator<{ reports: ReportClocks[]; pauses: Map<number, PauseInterval[]> }> {
  if (filter.states.length === 0 || filter.channels.length === 0) return;
  const ids = (await db.selectFrom("reports").select("id").where("state", "in", filter.states).where("channel", "in", filter.channels).execute()).map((row) => row.id);
  for await (const page of slicesWithTurns(ids, pageSize)) {
    const rows = await db
      .selectFrom("reports")
      .select([...CLOCK_FIELDS.map((field) => COLUMN_OF[field]), "next_deadline_at"])
      .where("id", "in", page)
      .orderBy("id")
      .execute();
    const reports = rows
      .map((row) => {
        const report = toReport(row as ReportRow);
        return { ...(Object.fromEntries(CLOCK_FIELDS.map((field) => [field, report[field]])) as Pick<Report, (typeof CLOCK_FIELDS)[number]>), nextDeadlineAt: row.next_deadline_at };
      })
      .filter((report) => filter.states.includes(report.state));
    yield { reports, pauses: await readPausesOf(db, reports) };
  }
}

/** The minute check's sweep (modules/sla): the open reports of tracked channels, a page at a time. */
export function pagesOfOpenReportClocks(db: Executor): OpenReportClocks {
  return (pageSize) => pagesOfReportClocks(db, { states: OPEN_STATES, channels: TRACKED_CHANNELS }, pageSize);
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

/**
 * Computes and stores the report's next deadline from its row as it is now, with its
 * pauses placed in time (a business-hours clock credits only the open hours they took).
 */
async function storeNextDeadline(db: Executor, row: ReportRow, settings: Settings): Promise<void> {
  const report = toReport(row);
  const next = computeNextDeadline(report, settings, new Date(report.updatedAt), await readPauses(db, report));
  if (next !== row.next_deadline_at) await db.updateTable("reports").set({ next_deadline_at: next }).where("id", "=", row.id).execute();
}

/** Refreshes one report's next deadline after a change that did not go through `updateReportIfState`. */
export async function refreshNextDeadline(db: Executor, id: number, settings: Settings): Promise<void> {
  const row = await db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirst();
  if (row) await storeNextDeadline(db, row, settings);
}

/**
 * Gives every report stored before terms were kept with reports (migration 015) the terms
 * of the settings now, once: from then on a change of the settings leaves them as they
 * are. Run at start-up; idempotent, so processes starting together may all run it.
 */
export async function fixTermsOfEarlierReports(db: Executor, settings: Settings): Promise<{ fixed: number }> {
  let fixed = 0;
  for (const channel of CHANNELS) {
    const terms = serviceTermsFor(channel, settings);
    if (!terms) continue;
    const result = await db.updateTable("reports").set({ service_terms: JSON.stringify(terms) }).where("channel", "=", channel).where("service_terms", "is", null).executeTakeFirst();
    fixed += Number(result.numUpdatedRows);
  }
  // Terms kept before they named the disclosure deadline get the settings' days of this start, once.
  const days = settings.advisories.disclosureDeadlineDays;
  for (;;) {
    const rows = await db.selectFrom("reports").select(["id", "service_terms"]).where("service_terms", "is not", null).where("service_terms", "not like", '%"disclosureDays"%').orderBy("id").limit(500).execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const terms = { ...(JSON.parse(row.service_terms!) as ServiceTerms), disclosureDays: days };
      const result = await db.updateTable("reports").set({ service_terms: JSON.stringify(terms) }).where("id", "=", row.id).where("service_terms", "=", row.service_terms).executeTakeFirst();
      fixed += Number(result.numUpdatedRows);
    }
  }
  return { fixed };
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
  /** Newest first without words only: reports with a lower id (the next page after the one that ended with this id). The total ignores it. */
  beforeId?: number;
}

export interface ReportList {
  reports: Report[];
  /** How many reports match; for a search at most SEARCH_COUNT_CAP. */
  total: number;
  /** False when a search matched more than `total` reports. */
  totalIsExact: boolean;
}

/** The most matches a search counts exactly. */
export const SEARCH_COUNT_CAP = 10_000;

/**
 * One page of reports and how many match. `countCap` is SEARCH_COUNT_CAP except in tests,
 * which reach every plan of a SQLite search with a few dozen reports.
 */
export async function listReports(db: Executor, filter: ReportFilter, countCap = SEARCH_COUNT_CAP): Promise<ReportList> {
  const kind = databaseKindOf(db);
  const words = filter.words ?? [];
  if (filter.beforeId !== undefined && (words.length > 0 || filter.sort === "deadline")) throw new RangeError("beforeId pages only newest-first lists without words");
  if (kind === "sqlite" && words.length > 0) return searchReportsOnSqlite(db, filter, toFts5Query(words, { prefixLast: true }), countCap);
  // On SQLite a page is read along an index that serves its order and also holds the
  // filter columns: reports_next_deadline for the queue order, reports_newest (migration
  // 010) for newest first, where only the ids come from the index and then the page's rows
  // are read. A page needs only the first matching entries, and even a filter that matches
  // nothing costs one pass over the index, not over the rows. SQLite's planner would rather
  // use the state/channel or owner index and then sort every match (seconds at a million
  // reports), so those columns are hidden from it with a unary "+" in the page query; the
  // count keeps them. PostgreSQL's planner weighs the LIMIT itself.
  const filtered = (hideFromPlanner: boolean) => {
    const conditions = filterConditions(filter, { hideFromPlanner });
    return db
      .selectFrom("reports")
      .$if(conditions.length > 0, (qb) => qb.where(sql<boolean>`${sql.join(conditions, sql` and `)}`))
      .$if(words.length > 0, (qb) =>
        qb.where("id", "in", sql<number>`(select report_id from report_search where document @@ to_tsquery('simple', ${toTsQuery(words, { prefixLast: true })}))`),
      );
  };
  const page =
    filter.sort === "deadline"
      ? // The same expressions as the index reports_next_deadline, so that it serves the order.
        filtered(kind === "sqlite").selectAll().orderBy(sql`(next_deadline_at is null)`).orderBy("next_deadline_at").orderBy("id").limit(filter.limit).offset(filter.offset)
      : kind === "sqlite"
        ? db
            .selectFrom("reports")
            .selectAll()
            .where(
              "id",
              "in",
              filtered(true)
                .select("id")
                .$if(filter.beforeId !== undefined, (qb) => qb.where("id", "<", filter.beforeId!))
                .orderBy("id", "desc")
                .limit(filter.limit)
                .offset(filter.offset),
            )
            .orderBy("id", "desc")
        : filtered(false)
            .selectAll()
            .$if(filter.beforeId !== undefined, (qb) => qb.where("id", "<", filter.beforeId!))
            .orderBy("id", "desc")
            .limit(filter.limit)
            .offset(filter.offset);
  // A search that matches a large share of a big database would spend most of its time
  // counting; past the cap the total is reported as "at least" instead.
  const counted =
    words.length > 0
      ? db.selectFrom(filtered(false).select("id").limit(countCap + 1).as("matches")).select((eb) => eb.fn.countAll<number>().as("n"))
      : filtered(false).select((eb) => eb.fn.countAll<number>().as("n"));
  const [rows, count] = await Promise.all([page.execute(), counted.executeTakeFirstOrThrow()]);
  const n = Number(count.n);
  if (words.length === 0) return { reports: rows.map(toReport), total: n, totalIsExact: true };
  return { reports: rows.map(toReport), total: Math.min(n, countCap), totalIsExact: n <= countCap };
}

/** The filter's conditions on `reports` (as `alias` when given), each column behind a unary "+" when it is to be hidden from SQLite's planner. */
function filterConditions(filter: ReportFilter, options: { alias?: string; hideFromPlanner?: boolean } = {}): RawBuilder<unknown>[] {
  const column = (name: string) => {
    const ref = sql.ref(options.alias ? `${options.alias}.${name}` : name);
    return options.hideFromPlanner ? sql`+${ref}` : ref;
  };
  const conditions: RawBuilder<unknown>[] = [];
  if (filter.states?.length) conditions.push(sql`${column("state")} in (${sql.join(filter.states)})`);
  if (filter.channels?.length) conditions.push(sql`${column("channel")} in (${sql.join(filter.channels)})`);
  if (filter.ownerId === null) conditions.push(sql`${column("owner_id")} is null`);
  else if (filter.ownerId !== undefined) conditions.push(sql`${column("owner_id")} = ${filter.ownerId}`);
  if (filter.severities?.length) conditions.push(sql`${column("severity")} in (${sql.join(filter.severities)})`);
  return conditions;
}

/** A report row under the counts of the statement that read it; the report columns are null when the page is empty. */
type CountedRow = ReportRow & { text_count?: number; match_count: number };

/**
 * A search on SQLite, planned for a million reports (bench/queue.bench.js). The text index
 * hands out its matches newest first (rowid = report id) and stops when told to, and a
 * page and the capped count are read together, so that a common word is not looked up
 * twice (the last word, a prefix, costs a pass over every index entry starting with it).
 *
 * 1. The newest cap + 1 text matches, and those of them that pass the filters. They are the
 *    count and hold the page when the text matched no more than that (the set is complete,
 *    any order), or, newest first, when they reach past the end of the page.
 * 2. Otherwise, with filters, the count goes on: along the text index when at least a
 *    quarter of the matches so far passed the filters (the cap is reached soon), else along
 *    the filters' own indexes, checking reports against the set of all text matches;
 *    that count holds the page when it is complete.
 * 3. A page still missing is read in its order, stopping when it is full: newest first
 *    along the text index, the queue along reports_next_deadline (as listReports does).
 */
async function searchReportsOnSqlite(db: Executor, filter: ReportFilter, match: string, cap: number): Promise<ReportList> {
  const conditions = filterConditions(filter, { alias: "r" });
  const where = conditions.length > 0 ? sql`${sql.join(conditions, sql` and `)}` : sql`1`;
  const newest = filter.sort !== "deadline";
  const pageEnd = filter.offset + filter.limit;
  const textMatches = sql`select rowid as id from report_search where report_search match ${match}`;

  // 1. The newest cap + 1 text matches. A page is read only where it can be held, the
  // same test as `heldByFirst` below, so that no work is spent on one to be thrown away.
  const textCount = sql`(select count(*) from text_matches)`;
  const matchCount = conditions.length > 0 ? sql`(select count(*) from matches)` : textCount;
  const first = await sql<CountedRow>`with text_matches as materialized (${textMatches} order by rowid desc limit ${cap + 1}),
    matches as ${conditions.length > 0 ? sql`materialized (select r.id from text_matches t cross join reports r on r.id = t.id where ${where})` : sql`(select id from text_matches)`}
    ${pageWithCounts(sql`select ${textCount} as text_count, ${matchCount} as match_count`, newest ? sql`(${textCount} <= ${cap} or ${matchCount} >= ${pageEnd})` : sql`${textCount} <= ${cap}`, filter)}`.execute(db);
  const { text_count: textTotal = 0, match_count: matchesSoFar } = first.rows[0]!;
  const heldByFirst = textTotal <= cap || (newest && matchesSoFar >= pageEnd);
  let page = heldByFirst ? reportsOf(first.rows) : undefined;
  let n = matchesSoFar;

  // 2. More text matches than the cap, and filters that let through no more than the cap of the newest.
  if (textTotal > cap && conditions.length > 0 && matchesSoFar <= cap) {
    if (matchesSoFar * 4 >= cap + 1) {
      const counted = await sql<{ match_count: number }>`select count(*) as match_count from (select r.id from report_search cross join reports r on r.id = report_search.rowid
        where report_search match ${match} and ${where} limit ${cap + 1})`.execute(db);
      n = counted.rows[0]!.match_count;
    } else {
      const second = await sql<CountedRow>`with matches as materialized (select r.id from reports r where ${where} and +r.id in (${textMatches}) limit ${cap + 1})
        ${pageWithCounts(sql`select count(*) as match_count from matches`, sql`(select count(*) from matches) <= ${cap}`, filter)}`.execute(db);
      n = second.rows[0]!.match_count;
      if (!page && n <= cap) page = reportsOf(second.rows);
    }
  }

  // 3. The page in its order.
  if (!page) {
    const rows = newest
      ? await sql<ReportRow>`select r.* from report_search cross join reports r on r.id = report_search.rowid where report_search match ${match} and ${where}
          order by report_search.rowid desc limit ${filter.limit} offset ${filter.offset}`.execute(db)
      : await sql<ReportRow>`select r.* from reports r where ${sql.join([...filterConditions(filter, { alias: "r", hideFromPlanner: true }), sql`+r.id in (${textMatches})`], sql` and `)}
          order by ${queueOrder("r")} limit ${filter.limit} offset ${filter.offset}`.execute(db);
    page = rows.rows.map(toReport);
  }
  return { reports: page, total: Math.min(n, cap), totalIsExact: n <= cap };
}

/** The queue order, as the expressions of the index reports_next_deadline. */
const queueOrder = (alias: string) => sql.raw(`(${alias}.next_deadline_at is null), ${alias}.next_deadline_at, ${alias}.id`);

/**
 * One row of `counts` joined to the page of the reports whose ids are in the CTE `matches`
 * when `held` (else none): a left join, so that the counts come back with an empty page too.
 * Newest first, only the page's ids are sorted before its rows are read; the queue order
 * needs every match's row, which is why a set is paged only when it has at most the cap.
 */
function pageWithCounts(counts: RawBuilder<unknown>, held: RawBuilder<unknown>, filter: ReportFilter): RawBuilder<unknown> {
  const page =
    filter.sort === "deadline"
      ? sql`select r.* from matches m cross join reports r on r.id = m.id where ${held} order by ${queueOrder("r")} limit ${filter.limit} offset ${filter.offset}`
      : sql`select r.* from (select id from matches where ${held} order by id desc limit ${filter.limit} offset ${filter.offset}) m cross join reports r on r.id = m.id`;
  return sql`select c.*, p.* from (${counts}) c left join (${page}) p on true order by ${filter.sort === "deadline" ? queueOrder("p") : sql.raw("p.id desc")}`;
}

function reportsOf(rows: CountedRow[]): Report[] {
  return rows.filter((row) => row.id != null).map(toReport);
}

/** How far the candidates for similar reports may reach: see `findReportsSharingWords`. */
export interface SharingBounds {
  /** A word found in more reports than this is too common to pick candidates by. */
  commonAt: number;
  /** The chosen words may be found in this many reports together, at most. */
  budget: number;
  /** With only common words, the newest this many matches are ranked. */
  newest: number;
}

const SHARING_BOUNDS: SharingBounds = { commonAt: 5_000, budget: 20_000, newest: 2_000 };

/**
 * Reports whose title or description shares words with `words`, best first by the
 * database's own ranking (FTS5 bm25, PostgreSQL ts_rank), for the similar-reports list.
 * Messages are left out: a thread drifts, the report itself is what is duplicated.
 *
 * Ranking every report that shares any of 32 words took seconds at a million reports
 * (common words such as "account" are in half of them), with the event loop held. So the
 * words are counted first (each up to `commonAt`, which is cheap), and the rarest are
 * used, as many as `budget` allows: they are what tells a duplicate apart. On a desk of a
 * few thousand reports that is every word. When every word is common, the newest matches
 * of the first three (the title's) are ranked.
 */
export async function findReportsSharingWords(db: Executor, words: string[], excludeId: number, limit: number, bounds: SharingBounds = SHARING_BOUNDS): Promise<number[]> {
  const counted: Array<{ word: string; reports: number }> = [];
  for (const word of words) counted.push({ word, reports: await countReportsWithWord(db, word, bounds.commonAt) });
  const found = counted.filter((c) => c.reports > 0);
  const chosen: string[] = [];
  let left = bounds.budget;
  for (const { word, reports } of found.filter((c) => c.reports <= bounds.commonAt).sort((a, b) => a.reports - b.reports)) {
    if (reports > left) break;
    chosen.push(word);
    left -= reports;
  }
  if (chosen.length > 0) return rankReportsSharing(db, chosen, excludeId, limit);
  if (found.length === 0) return [];
  return rankReportsSharing(
    db,
    found.slice(0, 3).map((c) => c.word),
    excludeId,
    limit,
    bounds.newest,
  );
}

/** How many reports have the word in their title or description, counted up to `cap + 1`. */
async function countReportsWithWord(db: Executor, word: string, cap: number): Promise<number> {
  const matches =
    databaseKindOf(db) === "sqlite"
      ? sql`select rowid from report_search where report_search match ${`{title description} : (${toFts5Query([word], { any: true })})`} limit ${cap + 1}`
      : sql`select report_id from report_search where document @@ to_tsquery('simple', ${`'${word}':AB`}) limit ${cap + 1}`;
  const row = await sql<{ n: number }>`select count(*) as n from (${matches}) as matches`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}

/** The reports sharing any of the words, best first; among the newest `newest` matches only, when given. */
async function rankReportsSharing(db: Executor, words: string[], excludeId: number, limit: number, newest?: number): Promise<number[]> {
  if (databaseKindOf(db) === "sqlite") {
    const match = `{title description} : (${toFts5Query(words, { any: true })})`;
    const rows =
      newest === undefined
        ? await sql<{ id: number }>`select rowid as id from report_search
            where report_search match ${match} and rowid <> ${excludeId}
            order by bm25(report_search, 4.0, 1.0, 0.0) limit ${limit}`.execute(db)
        : await sql<{ id: number }>`select id from (select rowid as id, bm25(report_search, 4.0, 1.0, 0.0) as rank from report_search
            where report_search match ${match} and rowid <> ${excludeId} order by rowid desc limit ${newest}) as newest
            order by rank, id desc limit ${limit}`.execute(db);
    return rows.rows.map((r) => Number(r.id));
  }
  const query = words.map((w) => `'${w}':AB`).join(" | ");
  const matches = sql`select report_id, document from report_search where document @@ to_tsquery('simple', ${query}) and report_id <> ${excludeId}`;
  const candidates = newest === undefined ? matches : sql`${matches} order by report_id desc limit ${newest}`;
  const rows = await sql<{ id: number }>`select report_id as id from (${candidates}) as candidates
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
