import fs from "node:fs";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import { Tagger } from "../../platform/crypto/tags.js";
import type { Db } from "../../platform/db/database.js";
import { authenticateMail, type DnsResolver } from "../../platform/mail/inbound/mail-authentication.js";
import { MimeParser } from "../../platform/mail/inbound/mime-parser.js";
import { ImapPoller } from "../../platform/mail/inbound/imap-poller.js";
import { parseImapUrl } from "../../platform/mail/inbound/imap-url.js";
import { SmtpListener, SmtpReply } from "../../platform/mail/inbound/smtp-listener.js";
import type { Clock } from "../../shared/clock.js";
import type { GroupCommit } from "../../platform/db/group-commit.js";
import type { Events } from "../../shared/events.js";
import type { TeamKeyring } from "../keys/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import type { MailThread } from "../../platform/mail/mailer.js";
import { advanceImapCursor, findImapCursor } from "./inbound-mail.repository.js";
import { isInboundRecipient, receiveMail, threadOfReport, type InboundMailDeps, type ReceivedEnvelope, type ReceiveOutcome } from "./inbound-mail.service.js";

/** The e-mail channel of one process: its parser, its reply-address tags, and its SMTP listener when configured. */
export interface InboundMail {
  deps: InboundMailDeps;
  receive(raw: Buffer, envelope: ReceivedEnvelope): Promise<ReceiveOutcome>;
  /** The e-mail thread of a report that came in by mail, for the mail Shield sends its reporter. */
  thread(reportId: number): Promise<MailThread | null>;
  /** Present when `SHIELD_SMTP_LISTEN` is set; `listen()` starts it. */
  smtp: SmtpListener | null;
  /** Present when `SHIELD_IMAP_URL` is set; `start()` polls in the background, `pollOnce()` once. */
  imap: ImapPoller | null;
  close(): Promise<void>;
}

export interface InboundMailWiring {
  config: Config;
  db: Db;
  clock: Clock;
  /** Where what mail causes is announced (a report received, a reporter's answer). */
  events: Events;
  /** The group committer new reports share (see intake). */
  reportCommits: GroupCommit;
  blobs: BlobStore;
  keyring: TeamKeyring;
  masterKey: Uint8Array;
  settings: SettingsReader;
  mailFrom?: string;
  logger: Logger;
  /** DNS for the SPF/DKIM/DMARC/ARC checks; the system's resolver when absent (tests give their own: they never touch the network). */
  dnsResolver?: DnsResolver;
  /** Called after a message committed (wakes the outbox worker for its receipt). */
  onReceived?: () => void;
}

export function createInboundMail(wiring: InboundMailWiring): InboundMail {
  const { config } = wiring;
  const parser = new MimeParser();
  const deps: InboundMailDeps = {
    db: wiring.db,
    clock: wiring.clock,
    events: wiring.events,
    reportCommits: wiring.reportCommits,
    blobs: wiring.blobs,
    parser,
    keyring: wiring.keyring,
    replyTags: new Tagger(wiring.masterKey, "reply addresses"),
    settings: wiring.settings,
    limits: { maxFiles: config.SHIELD_ATTACHMENT_MAX_FILES, maxFileBytes: config.SHIELD_ATTACHMENT_MAX_BYTES, maxTotalBytes: config.SHIELD_ATTACHMENT_MAX_TOTAL_BYTES },
    mailFrom: wiring.mailFrom,
    authenticate: (raw, envelope) =>
      authenticateMail(raw, { ip: envelope.remoteAddress, helo: envelope.heloName, mailFrom: envelope.mailFrom, mta: new URL(config.baseUrl).hostname, resolver: wiring.dnsResolver }),
    logger: wiring.logger,
  };
  const receive = async (raw: Buffer, envelope: ReceivedEnvelope) => {
    const outcome = await receiveMail(deps, raw, envelope);
    wiring.logger.info({ via: envelope.via, outcome: outcome.outcome, reportId: "reportId" in outcome ? outcome.reportId : undefined }, "mail received");
    wiring.onReceived?.();
    return outcome;
  };
  let smtp: SmtpListener | null = null;
  if (config.SHIELD_SMTP_LISTEN) {
    const at = config.SHIELD_SMTP_LISTEN.lastIndexOf(":");
    const host = config.SHIELD_SMTP_LISTEN.slice(0, at).replace(/^\[|\]$/g, "");
    const port = Number(config.SHIELD_SMTP_LISTEN.slice(at + 1));
    smtp = new SmtpListener({
      host,
      port,
      serverName: new URL(config.baseUrl).hostname,
      maxMessageBytes: config.SHIELD_MAIL_MAX_BYTES,
      tls: config.SHIELD_SMTP_TLS_CERT && config.SHIELD_SMTP_TLS_KEY ? { cert: fs.readFileSync(config.SHIELD_SMTP_TLS_CERT), key: fs.readFileSync(config.SHIELD_SMTP_TLS_KEY) } : undefined,
      // 8 deliveries of one client address stored at once (the rest wait in its lane, others'
      // messages take their own): behind an MX all mail comes from one address, and parallel
      // deliveries share a group commit. bench:mail on SQLite: 2 gave about 30 messages/s, 8 about 78.
      limits: { connectionsPerAddress: config.SHIELD_SMTP_MAX_CONNECTIONS, messagesPerMinutePerAddress: config.SHIELD_SMTP_MESSAGES_PER_MINUTE, deliveriesInFlightPerAddress: 8 },
      acceptRecipient: async (address) => {
        if (!(await isInboundRecipient(deps, address))) throw new SmtpReply(550, "5.1.1 no such recipient here: this server takes mail only for its own addresses");
      },
      deliver: async (raw, envelope) => {
        await receive(raw, { via: "smtp", mailFrom: envelope.mailFrom, rcptTo: envelope.rcptTo, remoteAddress: envelope.remoteAddress, heloName: envelope.heloName });
      },
      logger: wiring.logger,
    });
  }
  let imap: ImapPoller | null = null;
  if (config.SHIELD_IMAP_URL) {
    imap = new ImapPoller({
      mailbox: parseImapUrl(config.SHIELD_IMAP_URL),
      maxMessageBytes: config.SHIELD_MAIL_MAX_BYTES,
      pollEveryMs: config.SHIELD_IMAP_POLL_SECONDS * 1000,
      cursor: {
        lastUid: (mailbox, uidValidity) => findImapCursor(wiring.db, mailbox, uidValidity),
        remember: (mailbox, uidValidity, uid) => advanceImapCursor(wiring.db, mailbox, uidValidity, uid, wiring.clock.now().toISOString()),
      },
      deliver: async (raw, envelope, about) => {
        await receive(raw, {
          via: "imap",
          mailFrom: envelope.mailFrom,
          rcptTo: envelope.rcptTo,
          remoteAddress: null,
          ...(about?.tooLarge ? { noReceiptBecause: `the message was too large to take (${about.tooLarge.size} bytes): the team has its headers only and answers in person` } : {}),
        });
      },
      logger: wiring.logger,
    });
  }
  return {
    deps,
    receive,
    thread: (reportId) => threadOfReport(deps, reportId),
    smtp,
    imap,
    async close() {
      await smtp?.close();
      await imap?.stop();
      await parser.close();
    },
  };
}
