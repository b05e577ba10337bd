import path from "node:path";
import nodemailer from "nodemailer";
import { writeFileDurably } from "../blobs/durable-file.js";

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  replyTo?: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /** `key` names the message for idempotency: a retried job overwrites its own .eml. */
  send(mail: OutgoingMail, key: string): Promise<void>;
  close(): void;
}

/** Sends through `SMTP_URL` with nodemailer. */
export function createSmtpMailer(url: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(mail, key) {
      await transport.sendMail({ ...mail, messageId: `<${key}@shield>` });
    },
    close: () => transport.close(),
  };
}

/** Without SMTP: each message becomes `<dir>/<key>.eml`, a complete RFC 5322 message. */
export function createFileMailer(dir: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    async send(mail, key) {
      const info = await transport.sendMail({ ...mail, messageId: `<${key}@shield>` });
      const safeKey = key.replace(/[^A-Za-z0-9._-]/g, "_");
      await writeFileDurably(path.join(dir, `${safeKey}.eml`), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}
