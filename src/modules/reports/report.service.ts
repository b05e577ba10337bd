import type { Db, Tx } from "../../platform/db/database.js";
import { enqueue } from "../../platform/jobs/job.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { DomainError, IllegalTransitionError, ReportNotFoundError, UserNotFoundError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { findUserByEmail, mayOwnReports } from "../people/index.js";
import type { Settings } from "../settings/index.js";
import {
  applyTransition,
  arrivedEncrypted,
  checkTransition,
  isClosingState,
  LIFECYCLE,
  REPORT_TRANSITIONED,
  supportReferralMessage,
  type EncryptedArrival,
  type Report,
  type ReportState,
  type SupportHandover,
  type TransitionInput,
} from "./report.js";
import type { ReportDetails } from "./report-details.js";
import { findEncryptedArrival, findReport, updateReportIfState } from "./report.repository.js";
import { findReportDetails } from "./report-details.repository.js";
import { listReports, type ReportFilter } from "./report-list.repository.js";
import { insertMessage, listMessages, type Message } from "./report-messages.repository.js";
import type { TransitionBody } from "./report.schemas.js";
import { REPORT_UPDATE_JOB, SUPPORT_FORWARD_JOB } from "./report.jobs.js";

/** The audit action of a team member's reading of a report. */
export const REPORT_VIEWED = "report.viewed";

/** A report that arrived encrypted is routed to support only with the team's choice of how (409). */
export const SupportHandoverRequiredError = (id: number, arrival: EncryptedArrival) =>
  new DomainError(
    "support_handover_required",
    "conflict",
    `Report ${id} arrived encrypted (${arrival.browser ? "in the reporter's browser" : "as PGP mail"}), so it is not forwarded to support as it is. Choose: forward a decrypted copy to support (supportHandover: forward_decrypted, recorded in the audit log), or reply to the reporter instead (supportHandover: reply_to_reporter).`,
    { supportHandover: "choose forward_decrypted or reply_to_reporter" },
  );

/**
 * The audit event of a report's state change, whoever makes it. Besides the trail, the
 * service-level clocks read a report's pauses from these (sla/pauses.repository.ts).
 */
export async function recordTransition(
  tx: Tx,
  actor: Actor,
  reportId: number,
  change: { from: ReportState; to: ReportState; reason: string } & Record<string, unknown>,
  at: string,
): Promise<void> {
  await appendAuditEvent(tx, actor, { action: REPORT_TRANSITIONED, subjectType: "report", subjectId: String(reportId), data: change }, at);
}

/**
 * One report with its thread, for the team. Every read is audited: the body is
 * confidential, and the log shows who looked at it. `recordRead: false` is for the
 * answer to a change the member just made, which is not a read.
 * @throws ReportNotFoundError
 */
export async function readReportAsTeam(
  db: Db,
  clock: Clock,
  actor: Actor,
  id: number,
  options: { recordRead?: boolean } = {},
): Promise<{ report: Report; messages: Message[]; details: ReportDetails }> {
  return db.transaction().execute(async (tx) => {
    const report = await findReport(tx, id);
    if (!report) throw ReportNotFoundError(id);
    const messages = await listMessages(tx, id, { includeInternal: true });
    const details = (await findReportDetails(tx, id))!;
    if (options.recordRead !== false) await appendAuditEvent(tx, actor, { action: REPORT_VIEWED, subjectType: "report", subjectId: String(id) }, clock.now().toISOString());
    return { report, messages, details };
  });
}

/** Lists reports for the team; the queue order (`sort: "deadline"`) is each report's stored next deadline, which a change of the settings leaves as it is. */
export async function listReportsForTeam(db: Db, filter: ReportFilter) {
  return listReports(db, filter);
}

/**
 * The owner filter of a list: `me`, `none` or a member's e-mail address.
 * @throws DomainError owner_not_found (400) for an address that is no team member
 */
export async function resolveOwnerFilter(db: Db, actor: Actor, owner: string | undefined): Promise<number | null | undefined> {
  if (owner === undefined) return undefined;
  if (owner === "none") return null;
  if (owner === "me") {
    if (actor.kind !== "user") throw new DomainError("owner_not_found", "invalid", "Only a team member has reports of their own.", { owner: "use an e-mail address" });
    return actor.userId;
  }
  const user = await findUserByEmail(db, owner.toLowerCase());
  if (!user) throw new DomainError("owner_not_found", "invalid", `No team member ${owner}.`, { owner: "must be a team member's e-mail address, `me` or `none`" });
  return user.id;
}

/** What changing a report needs: the database, the clock, and where to announce what happened. */
export interface ReportDeps {
  db: Db;
  clock: Clock;
  events: Events;
}

/**
 * Announces a report's new owner (the notifications tell them, unless they took it
 * themselves). Call inside the transaction that changes the owner.
 */
export async function publishOwnerAssigned(tx: Tx, events: Events, reportId: number, ownerId: number, actor: Actor, at: Date): Promise<void> {
  const by = actor.kind === "user" ? { kind: "user" as const, userId: actor.userId, email: actor.email } : { kind: actor.kind === "cli" ? ("cli" as const) : ("system" as const) };
  await events.publish(tx, "report.owner_assigned", { reportId, ownerId, by }, at);
}

/** A move of a report, as its caller asks for it (see `moveReport`). */
export interface MoveInput extends TransitionInput {
  /** Why, for the audit log. */
  reason: string;
  /** For a move to `routed_to_support`: how support gets the report (see SUPPORT_HANDOVERS); default forwarded as stored. */
  supportHandover?: SupportHandover;
  /**
   * A message already stored that goes with the move (the reply that acknowledges a report,
   * the reporter's answer); otherwise `message`, when given, is stored as the team's.
   */
  messageId?: number;
  at: Date;
}

/**
 * The one way a report changes state, inside the caller's transaction: checked against
 * the lifecycle table, applied only if nobody moved the report meanwhile, with its message
 * to the reporter, its audit event (who, why, from, to), and what the table says follows
 * (the reporter's update mail unless they made the move themselves, the hand-over to
 * support).
 * @throws IllegalTransitionError (409)
 */
export async function moveReport(tx: Tx, events: Events, settings: Settings, actor: Actor, report: Report, input: MoveInput): Promise<{ report: Report; messageId: number | null }> {
  const check = checkTransition(report, input);
  if (!check.ok) throw IllegalTransitionError(report.state, input.to, check.why);
  const at = input.at.toISOString();
  const changes = applyTransition(report, input, input.at);
  if (!(await updateReportIfState(tx, settings, report.id, report.state, changes))) {
    const why = actor.kind === "reporter" ? "the team changed the report at the same moment; send your answer again." : "someone else changed the report at the same moment; reload and try again.";
    throw IllegalTransitionError(report.state, input.to, why);
  }
  const updated = { ...report, ...changes } as Report;
  const rule = LIFECYCLE[input.to];
  let messageId = input.messageId ?? null;
  if (messageId == null && input.message && rule.tellsReporter) {
    const stored = await insertMessage(tx, {
      reportId: report.id,
      authorKind: "team",
      authorUserId: actor.kind === "user" ? actor.userId : null,
      body: input.message,
      internal: false,
      createdAt: at,
    });
    messageId = stored.id;
  }
  await recordTransition(
    tx,
    actor,
    report.id,
    {
      from: report.state,
      to: input.to,
      reason: input.reason,
      ownerId: updated.ownerId,
      severity: updated.severity,
      duplicateOf: updated.duplicateOf,
      messageId,
      pausedMs: updated.pausedMs,
      ...(rule.forwardsToSupport ? { supportHandover: input.supportHandover ?? "forward" } : {}),
    },
    at,
  );
  if (updated.ownerId != null && updated.ownerId !== report.ownerId) await publishOwnerAssigned(tx, events, report.id, updated.ownerId, actor, input.at);
  if (rule.tellsReporter && actor.kind !== "reporter") {
    await enqueue(tx, REPORT_UPDATE_JOB, { reportId: report.id, from: report.state, to: input.to, messageId }, input.at);
  }
  if (rule.forwardsToSupport && input.supportHandover !== "reply_to_reporter") {
    await enqueue(tx, SUPPORT_FORWARD_JOB, { reportId: report.id, decrypted: input.supportHandover === "forward_decrypted" }, input.at);
  }
  return { report: updated, messageId };
}

/**
 * Moves a report along its lifecycle as a team member or token asks (API, desk): resolves
 * the new owner and the duplicated report, takes a canned response for a closing outcome
 * without a message of its own, then `moveReport`.
 * @throws ReportNotFoundError, IllegalTransitionError (409), UserNotFoundError
 */
export async function transitionReport(
  { db, clock, events }: ReportDeps,
  settings: Settings,
  actor: Actor,
  id: number,
  input: TransitionBody,
  options: { viaAdvisory?: boolean } = {},
): Promise<Report> {
  return db.transaction().execute(async (tx) => {
    const report = await findReport(tx, id);
    if (!report) throw ReportNotFoundError(id);

    let ownerId: number | undefined;
    if (input.ownerEmail) {
      const owner = await findUserByEmail(tx, input.ownerEmail.toLowerCase());
      if (!owner || owner.disabledAt) throw UserNotFoundError(input.ownerEmail);
      if (!mayOwnReports(owner)) throw new DomainError("owner_not_allowed", "invalid", `${owner.email} is a viewer and cannot own a report.`, { ownerEmail: "must be a triager or an admin" });
      ownerId = owner.id;
    } else if (input.to === "acknowledged" && report.ownerId == null && actor.kind === "user") {
      ownerId = actor.userId;
    }
    if (input.duplicateOf !== undefined && input.duplicateOf !== id && !(await findReport(tx, input.duplicateOf))) {
      throw new DomainError("report_not_found", "invalid", `Report ${input.duplicateOf} does not exist.`, { duplicateOf: "must be an existing report" });
    }
    let supportHandover = input.supportHandover;
    if (LIFECYCLE[input.to].forwardsToSupport && report.state !== input.to) {
      const arrival = await findEncryptedArrival(tx, id);
      if (arrivedEncrypted(arrival) && supportHandover === undefined) throw SupportHandoverRequiredError(id, arrival);
      if (supportHandover === "forward_decrypted" && !arrivedEncrypted(arrival)) supportHandover = undefined;
      if (supportHandover === "forward_decrypted") {
        // The clear text of an encrypted report leaves the desk: who chose it, and where it goes.
        await appendAuditEvent(
          tx,
          actor,
          { action: "report.support_copy_decrypted", subjectType: "report", subjectId: String(id), data: { to: settings.supportEmail, browserEncrypted: arrival.browser, mailEncrypted: arrival.mail, reason: input.reason } },
          clock.now().toISOString(),
        );
      }
    }
    const message =
      input.message ??
      (supportHandover === "reply_to_reporter" ? supportReferralMessage(settings.supportEmail) : isClosingState(input.to) ? settings.cannedResponses[input.to] : undefined);
    const moved = await moveReport(tx, events, settings, actor, report, {
      supportHandover,
      to: input.to,
      viaAdvisory: options.viaAdvisory,
      duplicateOf: input.duplicateOf,
      ownerId,
      severity: input.severity,
      message,
      reason: input.reason,
      at: clock.now(),
    });
    return moved.report;
  });
}
