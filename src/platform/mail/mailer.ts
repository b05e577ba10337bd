import path from "node:path";
import type { Transporter } from "nodemailer";
import type { SendMailOptions } from "nodemailer/lib/mailer";
import { DurableDirectories } from "../blobs/durable-directories.js";
import { writeFileDurably } from "../blobs/durable-file.js";
import type { PgpPrivateKey } from "../crypto/openpgp.js";
import type { Db } from "../db/database.js";
import { buildPgpMimeMessage } from "./pgp-mime.js";

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  replyTo?: string;
  headers?: Record<string, string>;
  /** Send as PGP/MIME encrypted to this key and signed with the mailer's signing key. */
  encryptTo?: PgpMimeEncryption;
  /** The Message-ID, with its angle brackets; default one made from the send key. */
  messageId?: string;
  /** Which notice this is (a team notice's kind, and its report), for whoever watches mail go out; never part of the message. */
  notice?: { kind: string; reportId?: number };
}

/**
 * How a mail to a reporter who wrote in by e-mail joins their thread: it comes from the
 * report's reply address, answers their first message (In-Reply-To, References) under
 * their own subject with "Re:", and carries a Message-ID that leads back to the report.
 */
export interface MailThread {
  from: string;
  replyTo: string;
  subject: string;
  headers: Record<string, string>;
  messageId: string;
}

/** Applies a thread (when there is one) to a mail for a reporter. */
export function inThread(mail: OutgoingMail, thread: MailThread | null): OutgoingMail {
  if (!thread) return mail;
  return { ...mail, from: thread.from, replyTo: thread.replyTo, subject: thread.subject, headers: { ...mail.headers, ...thread.headers }, messageId: thread.messageId };
}

export interface PgpMimeEncryption {
  /** The recipient's ASCII-armoured public key. */
  publicKey: string;
  /** The Subject shown outside the encryption; the real one travels inside. */
  outerSubject: string;
}

export interface MailerOptions {
  /** The key encrypted mail is signed with (the team key); required to send encrypted mail. */
  signingKey?: () => Promise<PgpPrivateKey>;
}

/**
 * What nodemailer is given: the message as composed by nodemailer, or for encrypted mail
 * the finished PGP/MIME message. Encryption that fails throws: a mail meant to be
 * encrypted is never sent in the clear.
 */
async function prepareMail(mail: OutgoingMail, key: string, options: MailerOptions): Promise<SendMailOptions> {
  const { encryptTo, messageId: ownMessageId, notice: _notice, ...plain } = mail;
  const messageId = ownMessageId ?? `<${key}@shield>`;
  if (!encryptTo) return { ...plain, messageId };
  if (!options.signingKey) throw new Error("this mailer has no signing key, so it cannot send encrypted mail");
  const { raw, envelope } = await buildPgpMimeMessage(plain, encryptTo, messageId, await options.signingKey(), new Date());
  return { envelope, raw };
}

/** What a job that sends mail is given. */
export interface MailJobDeps {
  db: Db;
  mailer: Mailer;
  baseUrl: () => string;
  /** SHIELD_MAIL_FROM; default the program's security address. */
  mailFrom?: string;
  /** The reporter's e-mail thread, for reports that came in by e-mail (the e-mail channel provides it). */
  threadOfReport?: (reportId: number) => Promise<MailThread | null>;
}

export interface Mailer {
  /** `key` names the message for idempotency: a retried job overwrites its own .eml. */
  send(mail: OutgoingMail, key: string): Promise<void>;
  close(): void;
}

/**
 * Sends through `SMTP_URL` with nodemailer, over pooled connections: a connection per
 * message would pay the relay's greeting, EHLO and TLS every time (over 100 ms here even on
 * loopback, bench:intake --smtp). `?pool=false` in the URL opts out; the URL's own pool
 * settings (`maxConnections`, `maxMessages`) apply.
 */
export function createSmtpMailer(url: string, options: MailerOptions = {}): Mailer {
  const transport = lazyTransport((nodemailer) => nodemailer.createTransport({ url, pool: true }));
  return {
    async send(mail, key) {
      await (await transport.get()).sendMail(await prepareMail(mail, key, options));
    },
    close: () => transport.close(),
  };
}

/**
 * Without SMTP: each message becomes `<dir>/<key>.eml`, a complete RFC 5322 message, written
 * durably (the directory too) before the job that sent it is marked done.
 */
export function createFileMailer(dir: string, options: MailerOptions = {}, directories = new DurableDirectories()): Mailer {
  const transport = lazyTransport((nodemailer) => nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" }));
  return {
    async send(mail, key) {
      const info = await (await transport.get()).sendMail(await prepareMail(mail, key, options));
      const safeKey = key.replace(/[^A-Za-z0-9._-]/g, "_");
      await writeFileDurably(path.join(dir, `${safeKey}.eml`), info.message as Buffer, { directories });
    },
    close: () => transport.close(),
  };
}

/**
 * nodemailer's transport, made with the first mail: importing nodemailer is a good part of
 * a start that sends nothing (decision 0013). `close` closes it once it exists, also when
 * it is still being made.
 */
function lazyTransport<T extends Transporter<unknown>>(create: (nodemailer: typeof import("nodemailer").default) => T): { get(): Promise<T>; close(): void } {
  let made: Promise<T> | undefined;
  return {
    get: () => (made ??= import("nodemailer").then((module) => create(module.default))),
    close: () => void made?.then((transport) => transport.close(), () => {}),
  };
}
