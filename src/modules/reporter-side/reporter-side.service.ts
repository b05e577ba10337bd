import { createHash } from "node:crypto";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import { openSecret, sealSecret } from "../../platform/crypto/at-rest.js";
import { generateSecret, hashSecret } from "../../platform/crypto/secrets.js";
import type { Db, Executor, Tx } from "../../platform/db/database.js";
import type { GroupCommit } from "../../platform/db/group-commit.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { DomainError, ReportNotFoundError } from "../../shared/errors.js";
import { recordAttachments, storeUploads, listAttachmentsOfReport, type AcceptedUpload, type Attachment } from "../attachments/index.js";
import { appendAuditEvent } from "../audit/index.js";
import { ENCRYPTED_CONTENT_TYPE, markBrowserEncrypted } from "../browser-encryption/index.js";
import { submitReport, type SubmitReportBody } from "../intake/index.js";
import {
  findReport,
  findReportByTrackingHash,
  insertMessage,
  listMessages,
  moveReport,
  readPauses,
  updateReportIfState,
  type Message,
  type Report,
  type ReportState,
} from "../reports/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import { computeDeadlines, firstResponsePromise, type Deadlines, type FirstResponsePromise } from "../sla/index.js";
import { canReporterReply, checkEscalation, creditFor, ESCALATION_COOLDOWN_MS, EscalationRefusedError, stateAfterReporterReply, type EscalationCheck } from "./reporter-side.js";
import { deleteExpiredConfirmations, insertConfirmation, readLastEscalation, stampEscalation, takeConfirmation } from "./reporter-side.repository.js";

/** What the reporter's side changes with: the database, the clock, and where to announce what happened. */
export interface ReporterSideDeps {
  db: Db;
  clock: Clock;
  events: Events;
  /** The group committer new reports share (see intake). */
  reportCommits: GroupCommit;
  settings: SettingsReader;
}

/** The confirmation page after the form can be opened once, within this time. */
export const CONFIRMATION_TTL_MS = 15 * 60 * 1000;

export const TrackingLinkNotValidError = () =>
  new DomainError("tracking_link_not_valid", "not_found", "This tracking link is not valid. Check that you copied the whole link from your receipt e-mail.");

const ReplyClosedError = () => new DomainError("reply_closed", "conflict", "This report is closed as spam; it takes no more replies.");

/** What the reporter sees on their tracking page. */
export interface ReporterView {
  report: Report;
  /** The public thread: team messages that are not internal, the reporter's own, and Shield's. */
  messages: Message[];
  attachments: Attachment[];
  deadlines: Deadlines;
  firstResponse: FirstResponsePromise;
  escalation: EscalationCheck;
  lastEscalatedAt: string | null;
}

/**
 * Finds the report behind a tracking link. The token is hashed and looked up whatever
 * it looks like: no shortcut on its format, so a wrong link costs the same as a right one.
 */
async function reportByToken(db: Executor, token: string): Promise<Report | undefined> {
  return findReportByTrackingHash(db, hashSecret(token));
}

export async function findReportForReporter(db: Db, clock: Clock, settings: Settings, token: string): Promise<ReporterView | undefined> {
  const report = await reportByToken(db, token);
  if (!report) return undefined;
  const [messages, attachments, lastEscalatedAt] = await Promise.all([
    listMessages(db, report.id, { includeInternal: false }),
    listAttachmentsOfReport(db, report.id),
    readLastEscalation(db, report.id),
  ]);
  const now = clock.now();
  // With the pauses placed in time, as the desk and the minute check see them.
  const pauses = await readPauses(db, report);
  const deadlines = computeDeadlines(report, settings, now, pauses);
  return { report, messages, attachments, deadlines, firstResponse: firstResponsePromise(report, settings, now, pauses), lastEscalatedAt, escalation: checkEscalation(report, deadlines, lastEscalatedAt, now) };
}

/**
 * A report from the public web form, with its attachments: the files are made durable
 * first, then the report, its attachment rows and its one-time confirmation commit
 * together. Returns the confirmation id (a secret for the reporter's browser only).
 */
export async function submitReportFromWeb(
  deps: ReporterSideDeps,
  blobs: BlobStore,
  input: SubmitReportBody,
  uploads: AcceptedUpload[],
  options: { browserEncrypted?: boolean; sender?: string } = {},
): Promise<{ report: Report; confirmationId: string }> {
  await storeUploads(blobs, uploads);
  const confirmationId = generateSecret(32);
  const { report } = await submitReport(deps, input, "web", {
    sender: options.sender,
    onStored: async (tx, stored, trackingToken) => {
      // Browser-encrypted (the form's checkbox): the ciphertext is stored as received, and said so.
      if (options.browserEncrypted) await markBrowserEncrypted(tx, stored.id, []);
      if (uploads.length) {
        const attachments = await recordAttachments(tx, { reportId: stored.id, messageId: null }, uploads, stored.receivedAt);
        // Only the files the browser encrypted: a field's bytes kept as sent are not.
        if (options.browserEncrypted) await markBrowserEncrypted(tx, stored.id, attachments.filter((a) => a.contentType === ENCRYPTED_CONTENT_TYPE).map((a) => a.id));
        await appendAuditEvent(
          tx,
          { kind: "public" },
          { action: "attachments.received", subjectType: "report", subjectId: String(stored.id), data: { attachmentIds: attachments.map((a) => a.id) } },
          stored.receivedAt,
        );
      }
      await deleteExpiredConfirmations(tx, stored.receivedAt);
      await insertConfirmation(tx, {
        idHash: hashSecret(confirmationId),
        reportId: stored.id,
        sealedToken: sealSecret(confirmationKey(confirmationId), trackingToken, confirmationContext(stored.id)),
        expiresAt: new Date(deps.clock.now().getTime() + CONFIRMATION_TTL_MS).toISOString(),
      });
    },
  });
  return { report, confirmationId };
}

/**
 * The tracking token sealed under a key derived from the confirmation id, which the
 * database holds only hashed: a copy of the database does not reveal the link.
 */
function confirmationKey(confirmationId: string): Buffer {
  return createHash("sha256").update(`shield report confirmation\n${confirmationId}`, "utf8").digest();
}

function confirmationContext(reportId: number): string {
  return `report-confirmation:${reportId}`;
}

/** Opens a confirmation once: the second call, or one after 15 minutes, finds nothing. */
export async function openConfirmation(db: Db, clock: Clock, confirmationId: string): Promise<{ report: Report; trackingToken: string } | undefined> {
  const row = await takeConfirmation(db, hashSecret(confirmationId));
  if (!row || Date.parse(row.expiresAt) < clock.now().getTime()) return undefined;
  const trackingToken = openSecret(confirmationKey(confirmationId), row.sealedToken, confirmationContext(row.reportId)).toString("utf8");
  const report = await reportByToken(db, trackingToken);
  return report && { report, trackingToken };
}

/**
 * The reporter answers on their tracking page. A report waiting for information goes
 * back to the state it came from and its clocks resume (the pause is added to
 * `pausedMs`); message, attachments, state change, the owner's notice and the audit
 * commit together.
 * @throws TrackingLinkNotValidError, ReplyClosedError (409), IllegalTransitionError
 */
export async function replyAsReporter(
  deps: ReporterSideDeps,
  blobs: BlobStore,
  token: string,
  input: { body: string; uploads: AcceptedUpload[] },
): Promise<{ report: Report; message: Message; resumedTo: ReportState | null }> {
  const before = await reportByToken(deps.db, token);
  if (!before) throw TrackingLinkNotValidError();
  if (!canReporterReply(before.state)) throw ReplyClosedError();
  await storeUploads(blobs, input.uploads);
  return deps.db.transaction().execute(async (tx) => {
    const report = await reportByToken(tx, token);
    if (!report) throw TrackingLinkNotValidError();
    return recordReporterReply(tx, deps, report, input);
  });
}

/**
 * The reporter answers by e-mail, to the report's reply address (checked by the caller).
 * The same as an answer on the tracking page; `onStored` runs in the same transaction
 * (the received message's own record). The uploads must be stored already.
 * @throws ReportNotFoundError, ReplyClosedError (409), IllegalTransitionError
 */
export async function replyAsReporterByMail(
  deps: ReporterSideDeps,
  reportId: number,
  input: { body: string; uploads: AcceptedUpload[] },
  onStored: (tx: Tx, report: Report, message: Message) => Promise<void>,
): Promise<{ report: Report; message: Message; resumedTo: ReportState | null }> {
  return deps.db.transaction().execute(async (tx) => {
    const report = await findReport(tx, reportId);
    if (!report) throw ReportNotFoundError(reportId);
    const outcome = await recordReporterReply(tx, deps, report, input);
    await onStored(tx, outcome.report, outcome.message);
    return outcome;
  });
}

/**
 * A report waiting for information goes back to the state it came from and its clocks
 * resume (the pause is added to `pausedMs`); message, attachments, state change, the
 * owner's notice and the audit commit together.
 */
async function recordReporterReply(
  tx: Tx,
  { clock, events, settings }: ReporterSideDeps,
  report: Report,
  input: { body: string; uploads: AcceptedUpload[] },
): Promise<{ report: Report; message: Message; resumedTo: ReportState | null }> {
  if (!canReporterReply(report.state)) throw ReplyClosedError();
  const now = clock.now();
  const at = now.toISOString();
  const message = await insertMessage(tx, { reportId: report.id, authorKind: "reporter", authorUserId: null, body: input.body, internal: false, createdAt: at });
  const attachments = await recordAttachments(tx, { reportId: report.id, messageId: message.id }, input.uploads, at);
  await appendAuditEvent(
    tx,
    { kind: "reporter" },
    { action: "report.reporter_replied", subjectType: "report", subjectId: String(report.id), data: { messageId: message.id, attachmentIds: attachments.map((a) => a.id) } },
    at,
  );

  let updated = report;
  const resumedTo = stateAfterReporterReply(report);
  if (resumedTo) {
    ({ report: updated } = await moveReport(tx, events, await settings.get(tx), { kind: "reporter" }, report, { to: resumedTo, reason: "The reporter answered; the clocks resume.", messageId: message.id, at: now }));
  } else {
    await updateReportIfState(tx, await settings.get(tx), report.id, report.state, { updatedAt: at });
  }
  await events.publish(tx, "report.reporter_replied", { reportId: report.id, messageId: message.id }, now);
  return { report: updated, message, resumedTo };
}

/**
 * Changes how the reporter is credited (advisories, hall of fame), audited.
 * @throws TrackingLinkNotValidError
 */
export async function changeCredit(
  { db, clock, settings }: Pick<ReporterSideDeps, "db" | "clock" | "settings">,
  token: string,
  credit: { name?: string; url?: string; anonymous?: boolean } | undefined,
): Promise<Report> {
  return db.transaction().execute(async (tx) => {
    const report = await reportByToken(tx, token);
    if (!report) throw TrackingLinkNotValidError();
    const at = clock.now().toISOString();
    const changes = { ...creditFor(report.reporterName, credit), updatedAt: at };
    if (!(await updateReportIfState(tx, await settings.get(tx), report.id, report.state, changes))) {
      throw new DomainError("report_changed", "conflict", "The report changed at the same moment; send the form again.");
    }
    await appendAuditEvent(tx, { kind: "reporter" }, { action: "report.credit_changed", subjectType: "report", subjectId: String(report.id), data: changes }, at);
    return { ...report, ...changes };
  });
}

/**
 * The reporter pages the team: allowed only once the promised first response is
 * overdue with no human answer, at most once per 12 hours (enforced by one guarded
 * write, so concurrent presses page once). The page itself is outbox work: an e-mail
 * to the team and, when configured, a webhook post.
 * @throws TrackingLinkNotValidError, EscalationRefusedError (409)
 */
export async function escalateReport({ db, clock, events }: ReporterSideDeps, settings: Settings, token: string): Promise<{ report: Report; escalatedAt: string }> {
  return db.transaction().execute(async (tx) => {
    const report = await reportByToken(tx, token);
    if (!report) throw TrackingLinkNotValidError();
    const now = clock.now();
    const at = now.toISOString();
    const deadlines = computeDeadlines(report, settings, now, await readPauses(tx, report));
    const check = checkEscalation(report, deadlines, await readLastEscalation(tx, report.id), now);
    if (!check.ok) throw EscalationRefusedError(check.why);
    const notBefore = new Date(now.getTime() - ESCALATION_COOLDOWN_MS).toISOString();
    if (!(await stampEscalation(tx, report.id, at, notBefore))) {
      throw EscalationRefusedError("You escalated this report less than 12 hours ago; the team has been paged.");
    }
    // checkEscalation allows it only once the promised first response has passed, so there is one.
    await events.publish(tx, "report.escalated", { reportId: report.id, escalatedAt: at, firstResponseDue: deadlines.firstResponse! }, now, { urgent: true });
    await appendAuditEvent(
      tx,
      { kind: "reporter" },
      { action: "report.escalated", subjectType: "report", subjectId: String(report.id), data: { firstResponseDue: deadlines.firstResponse, webhook: settings.webhookUrl != null } },
      at,
    );
    return { report, escalatedAt: at };
  });
}
