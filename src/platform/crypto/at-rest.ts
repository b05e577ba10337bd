import { createCipheriv, createDecipheriv } from "node:crypto";
import { takeRandomBytes } from "./secrets.js";

/**
 * Secrets at rest (the team's private key): AES-256-GCM under the master key.
 * A sealed value reads `v1.<iv>.<tag>.<ciphertext>` (base64url parts). `context` is
 * bound in as additional authenticated data, so a sealed value copied onto another
 * row (another key's fingerprint) does not open there.
 */
const VERSION = "v1";
const IV_BYTES = 12;

export class SealedValueError extends Error {
  override readonly name = "SealedValueError";
}

export function sealSecret(key: Uint8Array, plaintext: Uint8Array | string, context: string): string {
  if (key.length !== 32) throw new Error("the master key must be 32 bytes");
  const iv = takeRandomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext), cipher.final()]);
  return [VERSION, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}

/** @throws SealedValueError when the value is malformed, was altered, or was sealed under another key or context. */
export function openSecret(key: Uint8Array, sealed: string, context: string): Buffer {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split(".");
  if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined || rest.length > 0) {
    throw new SealedValueError("the sealed value is not in a format this version of Shield knows");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
  } catch {
    throw new SealedValueError("the sealed value does not open with this master key (wrong key, or the value was altered)");
  }
}
