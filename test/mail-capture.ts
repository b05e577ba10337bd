import type { Mailer, OutgoingMail } from "../src/platform/mail/mailer.js";

/** One message as Shield handed it to the mailer. */
export interface CapturedMail {
  /** The send key: a retried job sends under the same one. */
  key: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  replyTo: string | null;
  headers: Record<string, string>;
  /** Which notice it is (a team notice's kind and its report), when the sender said. */
  notice: { kind: string; reportId?: number } | null;
  /** The reporter's public key it would be encrypted to; null: sent in the clear. */
  encryptedTo: string | null;
}

/**
 * A mailer that keeps each message instead of sending or writing it, for tests of who is
 * told what: `createTestShield(kind, { mailer: capture })`. Like the file mailer, a message
 * sent again under its key replaces the first. Tests of the .eml outbox itself (durability,
 * encryption, MIME) keep the real file mailer.
 */
export class MailCapture implements Mailer {
  private readonly byKey = new Map<string, CapturedMail>();
  private closed = false;

  async send(mail: OutgoingMail, key: string): Promise<void> {
    if (this.closed) throw new Error(`mail "${key}" sent after the mailer was closed`);
    this.byKey.set(key, {
      key,
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      replyTo: mail.replyTo ?? null,
      headers: { ...mail.headers },
      notice: mail.notice ? { ...mail.notice } : null,
      encryptedTo: mail.encryptTo?.publicKey ?? null,
    });
  }

  close(): void {
    this.closed = true;
  }

  /** Every message so far, in the order first sent. */
  all(): CapturedMail[] {
    return [...this.byKey.values()];
  }

  /** The notices of one kind, about one report when given. */
  notices(kind: string, reportId?: number): CapturedMail[] {
    return this.all().filter((mail) => mail.notice?.kind === kind && (reportId === undefined || mail.notice.reportId === reportId));
  }
}

/** The recipients of these messages, sorted: who was told. */
export function recipientsOf(mails: CapturedMail[]): string[] {
  return mails.map((mail) => mail.to).sort();
}
