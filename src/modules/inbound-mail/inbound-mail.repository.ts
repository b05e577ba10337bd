import type { Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { InboundMessagesTable } from "../../platform/db/schema.js";

export type InboundOutcome = "report" | "reply" | "bounce";

/** One received message as the team sees it beside a report. */
export interface InboundMessage {
  id: number;
  via: "smtp" | "imap";
  messageIdHeader: string | null;
  rawSha256: string;
  rawSize: number;
  envelopeFrom: string | null;
  envelopeTo: string[];
  remoteAddress: string | null;
  fromAddress: string | null;
  subject: string | null;
  receivedAt: string;
  outcome: InboundOutcome;
  reportId: number | null;
  threadMessageId: number | null;
  notes: string[];
  details: InboundDetails;
}

/** What Shield found out about a message, shown to the team; every value came from the sender or their servers. */
export interface InboundDetails {
  /** SPF, DKIM, DMARC and ARC verdicts, each `result (what)`, and the Authentication-Results text. */
  authentication?: { spf: string; dkim: string; dmarc: string; arc: string; summary: string };
  encryption?: { encrypted: boolean; decrypted: boolean; keyIds?: string[]; encryptedParts?: string[] };
  signature?: { signed: boolean; valid?: boolean; keyFingerprint?: string | null; detail?: string };
  /** A public key the message offered; `armored` is kept so the team can keep it for encrypted replies (rows before it was kept lack it). */
  offeredKey?: { fingerprint: string; userIds: string[]; source: "attachment" | "autocrypt"; armored?: string } | null;
  receipt?: { sent: boolean; why?: string };
}

function toInboundMessage(row: Selectable<InboundMessagesTable>): InboundMessage {
  return {
    id: row.id,
    via: row.via as InboundMessage["via"],
    messageIdHeader: row.message_id_header,
    rawSha256: row.raw_sha256,
    rawSize: Number(row.raw_size),
    envelopeFrom: row.envelope_from,
    envelopeTo: JSON.parse(row.envelope_to) as string[],
    remoteAddress: row.remote_address,
    fromAddress: row.from_address,
    subject: row.subject,
    receivedAt: row.received_at,
    outcome: row.outcome as InboundOutcome,
    reportId: row.report_id,
    threadMessageId: row.thread_message_id,
    notes: JSON.parse(row.notes) as string[],
    details: JSON.parse(row.details) as InboundDetails,
  };
}

export async function insertInboundMessage(db: Executor, message: Omit<InboundMessage, "id"> & { dedupKey: string }): Promise<InboundMessage> {
  const row = await db
    .insertInto("inbound_messages")
    .values({
      dedup_key: message.dedupKey,
      via: message.via,
      message_id_header: message.messageIdHeader,
      raw_sha256: message.rawSha256,
      raw_size: message.rawSize,
      envelope_from: message.envelopeFrom,
      envelope_to: JSON.stringify(message.envelopeTo),
      remote_address: message.remoteAddress,
      from_address: message.fromAddress,
      subject: message.subject,
      received_at: message.receivedAt,
      outcome: message.outcome,
      report_id: message.reportId,
      thread_message_id: message.threadMessageId,
      notes: JSON.stringify(message.notes),
      details: JSON.stringify(message.details),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toInboundMessage(row);
}

export async function hasInboundMessage(db: Executor, dedupKey: string): Promise<boolean> {
  const row = await db.selectFrom("inbound_messages").select("id").where("dedup_key", "=", dedupKey).executeTakeFirst();
  return row !== undefined;
}

export async function listInboundMessagesOfReport(db: Executor, reportId: number): Promise<InboundMessage[]> {
  const rows = await db.selectFrom("inbound_messages").selectAll().where("report_id", "=", reportId).orderBy("id").execute();
  return rows.map(toInboundMessage);
}

/**
 * The report whose own received messages include one of these Message-IDs, sent from the
 * same address: a reporter who answers their own first mail (not our receipt) still joins
 * its thread, and nobody else can by quoting a Message-ID.
 */
export async function findReportByReferencedMessage(db: Executor, messageIds: string[], fromAddress: string): Promise<number | undefined> {
  if (messageIds.length === 0 || !fromAddress) return undefined;
  const row = await db
    .selectFrom("inbound_messages")
    .select("report_id")
    .where("message_id_header", "in", messageIds.slice(-50))
    .where("from_address", "=", fromAddress.toLowerCase())
    .where("report_id", "is not", null)
    .orderBy("id", "desc")
    .executeTakeFirst();
  return row?.report_id ?? undefined;
}

/** The message that opened a report by mail: its Message-ID and subject thread the receipt and replies. */
export async function findOpeningMessage(db: Executor, reportId: number): Promise<{ messageIdHeader: string | null; subject: string | null } | undefined> {
  const row = await db
    .selectFrom("inbound_messages")
    .select(["message_id_header", "subject"])
    .where("report_id", "=", reportId)
    .where("outcome", "=", "report")
    .orderBy("id")
    .executeTakeFirst();
  return row && { messageIdHeader: row.message_id_header, subject: row.subject };
}

/** The highest UID the IMAP poller finished in a mailbox under one UIDVALIDITY; 0 when it has not read it yet. */
export async function findImapCursor(db: Executor, mailbox: string, uidValidity: string): Promise<number> {
  const row = await db.selectFrom("imap_cursors").select("last_uid").where("mailbox", "=", mailbox).where("uid_validity", "=", uidValidity).executeTakeFirst();
  return row ? Number(row.last_uid) : 0;
}

/** Moves the IMAP poller's place forward (never back: two processes polling one mailbox may finish out of order). */
export async function advanceImapCursor(db: Executor, mailbox: string, uidValidity: string, uid: number, at: string): Promise<void> {
  await db
    .insertInto("imap_cursors")
    .values({ mailbox, uid_validity: uidValidity, last_uid: uid, updated_at: at })
    .onConflict((oc) =>
      oc
        .columns(["mailbox", "uid_validity"])
        .doUpdateSet({ last_uid: (eb) => eb.ref("excluded.last_uid"), updated_at: (eb) => eb.ref("excluded.updated_at") })
        .where("imap_cursors.last_uid", "<", uid),
    )
    .execute();
}

export async function findInboundMessage(db: Executor, id: number): Promise<InboundMessage | undefined> {
  const row = await db.selectFrom("inbound_messages").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toInboundMessage(row);
}
