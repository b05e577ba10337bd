import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { Logger } from "pino";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import type { Tagger } from "../../platform/crypto/tags.js";
import { readPublicKeys } from "../../platform/crypto/openpgp.js";
import type { Db, Tx } from "../../platform/db/database.js";
import type { MailAuthentication } from "../../platform/mail/inbound/mail-authentication.js";
import type { MimeParser, ParsedMail } from "../../platform/mail/inbound/mime-parser.js";
import type { MailThread } from "../../platform/mail/mailer.js";
import { headerFields, splitHeader, withoutTransportHeaders } from "../../platform/mail/inbound/raw-mime.js";
import type { Events } from "../../shared/events.js";
import type { Clock } from "../../shared/clock.js";
import type { GroupCommit } from "../../platform/db/group-commit.js";
import { DomainError, ReportNotFoundError } from "../../shared/errors.js";
import { stageUpload, storeUploads, discardUploads, recordAttachments, type AcceptedUpload } from "../attachments/index.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { submitReport } from "../intake/index.js";
import { validateReporterKey, type TeamKeyring } from "../keys/index.js";
import { replyAsReporterByMail } from "../reporter-side/index.js";
import { findReport, updateReportIfState, type Report } from "../reports/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import {
  classifyRecipient,
  headersOf,
  isDeliveryReport,
  normaliseAddress,
  replyBodyOf,
  replyAddressFor,
  replySubject,
  reportFieldsFromMail,
  whyNoAutomaticReply,
  type InboundAddressSettings,
  type MailChannel,
} from "./inbound-mail.js";
import { findInboundMessage, findOpeningMessage, findReportByReferencedMessage, hasInboundMessage, insertInboundMessage, type InboundDetails, type InboundMessage } from "./inbound-mail.repository.js";
import { readInboundMail } from "./mail-reader.js";

/** How a received message came in. */
export interface ReceivedEnvelope {
  via: "smtp" | "imap";
  mailFrom: string | null;
  rcptTo: string[];
  remoteAddress: string | null;
  /** The client's HELO/EHLO name (SMTP). */
  heloName?: string | null;
  /** Set when the way in knows the sender must get no receipt (a stand-in for a message too large to take), and why. */
  noReceiptBecause?: string;
}

export interface InboundMailDeps {
  db: Db;
  clock: Clock;
  events: Events;
  reportCommits: GroupCommit;
  blobs: BlobStore;
  parser: MimeParser;
  keyring: TeamKeyring;
  /** Tags of reply addresses and of the Message-IDs Shield sends to reporters. */
  replyTags: Tagger;
  settings: SettingsReader;
  limits: { maxFiles: number; maxFileBytes: number; maxTotalBytes: number };
  /** Shield's own sending address (SHIELD_MAIL_FROM), never answered. */
  mailFrom?: string;
  /** SPF, DKIM, DMARC and ARC verdicts (information for the team; never refuses a message). */
  authenticate(raw: Buffer, envelope: ReceivedEnvelope): Promise<MailAuthentication>;
  logger: Logger;
}

export type ReceiveOutcome =
  | { outcome: "report"; reportId: number; receipt: boolean }
  | { outcome: "reply"; reportId: number }
  | { outcome: "bounce"; reportId: number | null }
  | { outcome: "duplicate" };

function inboundSettings(settings: Settings): InboundAddressSettings {
  return { securityEmail: settings.securityEmail, securityEmailChannel: settings.securityEmailChannel, inboundAddresses: settings.inboundAddresses };
}

/** Whether Shield takes mail for this address: the program's addresses and the reply addresses of existing reports. */
export async function isInboundRecipient(deps: Pick<InboundMailDeps, "settings" | "replyTags">, address: string): Promise<boolean> {
  const kind = classifyRecipient(address, inboundSettings(await deps.settings.get()));
  if (!kind) return false;
  if (kind.kind === "program") return true;
  return deps.replyTags.verify(replyTagSubject(kind.reportId), kind.mac);
}

export function replyTagSubject(reportId: number): string {
  return `report:${reportId}`;
}

/** `<shield.r<id>.<tag>.<unique>@<domain>>`: a Message-ID that leads back to its report, and that nobody else can make. */
export const SHIELD_MESSAGE_ID = /<shield\.r([1-9][0-9]{0,15})\.([a-z2-7]{26})\.[a-z0-9-]{1,64}@[^<>\s]{1,200}>/g;

/**
 * Stores one received message and what it becomes: a new report on the channel of the
 * address it was sent to, a message in a report's thread (sent to its reply address, or
 * referencing a Message-ID Shield sent or the reporter's own first message), or a
 * bounce recorded on the report it answers. The raw original is durable before the
 * transaction, which commits the report or message, its attachments, the received
 * message's row and the audit together; only then does this resolve. The same message
 * received twice (Message-ID and content without transport headers) is stored once.
 */
export async function receiveMail(deps: InboundMailDeps, raw: Buffer, envelope: ReceivedEnvelope): Promise<ReceiveOutcome> {
  const settings = await deps.settings.get();
  const addresses = inboundSettings(settings);
  const now = deps.clock.now();
  const at = now.toISOString();

  // A redelivery is recognised from the raw bytes, before any parsing or decryption.
  const messageIdHeader = messageIdFromRaw(raw);
  const dedupKey = createHash("sha256")
    .update(`${messageIdHeader ?? ""}\n`)
    .update(withoutTransportHeaders(raw))
    .digest("hex");
  if (await hasInboundMessage(deps.db, dedupKey)) return { outcome: "duplicate" };
  const [firstRead, authentication] = await Promise.all([readInboundMail({ parser: deps.parser, keyring: deps.keyring }, raw), deps.authenticate(raw, envelope)]);

  const fromAddress = firstRead.mail?.from?.address ? normaliseAddress(firstRead.mail.from.address) : null;
  const headers = headersOf(firstRead.mail?.headers ?? headerFields(splitHeader(raw).headerText).map((f) => ({ key: f.name, value: f.value })));

  // Where it belongs: a report's thread first, then a bounce, then a new report.
  const target = await threadOf(deps, envelope, firstRead.mail, raw, fromAddress);
  const isBounce = isDeliveryReport(headers) || (!envelope.mailFrom && target !== null && /^(mailer-daemon|postmaster)@/i.test(fromAddress ?? ""));

  // A reply to a report whose reporter gave a key: check signatures against it too.
  let read = firstRead;
  if (target && !isBounce) {
    const report = await findReport(deps.db, target);
    if (report?.reporterPgpKey && firstRead.details.signature && !firstRead.details.signature.valid) {
      read = await readInboundMail({ parser: deps.parser, keyring: deps.keyring }, raw, await readPublicKeys(report.reporterPgpKey));
    }
  }
  read.details.authentication = authentication;

  const rawBlob = await deps.blobs.stage(Readable.from([raw]));
  const rawUpload: AcceptedUpload = { blob: rawBlob, filename: "original message.eml", contentType: "message/rfc822" };
  const notes = [...read.notes];
  const files = isBounce ? [] : await stageMailAttachments(deps, read.mail, notes);
  const uploads = [rawUpload, ...files];
  try {
    await storeUploads(deps.blobs, uploads);
  } catch (error) {
    await discardUploads(deps.blobs, uploads);
    throw error;
  }

  const row = (outcome: InboundMessage["outcome"], reportId: number | null, threadMessageId: number | null, details: InboundDetails) => ({
    dedupKey,
    via: envelope.via,
    messageIdHeader,
    rawSha256: rawBlob.sha256,
    rawSize: raw.length,
    envelopeFrom: envelope.mailFrom,
    envelopeTo: envelope.rcptTo,
    remoteAddress: envelope.remoteAddress,
    fromAddress,
    subject: read.mail?.subject ?? null,
    receivedAt: at,
    outcome,
    reportId,
    threadMessageId,
    notes,
    details,
  });

  if (isBounce) {
    await deps.db.transaction().execute(async (tx) => {
      if (target) await recordAttachments(tx, { reportId: target, messageId: null }, [rawUpload], at);
      await insertInboundMessage(tx, row("bounce", target, null, read.details));
      if (target) {
        await appendAuditEvent(tx, { kind: "system" }, { action: "mail.bounced", subjectType: "report", subjectId: String(target), data: { from: fromAddress } }, at);
      }
    });
    if (!target) deps.logger.warn({ from: fromAddress }, "a bounce arrived that answers no report's mail; kept as received");
    return { outcome: "bounce", reportId: target };
  }

  if (target) {
    const body = read.mail?.text ? replyBodyOf(read.mail.text) : reportFieldsFromMail({ subject: "", text: null, html: read.mail?.html ?? null, from: null }, null).description;
    try {
      const { report } = await replyAsReporterByMail(deps, target, { body: withNotes(body, notes), uploads }, async (tx, stored, message) => {
        await insertInboundMessage(tx, row("reply", stored.id, message.id, read.details));
      });
      return { outcome: "reply", reportId: report.id };
    } catch (error) {
      // A report closed as spam takes no more replies: the message is still kept (and its
      // sender not told to retry forever), beside the report but not in its thread.
      if (!(error instanceof DomainError) || error.code !== "reply_closed") throw error;
      notes.push("The report is closed as spam, so this message was not added to its thread.");
      await deps.db.transaction().execute(async (tx) => {
        await recordAttachments(tx, { reportId: target, messageId: null }, [rawUpload], at);
        await insertInboundMessage(tx, row("reply", target, null, read.details));
      });
      return { outcome: "reply", reportId: target };
    }
  }

  const channel = channelOf(envelope.rcptTo, addresses);
  const fields = reportFieldsFromMail(read.mail ?? { subject: subjectFromRaw(raw), text: null, html: null, from: null }, notes.length ? notes.join("\n") : null);
  const reporterEmail = isAddress(fields.reporterEmail) ? fields.reporterEmail : isAddress(envelope.mailFrom ?? "") ? envelope.mailFrom! : "";
  const ownAddresses = [settings.securityEmail, settings.supportEmail, ...(deps.mailFrom ? [deps.mailFrom] : []), ...settings.inboundAddresses.map((a) => a.address)];
  const noReceipt = reporterEmail ? envelope.noReceiptBecause ?? whyNoAutomaticReply(headers, envelope.mailFrom, ownAddresses) ?? (ownAddresses.map(normaliseAddress).includes(normaliseAddress(reporterEmail)) ? "the sender is one of Shield's own addresses" : null) : "the message names no sender address to answer";
  const details: InboundDetails = { ...read.details, receipt: noReceipt ? { sent: false, why: noReceipt } : { sent: true } };
  const { report } = await submitReport(
    deps,
    {
      channel,
      title: fields.title,
      description: fields.description,
      reporter: { name: fields.reporterName, email: reporterEmail },
    },
    "email",
    {
      sendReceipt: noReceipt === null,
      // One flooding sender's receipts take turns with everyone else's (see the outbox's fair order).
      sender: fromAddress ?? envelope.remoteAddress ?? undefined,
      onStored: async (tx: Tx, stored: Report) => {
        const attachments = await recordAttachments(tx, { reportId: stored.id, messageId: null }, uploads, stored.receivedAt);
        await insertInboundMessage(tx, row("report", stored.id, null, details));
        await appendAuditEvent(
          tx,
          { kind: "public" },
          { action: "attachments.received", subjectType: "report", subjectId: String(stored.id), data: { attachmentIds: attachments.map((a) => a.id), via: envelope.via } },
          stored.receivedAt,
        );
      },
    },
  );
  return { outcome: "report", reportId: report.id, receipt: noReceipt === null };
}

/**
 * The report a message answers, if any: its reply address among the recipients (tag
 * checked), a Message-ID Shield sent to the reporter among its references (tag checked),
 * or the reporter's own earlier message among its references, from the same address.
 * A bounce carries the Message-ID of the mail it returns inside its text.
 */
async function threadOf(deps: InboundMailDeps, envelope: ReceivedEnvelope, mail: ParsedMail | null, raw: Buffer, fromAddress: string | null): Promise<number | null> {
  const settings = inboundSettings(await deps.settings.get());
  for (const address of envelope.rcptTo) {
    const kind = classifyRecipient(address, settings);
    if (kind?.kind === "reply" && deps.replyTags.verify(replyTagSubject(kind.reportId), kind.mac)) return kind.reportId;
  }
  const references = mail?.references ?? [];
  const candidates = [...references.join(" ").matchAll(SHIELD_MESSAGE_ID)];
  // Bounces quote the returned message's headers in their body.
  if (candidates.length === 0 && !envelope.mailFrom) candidates.push(...raw.subarray(0, 512 * 1024).toString("latin1").matchAll(SHIELD_MESSAGE_ID));
  for (const match of candidates) {
    const reportId = Number(match[1]);
    if (deps.replyTags.verify(replyTagSubject(reportId), match[2]!) && (await findReport(deps.db, reportId))) return reportId;
  }
  if (fromAddress) {
    const byReporter = await findReportByReferencedMessage(deps.db, references, fromAddress);
    if (byReporter) return byReporter;
  }
  return null;
}

function channelOf(rcptTo: string[], settings: InboundAddressSettings): MailChannel {
  for (const address of rcptTo) {
    const kind = classifyRecipient(address, settings);
    if (kind?.kind === "program") return kind.channel;
  }
  return settings.securityEmailChannel;
}

/** The message's files, judged by content like the web form's; those refused or past the limits stay in the raw original, and the team is told. */
async function stageMailAttachments(deps: InboundMailDeps, mail: ParsedMail | null, notes: string[]): Promise<AcceptedUpload[]> {
  if (!mail) return [];
  const accepted: AcceptedUpload[] = [];
  let total = 0;
  for (const [index, attachment] of mail.attachments.entries()) {
    const name = (attachment.filename ?? "").replace(/[\u0000-\u001f\u007f]/g, "").slice(0, 255) || `attachment ${index + 1}`;
    if (attachment.mimeType === "application/pgp-encrypted" || attachment.mimeType === "application/pgp-signature") continue;
    if (accepted.length >= deps.limits.maxFiles) {
      notes.push(`"${name}" was not kept as a file (more than ${deps.limits.maxFiles} files); it is in the original message.`);
      continue;
    }
    const size = attachment.content.byteLength;
    if (size > deps.limits.maxFileBytes || total + size > deps.limits.maxTotalBytes) {
      notes.push(`"${name}" was not kept as a file (too large); it is in the original message.`);
      continue;
    }
    const outcome = await stageUpload(deps.blobs, Readable.from([Buffer.from(attachment.content)]), name);
    if (!outcome.ok) {
      notes.push(`"${name}" was not kept as a file (${outcome.why}); it is in the original message.`);
      continue;
    }
    total += size;
    accepted.push(outcome.upload);
  }
  return accepted;
}

function withNotes(body: string, notes: string[]): string {
  const text = body.trim() || "(The message has no text.)";
  return notes.length ? `${notes.join("\n")}\n\n${text}` : text;
}

function isAddress(value: string): boolean {
  return /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/.test(value) && value.length <= 254;
}

function messageIdFromRaw(raw: Buffer): string | null {
  const field = headerFields(splitHeader(raw).headerText).find((f) => f.name === "message-id");
  return field?.value.match(/<[^<>\s]{1,250}>/)?.[0] ?? null;
}

function subjectFromRaw(raw: Buffer): string {
  return headerFields(splitHeader(raw).headerText).find((f) => f.name === "subject")?.value.slice(0, 300) ?? "";
}

/**
 * The thread of a report that came in by e-mail, for mail Shield sends its reporter:
 * from the report's reply address, answering the first message under its subject with
 * "Re:", with a fresh Message-ID that carries the report's tag. Null for other reports.
 */
export async function threadOfReport(deps: Pick<InboundMailDeps, "db" | "settings" | "replyTags">, reportId: number): Promise<MailThread | null> {
  const report = await findReport(deps.db, reportId);
  if (!report || report.source !== "email") return null;
  const opening = await findOpeningMessage(deps.db, reportId);
  if (!opening) return null;
  const settings = await deps.settings.get();
  const tag = deps.replyTags.tag(replyTagSubject(reportId));
  const address = replyAddressFor(settings.securityEmail, reportId, tag);
  const domain = address.slice(address.lastIndexOf("@") + 1);
  const headers: Record<string, string> = {};
  if (opening.messageIdHeader) {
    headers["In-Reply-To"] = opening.messageIdHeader;
    headers.References = opening.messageIdHeader;
  }
  return {
    from: `${settings.programName.replace(/["\\\r\n]/g, "")} <${address}>`,
    replyTo: address,
    subject: replySubject(opening.subject ?? report.title),
    headers,
    messageId: `<shield.r${reportId}.${tag}.${randomBytes(9).toString("hex")}@${domain}>`,
  };
}

/**
 * Keeps the key a reporter's message offered (attached, or in its Autocrypt header) as
 * the report's reporter key: from then on mail to the reporter is encrypted to it. The
 * key is checked as a key given on the form is (public, can encrypt now), and the change
 * is audited with its fingerprint.
 * @throws ReportNotFoundError, ValidationError (`offered_key_missing`, or the key's problem under `reporter.pgpKey`)
 */
export async function keepOfferedKey(db: Db, settings: SettingsReader, clock: Clock, actor: Actor, reportId: number, inboundMessageId: number): Promise<{ fingerprint: string }> {
  const now = clock.now();
  return db.transaction().execute(async (tx) => {
    const report = await findReport(tx, reportId);
    if (!report) throw ReportNotFoundError(reportId);
    const message = await findInboundMessage(tx, inboundMessageId);
    const armored = message?.reportId === reportId ? message.details.offeredKey?.armored : undefined;
    if (!armored) throw new DomainError("offered_key_missing", "invalid", "That message offered no key that can be kept.");
    const { fingerprint } = await validateReporterKey(armored, now);
    if (!(await updateReportIfState(tx, await settings.get(tx), reportId, report.state, { reporterPgpKey: armored }))) {
      throw new DomainError("report_changed", "conflict", "The report changed meanwhile; please try again.");
    }
    await appendAuditEvent(
      tx,
      actor,
      { action: "report.reporter_key_kept", subjectType: "report", subjectId: String(reportId), data: { fingerprint, inboundMessageId, replaced: report.reporterPgpKey !== null } },
      now.toISOString(),
    );
    return { fingerprint };
  });
}
