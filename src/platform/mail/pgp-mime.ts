import { encryptAndSign, type PgpPrivateKey } from "../crypto/openpgp.js";
import type { OutgoingMail, PgpMimeEncryption } from "./mailer.js";

export interface PgpMimeMessage {
  raw: Buffer;
  envelope: { from: string; to: string[] };
}

/**
 * PGP/MIME (RFC 3156 §4): the whole original message, headers included, becomes the
 * inner MIME entity; it is signed and encrypted as one OpenPGP message and wrapped in
 * `multipart/encrypted; protocol="application/pgp-encrypted"` with the two required
 * parts. The real Subject travels only inside (marked `protected-headers="v1"` so
 * that mail clients show it); outside there is the neutral one from `encryptTo`.
 */
export async function buildPgpMimeMessage(
  mail: OutgoingMail,
  encryption: PgpMimeEncryption,
  messageId: string,
  signingKey: PgpPrivateKey,
  date: Date,
): Promise<PgpMimeMessage> {
  // nodemailer is imported with the first mail, not when Shield starts (decision 0013).
  const [{ default: MailComposer }, { default: MimeNode }] = await Promise.all([import("nodemailer/lib/mail-composer"), import("nodemailer/lib/mime-node")]);
  const inner = new MailComposer({
    from: mail.from,
    to: mail.to,
    replyTo: mail.replyTo,
    subject: mail.subject,
    text: mail.text,
    headers: mail.headers,
    messageId,
    date,
    // RFC 3156 §3: the signed and encrypted entity uses canonical CRLF line ends.
    newline: "win",
  }).compile();
  inner.setHeader("Content-Type", 'text/plain; charset=utf-8; protected-headers="v1"');
  const entity = await inner.build();

  const armored = await encryptAndSign(entity, encryption.publicKey, signingKey, date);

  const outer = new MimeNode('multipart/encrypted; protocol="application/pgp-encrypted"', { newline: "unix" });
  outer.setHeader({ ...mail.headers, From: mail.from, To: mail.to, Subject: encryption.outerSubject, "Message-ID": messageId });
  outer.date = date;
  if (mail.replyTo) outer.setHeader("Reply-To", mail.replyTo);
  outer
    .createChild("application/pgp-encrypted")
    .setHeader({ "Content-Description": "PGP/MIME version identification", "Content-Transfer-Encoding": "7bit" })
    .setContent("Version: 1\r\n");
  outer
    .createChild('application/octet-stream; name="encrypted.asc"')
    .setHeader({ "Content-Description": "OpenPGP encrypted message", "Content-Disposition": 'inline; filename="encrypted.asc"', "Content-Transfer-Encoding": "7bit" })
    .setContent(armored);
  const envelope = outer.getEnvelope();
  return { raw: await outer.build(), envelope: { from: envelope.from || mail.from, to: envelope.to } };
}
