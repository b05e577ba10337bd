import fs from "node:fs/promises";
import * as openpgp from "openpgp";

/**
 * Looking at an OpenPGP message without decrypting it: who it is encrypted to and
 * whether it is nothing but an encrypted message. Used to accept ciphertext made in a
 * reporter's browser as it is, without ever holding its plaintext.
 */
export interface EncryptedMessageShape {
  /** Key IDs (16 upper-case hex digits) of the public-key encrypted session keys. */
  recipientKeyIds: string[];
}

const ARMOR_BEGIN = "-----BEGIN PGP MESSAGE-----";
const ARMOR_END = "-----END PGP MESSAGE-----";

/**
 * Reads an armoured (text) or binary message and checks that it is only public-key
 * encrypted session keys followed by one integrity-protected encrypted data packet: no
 * clear literal data, no signature-only or password-only message, no text around the
 * armour.
 * @returns the shape, or undefined when it is no such message
 */
export async function inspectEncryptedMessage(input: string | Uint8Array): Promise<EncryptedMessageShape | undefined> {
  let message: openpgp.Message<string | Uint8Array>;
  try {
    if (typeof input === "string") {
      const trimmed = input.trim();
      if (!trimmed.startsWith(ARMOR_BEGIN) || !trimmed.endsWith(ARMOR_END)) return undefined;
      message = await openpgp.readMessage({ armoredMessage: trimmed });
    } else {
      message = await openpgp.readMessage({ binaryMessage: input });
    }
  } catch {
    return undefined;
  }
  const tags = Array.from(message.packets, (packet) => (packet.constructor as unknown as { tag: number }).tag);
  const sessionKeys = tags.filter((tag) => tag === openpgp.enums.packet.publicKeyEncryptedSessionKey).length;
  const data = tags.at(-1);
  const isEncryptedData = data === openpgp.enums.packet.symEncryptedIntegrityProtectedData || data === openpgp.enums.packet.aeadEncryptedData;
  if (sessionKeys === 0 || sessionKeys !== tags.length - 1 || !isEncryptedData) return undefined;
  return { recipientKeyIds: message.getEncryptionKeyIDs().map((id) => id.toHex().toUpperCase()) };
}

/** Key IDs (upper-case hex) of every key and subkey in an armoured public key. */
export async function keyIdsOf(armoredKey: string): Promise<string[]> {
  const key = await openpgp.readKey({ armoredKey });
  return key.getKeys().map((k) => k.getKeyID().toHex().toUpperCase());
}

/**
 * Whether a file starts with an OpenPGP public-key encrypted session key packet (old or
 * new packet format): the cheap first look that lets such a file past the attachment
 * content check when, and only when, the form says it was encrypted in the browser.
 * `inspectEncryptedMessage` then reads it whole.
 */
export async function startsWithEncryptedSessionKey(file: string): Promise<boolean> {
  const handle = await fs.open(file, "r");
  try {
    const head = Buffer.alloc(1);
    const { bytesRead } = await handle.read(head, 0, 1, 0);
    if (bytesRead === 0) return false;
    const byte = head[0]!;
    // New format: 0xC0 | tag; old format: 0x80 | tag << 2 | length type.
    return byte === 0xc1 || (byte & 0xfc) === 0x84;
  } finally {
    await handle.close();
  }
}
