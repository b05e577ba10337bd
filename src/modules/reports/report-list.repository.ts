import { sql,type RawBuilder } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import { toFts5Query,toTsQuery } from "./report-search.js";
import { type Channel,type Report,type ReportState,type Severity } from "./report.js";

import { toReport,type ReportRow } from "./report.repository.js";

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
