import { openSecret, sealSecret } from "../../platform/crypto/at-rest.js";

/**
 * TOTP secrets are sealed at rest (AES-256-GCM under the master key), each bound to its
 * member: a sealed secret copied onto another member's row does not open there.
 */
export interface SecretSealer {
  seal(secret: string, userId: number): string;
  open(sealed: string, userId: number): string;
}

const contextOf = (userId: number) => `shield totp secret\nuser:${userId}`;

export function createMasterKeySealer(masterKey: Uint8Array): SecretSealer {
  return {
    seal: (secret, userId) => sealSecret(masterKey, secret, contextOf(userId)),
    open: (sealed, userId) => openSecret(masterKey, sealed, contextOf(userId)).toString("utf8"),
  };
}
