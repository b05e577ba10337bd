/**
 * The few things read from a message's raw bytes rather than from the parser: a
 * signature (PGP/MIME, RFC 3156) covers the exact bytes of the signed part, which a
 * parser that decodes does not give back; and the header block, for a Message-ID when
 * the message cannot be parsed at all, and for a hash without transport headers.
 */

const HEADER_END = /\r?\n\r?\n/;

/** The header block (unfolded lines) and the body's offset; the whole message is body-less when no blank line ends the headers. */
export function splitHeader(raw: Buffer): { headerText: string; bodyOffset: number } {
  const head = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString("latin1");
  const match = HEADER_END.exec(head);
  if (!match) return { headerText: head, bodyOffset: raw.length };
  return { headerText: head.slice(0, match.index), bodyOffset: match.index + match[0].length };
}

/** Header fields in order, names lower-cased, folded lines joined. */
export function headerFields(headerText: string): Array<{ name: string; value: string; raw: string }> {
  const out: Array<{ name: string; value: string; raw: string }> = [];
  for (const line of headerText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      const last = out[out.length - 1]!;
      last.value += ` ${line.trim()}`;
      last.raw += `\n${line}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    out.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim(), raw: line });
  }
  return out;
}

/** Headers a relay or mailbox adds on the way: two copies of one message differ only in these. */
const TRANSPORT_HEADERS = new Set([
  "received",
  "return-path",
  "delivered-to",
  "x-original-to",
  "authentication-results",
  "arc-seal",
  "arc-message-signature",
  "arc-authentication-results",
  "received-spf",
  "x-spam-status",
  "x-spam-score",
  "x-spam-level",
  "x-spam-flag",
  "x-spam-checker-version",
  "x-virus-scanned",
  "x-envelope-from",
  "x-envelope-to",
  "envelope-to",
  "x-rcpt-to",
  "status",
  "x-uid",
  "x-keywords",
  "x-status",
]);

/** The message without its transport headers, for recognising the same message arriving twice (SMTP and IMAP). */
export function withoutTransportHeaders(raw: Buffer): Buffer {
  const { headerText, bodyOffset } = splitHeader(raw);
  const kept = headerFields(headerText)
    .filter((f) => !TRANSPORT_HEADERS.has(f.name))
    .map((f) => f.raw.replace(/\r$/, ""))
    .join("\n");
  return Buffer.concat([Buffer.from(kept, "latin1"), Buffer.from("\n\n"), raw.subarray(bodyOffset)]);
}

function parameterOf(value: string, name: string): string | null {
  const match = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(value);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

export interface SignedParts {
  /** The signed part's bytes, line ends made CRLF as RFC 3156 requires for checking. */
  signed: Buffer;
  /** The signature part's body (an armoured signature). */
  signature: string;
}

/**
 * The two parts of a `multipart/signed; protocol="application/pgp-signature"` entity
 * (a whole message or a decrypted inner entity), or null for anything else.
 */
export function signedPartsOf(entity: Buffer): SignedParts | null {
  const { headerText, bodyOffset } = splitHeader(entity);
  const contentType = headerFields(headerText).find((f) => f.name === "content-type")?.value ?? "";
  if (!/^multipart\/signed/i.test(contentType) || !/application\/pgp-signature/i.test(parameterOf(contentType, "protocol") ?? "")) return null;
  const boundary = parameterOf(contentType, "boundary");
  if (!boundary || boundary.length > 200) return null;
  const body = entity.subarray(bodyOffset).toString("latin1");
  const delimiter = `--${boundary}`;
  const segments: string[] = [];
  let at = body.startsWith(delimiter) ? 0 : body.indexOf(`\n${delimiter}`);
  while (at >= 0 && segments.length < 3) {
    const start = body.indexOf("\n", at + (body.startsWith(delimiter, at) ? 0 : 1));
    if (start < 0) break;
    const next = body.indexOf(`\n${delimiter}`, start);
    if (next < 0) break;
    // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    const end = body[next - 1] === "\r" ? next - 1 : next;
    segments.push(body.slice(start + 1, end));
    if (body.startsWith(`${delimiter}--`, next + 1)) break;
    at = next;
  }
  if (segments.length < 2) return null;
  const [signedPart, signaturePart] = segments as [string, string];
  const signatureBody = signaturePart.slice(signaturePart.search(HEADER_END) >= 0 ? signaturePart.search(HEADER_END) : 0).trim();
  return { signed: Buffer.from(signedPart.replace(/\r?\n/g, "\r\n"), "latin1"), signature: signatureBody };
}

const BEGIN_MESSAGE = "-----BEGIN PGP MESSAGE-----";
const END_MESSAGE = "-----END PGP MESSAGE-----";

/** The first armoured OpenPGP message in a text (inline PGP), with where it stands. */
export function findArmoredMessage(text: string): { start: number; end: number; armored: string } | null {
  const start = text.indexOf(BEGIN_MESSAGE);
  if (start < 0) return null;
  const endAt = text.indexOf(END_MESSAGE, start);
  if (endAt < 0) return null;
  const end = endAt + END_MESSAGE.length;
  return { start, end, armored: text.slice(start, end) };
}
