import { randomBytes } from "node:crypto";
import { hash, verify, type Algorithm } from "@node-rs/argon2";

/**
 * argon2id with the library's defaults (19 MiB, 2 passes, 1 lane: OWASP's baseline),
 * stored in PHC format so that stronger parameters later still verify old hashes.
 */
const ARGON2ID = 2 as Algorithm; // Algorithm.Argon2id; a const enum, not importable under isolatedModules

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID });
}

/** False for a wrong password and for a stored value that is not an argon2 hash. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * Spends the time of one real verification, so that an unknown e-mail answers as slowly
 * as a known one with a wrong password. Always false.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(24).toString("base64url"));
  await verifyPassword(await dummy, password);
  return false;
}
