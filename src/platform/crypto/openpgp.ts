import * as openpgp from "openpgp";

/**
 * OpenPGP technology (openpgp.js v6): reading and describing keys, generating the team
 * key, clear-signing, encrypting to a reporter, decrypting for the team. Product rules
 * (which keys are acceptable, what is said about them) live in modules/keys.
 *
 * Keys are v4 and Curve25519 in the "legacy" encoding (EdDSA + ECDH/Cv25519): that is
 * what GnuPG 2.2, still the most common reporter tool, reads. openpgp.js 6 would
 * otherwise make v6 keys or RFC 9580 Ed25519/X25519 keys, which GnuPG 2.2 rejects.
 */
export type PgpKey = openpgp.Key;
export type PgpPrivateKey = openpgp.PrivateKey;

const COMPATIBLE: openpgp.PartialConfig = { v6Keys: false };

/** A key or message that is not what it claims to be; `reason` says which way. */
export class PgpError extends Error {
  override readonly name = "PgpError";

  constructor(
    readonly reason: "unreadable" | "no_key" | "several_keys" | "wrong_passphrase" | "undecryptable" | "too_large",
    message: string,
  ) {
    super(message);
  }
}

/** What the product rules need to know about a key, evaluated at a given date. */
export interface KeyFacts {
  isPrivate: boolean;
  /** The private half is still protected by a passphrase. */
  isLocked: boolean;
  version: number;
  /** Upper-case hex, as GnuPG prints it. */
  fingerprint: string;
  createdAt: string;
  /** e.g. "EdDSA Ed25519, encryption ECDH Curve25519". */
  algorithm: string;
  userIds: string[];
  isRevoked: boolean;
  isExpired: boolean;
  expiresAt: string | null;
  canSign: boolean;
  canEncrypt: boolean;
}

/**
 * Reads exactly one armoured key (public or private).
 * @throws PgpError `unreadable`, `no_key` or `several_keys`
 */
export async function readOneKey(armored: string): Promise<PgpKey> {
  let keys: PgpKey[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armored });
  } catch {
    throw new PgpError("unreadable", "not an ASCII-armoured OpenPGP key");
  }
  if (keys.length === 0) throw new PgpError("no_key", "no key in the armoured text");
  if (keys.length > 1) throw new PgpError("several_keys", `${keys.length} keys in the armoured text`);
  return keys[0]!;
}

export async function describeKey(key: PgpKey, date: Date): Promise<KeyFacts> {
  const isRevoked = await key.isRevoked(undefined, undefined, date).catch(() => false);
  let expiresAt: string | null = null;
  let isExpired = false;
  try {
    const expiry = await key.getExpirationTime();
    if (expiry instanceof Date) {
      expiresAt = expiry.toISOString();
      isExpired = expiry.getTime() <= date.getTime();
    }
  } catch {
    // No valid self-signature at all: the checks below find the key unusable anyway.
  }
  const usable = async (find: () => Promise<unknown>) =>
    find().then(
      () => true,
      () => false,
    );
  return {
    isPrivate: key.isPrivate(),
    isLocked: key.isPrivate() ? !key.isDecrypted() : false,
    version: key.keyPacket.version,
    fingerprint: key.getFingerprint().toUpperCase(),
    createdAt: key.getCreationTime().toISOString(),
    algorithm: describeAlgorithms(key),
    userIds: key.getUserIDs(),
    isRevoked,
    isExpired,
    expiresAt,
    canSign: !isRevoked && !isExpired && (await usable(() => key.getSigningKey(undefined, date))),
    canEncrypt: !isRevoked && !isExpired && (await usable(() => key.getEncryptionKey(undefined, date))),
  };
}

const ALGORITHM_NAMES: Record<string, string> = {
  eddsaLegacy: "EdDSA",
  ed25519: "Ed25519",
  ed448: "Ed448",
  ecdh: "ECDH",
  ecdsa: "ECDSA",
  x25519: "X25519",
  x448: "X448",
  rsaEncryptSign: "RSA",
  rsaSign: "RSA",
  rsaEncrypt: "RSA",
  dsa: "DSA",
  elgamal: "ElGamal",
};
const CURVE_NAMES: Record<string, string> = { ed25519Legacy: "Ed25519", curve25519Legacy: "Curve25519", nistP256: "P-256", nistP384: "P-384", nistP521: "P-521" };

function describeAlgorithm(info: openpgp.AlgorithmInfo): string {
  const name = ALGORITHM_NAMES[info.algorithm] ?? info.algorithm;
  if (info.curve) return `${name} ${CURVE_NAMES[info.curve] ?? info.curve}`;
  if (info.bits) return `${name} ${info.bits}`;
  return name;
}

function describeAlgorithms(key: PgpKey): string {
  const primary = describeAlgorithm(key.getAlgorithmInfo());
  const others = [...new Set(key.subkeys.map((subkey) => describeAlgorithm(subkey.getAlgorithmInfo())))].filter((d) => d !== primary);
  return others.length ? `${primary}, subkeys ${others.join(", ")}` : primary;
}

/** A new team key pair: v4, EdDSA Ed25519 primary (certify, sign) and an ECDH Curve25519 encryption subkey. */
export async function generateKeyPair(userId: { name: string; email: string }, date: Date): Promise<PgpPrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [userId],
    date,
    format: "object",
    config: COMPATIBLE,
  });
  return privateKey;
}

/** @throws PgpError `wrong_passphrase` */
export async function unlockPrivateKey(key: PgpPrivateKey, passphrase: string): Promise<PgpPrivateKey> {
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    throw new PgpError("wrong_passphrase", "the passphrase does not unlock the key");
  }
}

/** Reads an armoured private key that was stored unlocked (inside Shield's own at-rest encryption). */
export async function readUnlockedPrivateKey(armored: string): Promise<PgpPrivateKey> {
  const key = await openpgp.readPrivateKey({ armoredKey: armored });
  if (!key.isDecrypted()) throw new PgpError("unreadable", "the stored private key is still passphrase-protected");
  return key;
}

export function armorPublicKey(key: PgpKey): string {
  return key.toPublic().armor();
}

export function armorPrivateKey(key: PgpPrivateKey): string {
  return key.armor();
}

/** A cleartext-signed text (`-----BEGIN PGP SIGNED MESSAGE-----`), as security.txt wants. */
export async function signCleartext(text: string, signingKey: PgpPrivateKey, date: Date): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  return openpgp.sign({ message, signingKeys: signingKey, date, config: COMPATIBLE });
}

/** An armoured detached signature of `data` (a `.asc` file beside the file it signs). */
export async function signDetached(data: Uint8Array, signingKey: PgpPrivateKey, date: Date): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: signingKey, detached: true, date, config: COMPATIBLE });
}

/**
 * Encrypts `data` to `recipientArmored` and signs it with `signingKey` (one OpenPGP
 * message, signature inside the encryption, as RFC 3156 §6.2 allows).
 * @throws PgpError `unreadable` when the recipient key is unusable now
 */
export async function encryptAndSign(data: Uint8Array, recipientArmored: string, signingKey: PgpPrivateKey | undefined, date: Date): Promise<string> {
  const recipient = await readOneKey(recipientArmored);
  const message = await openpgp.createMessage({ binary: data });
  try {
    return await openpgp.encrypt({
      message,
      encryptionKeys: recipient,
      ...(signingKey ? { signingKeys: signingKey } : {}),
      date,
      format: "armored",
      config: COMPATIBLE,
    });
  } catch (error) {
    throw new PgpError("unreadable", `cannot encrypt to the recipient's key: ${(error as Error).message}`);
  }
}

export interface DecryptOptions {
  /** Largest plaintext accepted after decompression, against compression bombs. */
  maxBytes: number;
}

/**
 * Decrypts an armoured or binary OpenPGP message with any of `keys`.
 * @throws PgpError `unreadable` (not an OpenPGP message), `undecryptable` (not for these
 * keys, or altered), `too_large`
 */
export async function decryptMessage(input: string | Uint8Array, keys: PgpPrivateKey[], options: DecryptOptions): Promise<Uint8Array> {
  let message: openpgp.Message<Uint8Array | string>;
  try {
    message = typeof input === "string" ? await openpgp.readMessage({ armoredMessage: input }) : await openpgp.readMessage({ binaryMessage: input });
  } catch {
    throw new PgpError("unreadable", "not an OpenPGP message");
  }
  try {
    const { data } = await openpgp.decrypt({
      message,
      decryptionKeys: keys,
      format: "binary",
      config: { maxDecompressedMessageSize: options.maxBytes },
    });
    const bytes = data as Uint8Array;
    if (bytes.length > options.maxBytes) throw new PgpError("too_large", `the plaintext is larger than ${options.maxBytes} bytes`);
    return bytes;
  } catch (error) {
    if (error instanceof PgpError) throw error;
    const text = (error as Error).message ?? "";
    if (/decompress|too large|maxDecompressed/i.test(text)) throw new PgpError("too_large", `the plaintext is larger than ${options.maxBytes} bytes`);
    throw new PgpError("undecryptable", "the message is not encrypted to these keys, or it was altered");
  }
}

/** One signature of a message, checked against the keys at hand. */
export interface SignatureCheck {
  /** Upper-case hex key ID of the signing key, as the signature names it. */
  keyId: string;
  /** The fingerprint of the key that verified it; null when no key at hand was the signer. */
  fingerprint: string | null;
  valid: boolean;
  detail: string;
}

async function checkSignatures(
  signatures: Array<{ keyID: { toHex(): string }; verified: Promise<unknown> }>,
  verificationKeys: PgpKey[],
): Promise<SignatureCheck[]> {
  const out: SignatureCheck[] = [];
  for (const sig of signatures) {
    const keyId = sig.keyID.toHex().toUpperCase();
    const signer = verificationKeys.find((k) => k.getKeyIDs().some((id) => id.toHex().toUpperCase() === keyId));
    try {
      await sig.verified;
      out.push({ keyId, fingerprint: signer ? signer.getFingerprint().toUpperCase() : null, valid: true, detail: "good signature" });
    } catch (error) {
      const message = (error as Error).message ?? "";
      out.push(
        signer
          ? { keyId, fingerprint: signer.getFingerprint().toUpperCase(), valid: false, detail: `bad signature: ${message.slice(0, 200)}` }
          : { keyId, fingerprint: null, valid: false, detail: "signed with a key Shield does not have" },
      );
    }
  }
  return out;
}

/**
 * As `decryptMessage`, also checking the signatures inside the message against
 * `verificationKeys` (a signature by a key not among them is reported, not trusted).
 */
export async function decryptAndCheckSignatures(
  input: string | Uint8Array,
  keys: PgpPrivateKey[],
  verificationKeys: PgpKey[],
  options: DecryptOptions,
): Promise<{ data: Uint8Array; signatures: SignatureCheck[] }> {
  let message: openpgp.Message<Uint8Array | string>;
  try {
    message = typeof input === "string" ? await openpgp.readMessage({ armoredMessage: input }) : await openpgp.readMessage({ binaryMessage: input });
  } catch {
    throw new PgpError("unreadable", "not an OpenPGP message");
  }
  let result: { data: unknown; signatures: Array<{ keyID: { toHex(): string }; verified: Promise<unknown> }> };
  try {
    result = await openpgp.decrypt({
      message,
      decryptionKeys: keys,
      verificationKeys,
      format: "binary",
      config: { maxDecompressedMessageSize: options.maxBytes },
    });
  } catch (error) {
    const text = (error as Error).message ?? "";
    if (/decompress|too large|maxDecompressed/i.test(text)) throw new PgpError("too_large", `the plaintext is larger than ${options.maxBytes} bytes`);
    throw new PgpError("undecryptable", "the message is not encrypted to these keys, or it was altered");
  }
  const data = result.data as Uint8Array;
  if (data.length > options.maxBytes) throw new PgpError("too_large", `the plaintext is larger than ${options.maxBytes} bytes`);
  return { data, signatures: await checkSignatures(result.signatures, verificationKeys) };
}

/** Checks a detached signature (PGP/MIME multipart/signed) over the exact signed bytes. */
export async function checkDetachedSignature(signedBytes: Uint8Array, signature: string | Uint8Array, verificationKeys: PgpKey[]): Promise<SignatureCheck[]> {
  let parsed: openpgp.Signature;
  try {
    parsed = typeof signature === "string" ? await openpgp.readSignature({ armoredSignature: signature }) : await openpgp.readSignature({ binarySignature: signature });
  } catch {
    throw new PgpError("unreadable", "not an OpenPGP signature");
  }
  const message = await openpgp.createMessage({ binary: signedBytes });
  const result = await openpgp.verify({ message, signature: parsed, verificationKeys, format: "binary" });
  return checkSignatures(result.signatures, verificationKeys);
}

/** The public keys in an armoured or binary key block; none when it holds no readable key. */
export async function readPublicKeys(input: string | Uint8Array): Promise<PgpKey[]> {
  try {
    const keys = typeof input === "string" ? await openpgp.readKeys({ armoredKeys: input }) : await openpgp.readKeys({ binaryKeys: input });
    return keys.map((k) => k.toPublic());
  } catch {
    return [];
  }
}
