import { checkDetachedSignature, readPublicKeys, type PgpKey, type SignatureCheck } from "../../platform/crypto/openpgp.js";
import { inspectEncryptedMessage } from "../../platform/crypto/openpgp-message.js";
import { MimeParseError, type MimeParser, type ParsedAttachment, type ParsedMail } from "../../platform/mail/inbound/mime-parser.js";
import { findArmoredMessage, signedPartsOf } from "../../platform/mail/inbound/raw-mime.js";
import { decryptMailForTeam, type TeamKeyring } from "../keys/index.js";
import { headersOf } from "./inbound-mail.js";
import type { InboundDetails } from "./inbound-mail.repository.js";

/** A received message as Shield understood it: the content to use, and what the team is told about it. */
export interface ReadMail {
  /** The message's headers and parts; for encrypted mail, the decrypted content with the outer headers' sender and thread ids. Null when it could not be parsed. */
  mail: ParsedMail | null;
  notes: string[];
  details: InboundDetails;
  /** A public key the sender offered (attached, or in an Autocrypt header), armoured, for the team to keep. */
  offeredKey: string | null;
}

export interface MailReaderDeps {
  parser: MimeParser;
  keyring: TeamKeyring;
}

const PGP_KEY_TYPES = new Set(["application/pgp-keys", "application/pgp-key"]);

/**
 * Parses a message and undoes what stands between the team and its content: PGP/MIME
 * (RFC 3156) or inline PGP is decrypted with the team key (current or retired), and
 * signatures are checked on the exact signed bytes against `knownKeys` and any key the
 * message itself offers (a signature is then "valid for the key it came with": the team
 * decides whether that key is the reporter's). Nothing here throws for a hostile
 * message: what could not be done is said in `notes`, and the raw original is kept by
 * the caller in any case.
 */
export async function readInboundMail(deps: MailReaderDeps, raw: Buffer, knownKeys: PgpKey[] = []): Promise<ReadMail> {
  const notes: string[] = [];
  const details: InboundDetails = {};
  let outer: ParsedMail;
  try {
    outer = await deps.parser.parse(raw);
  } catch (error) {
    if (!(error instanceof MimeParseError)) throw error;
    notes.push(`The message could not be read (${error.message}); the original is kept as received.`);
    return { mail: null, notes, details, offeredKey: null };
  }

  const offered = await findOfferedKey(outer);
  const verificationKeys = [...knownKeys, ...(offered?.keys ?? [])];
  if (offered) details.offeredKey = { fingerprint: offered.keys[0]!.getFingerprint().toUpperCase(), userIds: offered.keys[0]!.getUserIDs().slice(0, 5), source: offered.source, armored: offered.armored };

  let mail = outer;
  const headers = headersOf(outer.headers);
  const contentType = headers.get("content-type") ?? "";
  const signatures: SignatureCheck[] = [];

  if (/^multipart\/encrypted/i.test(contentType) && /application\/pgp-encrypted/i.test(contentType)) {
    const payload = outer.attachments.find((a) => a.mimeType === "application/octet-stream") ?? outer.attachments.find((a) => Buffer.from(a.content).includes("-----BEGIN PGP MESSAGE-----"));
    details.encryption = { encrypted: true, decrypted: false, encryptedParts: ["the whole message (PGP/MIME)"] };
    if (!payload) {
      notes.push("The message says it is PGP/MIME encrypted but carries no encrypted part; it is kept as received.");
    } else {
      const armored = Buffer.from(payload.content).toString("latin1");
      const decrypted = await decrypt(deps, armored, verificationKeys, notes, details);
      if (decrypted) {
        signatures.push(...decrypted.signatures);
        const inner = await parseInner(deps, Buffer.from(decrypted.data), notes);
        if (inner) {
          signatures.push(...(await checkSignedEntity(Buffer.from(decrypted.data), verificationKeys, notes)));
          mail = mergeInner(outer, inner);
          details.encryption.decrypted = true;
        }
      }
    }
  } else {
    signatures.push(...(await checkSignedEntity(raw, verificationKeys, notes)));
  }

  // Inline PGP: an armoured message in the text part (old clients, webmail plug-ins).
  const inline = mail.text ? findArmoredMessage(mail.text) : null;
  if (inline && mail.text) {
    details.encryption = { ...(details.encryption ?? { encrypted: true, decrypted: false }), encrypted: true, encryptedParts: [...(details.encryption?.encryptedParts ?? []), "the text (inline PGP)"] };
    const decrypted = await decrypt(deps, inline.armored, verificationKeys, notes, details);
    if (decrypted) {
      signatures.push(...decrypted.signatures);
      const text = new TextDecoder("utf-8", { fatal: false }).decode(decrypted.data);
      mail = { ...mail, text: `${mail.text.slice(0, inline.start)}${text}${mail.text.slice(inline.end)}` };
      details.encryption.decrypted = true;
    }
  }

  if (signatures.length > 0) {
    const good = signatures.find((s) => s.valid);
    details.signature = good
      ? { signed: true, valid: true, keyFingerprint: good.fingerprint, detail: "good signature" }
      : { signed: true, valid: false, keyFingerprint: signatures[0]!.fingerprint, detail: `${signatures[0]!.detail} (key ID ${signatures[0]!.keyId})` };
  }
  return { mail, notes, details, offeredKey: offered?.armored ?? null };
}

async function decrypt(
  deps: MailReaderDeps,
  armored: string,
  verificationKeys: PgpKey[],
  notes: string[],
  details: InboundDetails,
): Promise<{ data: Uint8Array; signatures: SignatureCheck[] } | null> {
  try {
    return await decryptMailForTeam(deps.keyring, armored, verificationKeys);
  } catch (error) {
    const shape = await inspectEncryptedMessage(armored.trim()).catch(() => undefined);
    const keyIds = shape?.recipientKeyIds ?? [];
    if (details.encryption) details.encryption.keyIds = keyIds;
    notes.push(
      keyIds.length
        ? `The message is encrypted to ${keyIds.length === 1 ? "key" : "keys"} ${keyIds.join(", ")}, which the team does not hold; it is stored as received. (${(error as Error).message})`
        : `The encrypted part could not be decrypted: ${(error as Error).message} It is stored as received.`,
    );
    return null;
  }
}

async function parseInner(deps: MailReaderDeps, entity: Buffer, notes: string[]): Promise<ParsedMail | null> {
  try {
    return await deps.parser.parse(entity);
  } catch (error) {
    if (!(error instanceof MimeParseError)) throw error;
    notes.push(`The decrypted content could not be read (${error.message}); the original is kept as received.`);
    return null;
  }
}

async function checkSignedEntity(entity: Buffer, keys: PgpKey[], notes: string[]): Promise<SignatureCheck[]> {
  const parts = signedPartsOf(entity);
  if (!parts) return [];
  try {
    return await checkDetachedSignature(parts.signed, parts.signature, keys);
  } catch (error) {
    notes.push(`The message carries a signature that could not be read: ${(error as Error).message}.`);
    return [];
  }
}

/** The decrypted content with the outer message's sender, thread ids and (unless protected headers give one) subject. */
function mergeInner(outer: ParsedMail, inner: ParsedMail): ParsedMail {
  const innerSubject = inner.subject && inner.subject !== "..." ? inner.subject : "";
  const signedBody = inner.text == null && inner.html == null ? firstSignedText(inner) : null;
  return {
    ...outer,
    subject: innerSubject || outer.subject,
    text: inner.text ?? signedBody,
    html: inner.html,
    attachments: inner.attachments.filter((a) => a.mimeType !== "application/pgp-signature"),
  };
}

function firstSignedText(inner: ParsedMail): string | null {
  const text = inner.attachments.find((a) => a.mimeType.startsWith("text/plain"));
  return text ? Buffer.from(text.content).toString("utf8") : null;
}

async function findOfferedKey(mail: ParsedMail): Promise<{ keys: PgpKey[]; armored: string; source: "attachment" | "autocrypt" } | null> {
  const attached = mail.attachments.find((a: ParsedAttachment) => PGP_KEY_TYPES.has(a.mimeType) || Buffer.from(a.content.subarray(0, 64)).toString("latin1").includes("BEGIN PGP PUBLIC KEY BLOCK"));
  if (attached && attached.content.byteLength <= 200_000) {
    const keys = await readPublicKeys(Buffer.from(attached.content).toString("latin1"));
    if (keys.length === 1) return { keys, armored: keys[0]!.armor(), source: "attachment" };
  }
  const autocrypt = headersOf(mail.headers).get("autocrypt");
  const keydata = autocrypt?.match(/keydata=([A-Za-z0-9+/=\s]+)/)?.[1];
  if (keydata && keydata.length <= 100_000) {
    const keys = await readPublicKeys(Buffer.from(keydata.replace(/\s+/g, ""), "base64"));
    if (keys.length === 1) return { keys, armored: keys[0]!.armor(), source: "autocrypt" };
  }
  return null;
}
