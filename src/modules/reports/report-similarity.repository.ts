import { sql } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import { toFts5Query } from "./report-search.js";

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
