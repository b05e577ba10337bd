import { readOncePerBatch,takeReservedId,writeAtCommit,type CommitWriter } from "../../platform/db/group-commit.js";
import { sql,type Insertable,type Selectable,type Updateable } from "kysely";
import { slicesWithTurns } from "../../platform/db/slices.js";
import type { Db,Executor,Tx } from "../../platform/db/database.js";
import { insertRow,insertRows } from "../../platform/db/compiled-once.js";
import { databaseKindOf } from "../../platform/db/dialect.js";
import type { ReportsTable } from "../../platform/db/schema.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import { readPauses,readPausesOf } from "./report-pauses.repository.js";
import { serviceTermsFor,type OpenReportClocks,type PauseInterval,type ServiceTerms } from "../sla/index.js";
import { computeNextDeadline } from "./next-deadline.js";
import { arrivingReport,CHANNELS,type EncryptedArrival,OPEN_STATES,TRACKED_CHANNELS,type Channel,type NewReport,type Report,type ReportState,type Severity } from "./report.js";

export type ReportRow = Selectable<ReportsTable>;

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
export async function insertReport(db: Executor, settingsReader: SettingsReader, report: NewReport, trackingHash: string, options: { atCommit?: boolean } = {}): Promise<Report> {
  // Read once for all reports of a group commit: they arrive at one moment, under one set of terms.
  const settings = await readOncePerBatch(db, "settings", () => settingsReader.get(db));
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
export async function updateReportIfState(db: Executor, settings: Settings, id: number, expected: ReportState, changes: Partial<Report>): Promise<boolean> {
  const row = await db.updateTable("reports").set(toRow(changes)).where("id", "=", id).where("state", "=", expected).returningAll().executeTakeFirst();
  if (!row) return false;
  // Whoever moves a report also moves it in the queue.
  await storeNextDeadline(db, row, settings);
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
