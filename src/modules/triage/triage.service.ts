import type { Updateable } from "kysely";
import type { Db } from "../../platform/db/database.js";
import type { ReportsTable } from "../../platform/db/schema.js";
import { enqueue } from "../../platform/jobs/job.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { DomainError, FieldsRefusedError, ReportNotFoundError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { findUserByEmail, mayOwnReports } from "../people/index.js";
import {
  CHANNEL_LABELS,
  CLOSING_STATES,
  checkTransition,
  findReport,
  findReportDetails,
  findReportsSharingWords,
  insertMessage,
  refreshNextDeadline,
  moveReport,
  publishOwnerAssigned,
  REPORT_UPDATE_JOB,
  type CvssDetails,
  type Channel,
  type Message,
  type ReportState,
  type Upstream,
} from "../reports/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import { serviceTermsFor } from "../sla/index.js";
import { InvalidCvssVectorError, scoreCvssVector, type CvssVersion } from "./cvss.js";
import { lookUpCwe } from "./cwe.js";
import { findSimilarityRows, findUpstream, insertUpstream, lockReportRow, updateReportColumns, updateUpstream, deleteUpstream } from "./triage.repository.js";
import type { ChannelChangeBody, CreateUpstreamBody, MessageBody, PatchReportBody, PatchUpstreamBody } from "./triage.schemas.js";
import { BOUNTY_DECISION_JOB } from "./bounty-decision.job.js";
import { applyBountyChange, bountyDecisionOf, checkUpstreamReference, decideSeverity, diffFields, scoreSimilarity, similarityQueryWords } from "./triage.js";

/** What the team's changes to a report need: the database, the clock, and where to announce what happened. */
export interface TriageDeps {
  db: Db;
  clock: Clock;
  events: Events;
  settings: SettingsReader;
}

const UpstreamNotFoundError = (reportId: number, upstreamId: number) =>
  new DomainError("upstream_not_found", "not_found", `Report ${reportId} has no upstream ${upstreamId}.`);

function scoreVector(version: CvssVersion, vector: string, field: string, problems: Record<string, string>): CvssDetails | null {
  try {
    const { score, rating } = scoreCvssVector(version, vector);
    return { vector, score, rating };
  } catch (error) {
    if (!(error instanceof InvalidCvssVectorError)) throw error;
    problems[field] = error.problem;
    return null;
  }
}

/**
 * Changes a report's triage fields: CVSS vectors (scored here), severity, CWE, owner,
 * asset, affected versions, bounty. Everything is checked first and refused together
 * with one message per field; then the changes commit in one transaction with one audit
 * entry that lists each changed field before and after.
 * @throws ReportNotFoundError, ValidationError
 */
export async function updateReportTriage({ db, clock, events }: TriageDeps, settings: Settings, actor: Actor, id: number, patch: PatchReportBody): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await lockReportRow(tx, id);
    if (!row) throw ReportNotFoundError(id);
    const current = (await findReportDetails(tx, id))!;
    const now = clock.now();
    const at = now.toISOString();
    const problems: Record<string, string> = {};

    const cvss31 = patch.cvss31Vector === undefined ? current.cvss31 : patch.cvss31Vector === null ? null : scoreVector("3.1", patch.cvss31Vector, "cvss31Vector", problems);
    const cvss40 = patch.cvss40Vector === undefined ? current.cvss40 : patch.cvss40Vector === null ? null : scoreVector("4.0", patch.cvss40Vector, "cvss40Vector", problems);
    const severity = decideSeverity({ severity: current.severity, source: current.severitySource, cvss31: current.cvss31, cvss40: current.cvss40 }, { severity: patch.severity, cvss31, cvss40 });

    let cwe = current.cwe;
    if (patch.cwe === null) cwe = null;
    else if (patch.cwe !== undefined) {
      const found = lookUpCwe(patch.cwe);
      if (found.ok) cwe = { id: found.entry.id, name: found.entry.name };
      else problems.cwe = found.problem;
    }

    let ownerId = row.owner_id;
    let ownerEmail = current.ownerEmail;
    if (patch.ownerEmail === null) {
      if (row.state !== "new") problems.ownerEmail = "cannot be removed: a report that was acknowledged keeps exactly one owner; name the new owner instead";
      ownerId = null;
      ownerEmail = null;
    } else if (patch.ownerEmail !== undefined) {
      const owner = await findUserByEmail(tx, patch.ownerEmail.toLowerCase());
      if (!owner || owner.disabledAt) problems.ownerEmail = "is not an active team member";
      else if (!mayOwnReports(owner)) problems.ownerEmail = "must be a triager or an admin: viewers cannot own reports";
      else {
        ownerId = owner.id;
        ownerEmail = owner.email;
      }
    }

    const bountyChange = applyBountyChange(current.bounty, patch.bounty ?? {}, settings.bountyTable.currency, now);
    Object.assign(problems, bountyChange.problems);
    if (Object.keys(problems).length) throw FieldsRefusedError(problems);
    const bounty = bountyChange.bounty;

    const asset = patch.asset === undefined ? row.asset : patch.asset;
    const affectedVersions = patch.affectedVersions === undefined ? current.affectedVersions : patch.affectedVersions;

    const snapshot = (s: {
      cvss31: CvssDetails | null;
      cvss40: CvssDetails | null;
      severity: typeof severity;
      cwe: typeof cwe;
      owner: string | null;
      asset: string | null;
      affectedVersions: string | null;
      bounty: typeof bounty;
    }) => ({
      cvss31: s.cvss31,
      cvss40: s.cvss40,
      severity: s.severity.severity,
      severitySource: s.severity.source,
      cwe: s.cwe?.id ?? null,
      owner: s.owner,
      asset: s.asset,
      affectedVersions: s.affectedVersions,
      "bounty.eligible": s.bounty.eligible,
      "bounty.reason": s.bounty.reason,
      "bounty.amount": s.bounty.amount,
      "bounty.currency": s.bounty.currency,
      "bounty.awardedAt": s.bounty.awardedAt,
      "bounty.paidAt": s.bounty.paidAt,
    });
    const changes = diffFields(
      snapshot({
        cvss31: current.cvss31,
        cvss40: current.cvss40,
        severity: { severity: current.severity, source: current.severitySource },
        cwe: current.cwe,
        owner: current.ownerEmail,
        asset: row.asset,
        affectedVersions: current.affectedVersions,
        bounty: current.bounty,
      }),
      snapshot({ cvss31, cvss40, severity, cwe, owner: ownerEmail, asset, affectedVersions, bounty }),
    );
    if (Object.keys(changes).length === 0) return;

    const columns: Updateable<ReportsTable> = {
      cvss31_vector: cvss31?.vector ?? null,
      cvss31_score: cvss31?.score ?? null,
      cvss31_rating: cvss31?.rating ?? null,
      cvss40_vector: cvss40?.vector ?? null,
      cvss40_score: cvss40?.score ?? null,
      cvss40_rating: cvss40?.rating ?? null,
      severity: severity.severity,
      severity_source: severity.source,
      cwe_id: cwe?.id ?? null,
      cwe_name: cwe?.name ?? null,
      owner_id: ownerId,
      asset,
      affected_versions: affectedVersions,
      bounty_eligible: bounty.eligible === null ? null : bounty.eligible ? 1 : 0,
      bounty_reason: bounty.reason,
      bounty_amount: bounty.amount,
      bounty_currency: bounty.currency,
      bounty_awarded_at: bounty.awardedAt,
      bounty_paid_at: bounty.paidAt,
      updated_at: at,
    };
    await updateReportColumns(tx, id, columns);
    if (ownerId != null && ownerId !== row.owner_id) await publishOwnerAssigned(tx, events, id, ownerId, actor, now);
    // The reporter hears the bounty decision, in their thread (bounty-decision.job.ts).
    const decision = bountyDecisionOf(current.bounty, bounty);
    if (decision) await enqueue(tx, BOUNTY_DECISION_JOB, { reportId: id, decision }, now);
    // The resolution target depends on the severity.
    if ("severity" in changes) await refreshNextDeadline(tx, id, settings);
    await appendAuditEvent(tx, actor, { action: "report.triage_updated", subjectType: "report", subjectId: String(id), data: { changes } }, at);
  });
}

/**
 * Adds a message from the team. A reply (not internal) is e-mailed to the reporter
 * through the outbox; the first one on a new report is the first human answer: it
 * acknowledges the report, stopping the first-response clock, and makes the replier
 * its owner unless it has one. An internal note is stored for the team only: it is
 * never sent and never changes the report's state.
 * @throws ReportNotFoundError
 */
export async function postTeamMessage(
  { db, clock, events, settings }: TriageDeps,
  actor: Actor,
  id: number,
  input: MessageBody,
): Promise<{ message: Message; acknowledged: boolean }> {
  return db.transaction().execute(async (tx) => {
    if (!(await lockReportRow(tx, id))) throw ReportNotFoundError(id);
    const report = (await findReport(tx, id))!;
    const now = clock.now();
    const at = now.toISOString();
    const message = await insertMessage(tx, {
      reportId: id,
      authorKind: "team",
      authorUserId: actor.kind === "user" ? actor.userId : null,
      body: input.body,
      internal: input.internal,
      createdAt: at,
    });

    // The first reply on a new report is the first human answer: it acknowledges the report.
    const acknowledgement = { to: "acknowledged" as const, ownerId: report.ownerId ?? (actor.kind === "user" ? actor.userId : null), message: input.body };
    const acknowledged = !input.internal && report.state === "new" && checkTransition(report, acknowledgement).ok;
    if (acknowledged) {
      await moveReport(tx, events, await settings.get(tx), actor, report, { ...acknowledgement, reason: "First reply to the reporter", messageId: message.id, at: now });
    } else {
      await updateReportColumns(tx, id, { updated_at: at });
    }
    await appendAuditEvent(tx, actor, { action: "report.message_added", subjectType: "report", subjectId: String(id), data: { messageId: message.id, internal: input.internal } }, at);
    // The move told the reporter already; any other reply is an update of its own.
    if (!input.internal && !acknowledged) await enqueue(tx, REPORT_UPDATE_JOB, { reportId: id, from: report.state, to: report.state, messageId: message.id }, now);
    return { message, acknowledged };
  });
}

function checkReference(reference: string | null | undefined): void {
  const problem = reference ? checkUpstreamReference(reference) : null;
  if (problem) throw FieldsRefusedError({ reference: problem });
}

const upstreamSnapshot = (u: Pick<Upstream, "project" | "contact" | "reference" | "status" | "embargoUntil">) => ({
  project: u.project,
  contact: u.contact,
  reference: u.reference,
  status: u.status,
  embargoUntil: u.embargoUntil,
});

/**
 * Records an upstream project the issue also concerns (a library, a framework).
 * @throws ReportNotFoundError, ValidationError
 */
export async function addUpstream(db: Db, clock: Clock, actor: Actor, reportId: number, input: CreateUpstreamBody): Promise<Upstream> {
  checkReference(input.reference);
  return db.transaction().execute(async (tx) => {
    if (!(await lockReportRow(tx, reportId))) throw ReportNotFoundError(reportId);
    const at = clock.now().toISOString();
    const upstream = await insertUpstream(
      tx,
      reportId,
      { project: input.project, contact: input.contact ?? null, reference: input.reference ?? null, status: input.status, embargoUntil: input.embargoUntil ?? null },
      at,
    );
    await updateReportColumns(tx, reportId, { updated_at: at });
    await appendAuditEvent(
      tx,
      actor,
      { action: "report.upstream_added", subjectType: "report", subjectId: String(reportId), data: { upstreamId: upstream.id, ...upstreamSnapshot(upstream) } },
      at,
    );
    return upstream;
  });
}

/** @throws ReportNotFoundError, UpstreamNotFoundError, ValidationError */
export async function changeUpstream(db: Db, clock: Clock, actor: Actor, reportId: number, upstreamId: number, input: PatchUpstreamBody): Promise<void> {
  checkReference(input.reference);
  await db.transaction().execute(async (tx) => {
    if (!(await lockReportRow(tx, reportId))) throw ReportNotFoundError(reportId);
    const before = await findUpstream(tx, reportId, upstreamId);
    if (!before) throw UpstreamNotFoundError(reportId, upstreamId);
    const after: Upstream = {
      ...before,
      project: input.project ?? before.project,
      contact: input.contact === undefined ? before.contact : input.contact,
      reference: input.reference === undefined ? before.reference : input.reference,
      status: input.status ?? before.status,
      embargoUntil: input.embargoUntil === undefined ? before.embargoUntil : input.embargoUntil,
    };
    const changes = diffFields(upstreamSnapshot(before), upstreamSnapshot(after));
    if (Object.keys(changes).length === 0) return;
    const at = clock.now().toISOString();
    await updateUpstream(tx, after, at);
    await updateReportColumns(tx, reportId, { updated_at: at });
    await appendAuditEvent(tx, actor, { action: "report.upstream_changed", subjectType: "report", subjectId: String(reportId), data: { upstreamId, changes } }, at);
  });
}

/** @throws ReportNotFoundError, UpstreamNotFoundError */
export async function removeUpstream(db: Db, clock: Clock, actor: Actor, reportId: number, upstreamId: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (!(await lockReportRow(tx, reportId))) throw ReportNotFoundError(reportId);
    const before = await findUpstream(tx, reportId, upstreamId);
    if (!before) throw UpstreamNotFoundError(reportId, upstreamId);
    const at = clock.now().toISOString();
    await deleteUpstream(tx, upstreamId);
    await updateReportColumns(tx, reportId, { updated_at: at });
    await appendAuditEvent(
      tx,
      actor,
      { action: "report.upstream_removed", subjectType: "report", subjectId: String(reportId), data: { upstreamId, ...upstreamSnapshot(before) } },
      at,
    );
  });
}

export interface SimilarReport {
  id: number;
  title: string;
  state: ReportState;
  channel: Channel;
  asset: string | null;
  cwe: string | null;
  receivedAt: string;
  score: number;
}

/**
 * The reports most like this one, for marking it a duplicate: candidates come from the
 * full-text index (words of the title and description), then each is scored the same
 * way on both databases (see `scoreSimilarity`). Ties go to the older report, the
 * likelier original.
 * @throws ReportNotFoundError
 */
export async function findSimilarReports(db: Db, id: number, limit = 5): Promise<SimilarReport[]> {
  const [source] = await findSimilarityRows(db, [id]);
  if (!source) throw ReportNotFoundError(id);
  const words = similarityQueryWords(source);
  const candidates = await findSimilarityRows(db, await findReportsSharingWords(db, words, id, 100));
  const input = (r: typeof source) => ({ title: r.title, description: r.description, asset: r.asset, cweId: r.cwe_id });
  return candidates
    .map((c) => ({ row: c, score: scoreSimilarity(input(source), input(c)) }))
    .filter((c) => c.score > 0)
    .sort((a, b) => b.score - a.score || a.row.received_at.localeCompare(b.row.received_at) || a.row.id - b.row.id)
    .slice(0, limit)
    .map(({ row, score }) => ({ id: row.id, title: row.title, state: row.state as ReportState, channel: row.channel as Channel, asset: row.asset, cwe: row.cwe_id, receivedAt: row.received_at, score }));
}

/**
 * Moves a report to another tracked channel (mail to security@ that turns out to be an
 * account under attack). Its clocks then follow the new channel: the report takes the
 * new channel's terms of today's settings, counted from its receipt as always, so a
 * first response may be due at once. A report moved to the account-attack channel pages
 * the team as a new one would. Audited with both channels and the reason.
 * @throws ReportNotFoundError, DomainError `channel_unchanged` / `report_closed` (409)
 */
export async function changeReportChannel({ db, clock, events }: TriageDeps, settings: Settings, actor: Actor, id: number, body: ChannelChangeBody): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await lockReportRow(tx, id);
    if (!row) throw ReportNotFoundError(id);
    if (row.channel === body.channel) throw new DomainError("channel_unchanged", "conflict", `The report is already in the ${CHANNEL_LABELS[body.channel as Channel]} channel.`);
    if ((CLOSING_STATES as readonly string[]).includes(row.state) || row.state === "disclosed") {
      throw new DomainError("report_closed", "conflict", "A closed report keeps its channel: its clocks have stopped.");
    }
    const now = clock.now();
    const at = now.toISOString();
    const terms = serviceTermsFor(body.channel, settings);
    await updateReportColumns(tx, id, { channel: body.channel, service_terms: terms ? JSON.stringify(terms) : null, updated_at: at });
    await refreshNextDeadline(tx, id, settings);
    await appendAuditEvent(tx, actor, { action: "report.channel_changed", subjectType: "report", subjectId: String(id), data: { from: row.channel, to: body.channel, reason: body.reason } }, at);
    // An account under attack pages the team, as when such a report arrives.
    await events.publish(tx, "report.channel_changed", { reportId: id, from: row.channel, to: body.channel }, now, { urgent: body.channel === "account_attack" });
  });
}
