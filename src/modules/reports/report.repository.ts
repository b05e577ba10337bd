import type { Insertable, Selectable, Updateable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { MessagesTable, ReportsTable } from "../../platform/db/schema.js";
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
  const row = await db
    .insertInto("reports")
    .values({ ...(toRow(report) as Insertable<ReportsTable>), tracking_hash: trackingHash, paused_ms: 0 })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toReport(row);
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
  const result = await db.updateTable("reports").set(toRow(changes)).where("id", "=", id).where("state", "=", expected).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface ReportFilter {
  states?: ReportState[];
  channels?: Channel[];
  limit: number;
  offset: number;
}

export async function listReports(db: Executor, filter: ReportFilter): Promise<{ reports: Report[]; total: number }> {
  const base = db
    .selectFrom("reports")
    .$if(!!filter.states?.length, (qb) => qb.where("state", "in", filter.states!))
    .$if(!!filter.channels?.length, (qb) => qb.where("channel", "in", filter.channels!));
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy("id", "desc").limit(filter.limit).offset(filter.offset).execute(),
    base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { reports: rows.map(toReport), total: Number(count.n) };
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
