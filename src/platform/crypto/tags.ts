import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/**
 * Short unguessable tags for values Shield hands out in the open, such as a report's
 * reply address: an HMAC under a key derived from the master key for one purpose, so a
 * tag for one purpose never passes for another and nothing needs storing to check it.
 */
export class Tagger {
  private readonly key: Buffer;

  constructor(masterKey: Uint8Array, purpose: string) {
    this.key = Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), `shield tag: ${purpose}`, 32));
  }

  /** 26 lower-case base32 characters (130 bits): fits a mail local part and a Message-ID. */
  tag(value: string): string {
    return base32(createHmac("sha256", this.key).update(value, "utf8").digest()).slice(0, 26);
  }

  /** Constant-time check of a tag someone sent back. */
  verify(value: string, tag: string): boolean {
    const expected = Buffer.from(this.tag(value));
    const given = Buffer.from(tag.toLowerCase());
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
