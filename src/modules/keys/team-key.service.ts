import type { Db } from "../../platform/db/database.js";
import { openSecret, sealSecret, SealedValueError } from "../../platform/crypto/at-rest.js";
import { loadMasterKey, type MasterKey } from "../../platform/crypto/master-key.js";
import {
  armorPrivateKey,
  armorPublicKey,
  decryptAndCheckSignatures,
  decryptMessage,
  describeKey,
  generateKeyPair,
  PgpError,
  readOneKey,
  readUnlockedPrivateKey,
  unlockPrivateKey,
  type PgpKey,
  type PgpPrivateKey,
  type SignatureCheck,
} from "../../platform/crypto/openpgp.js";
import { DomainError } from "../../shared/errors.js";
import type { Clock } from "../../shared/clock.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import type { SettingsReader } from "../settings/index.js";
import { KEY_UNREADABLE, problemWithTeamKey, teamKeyUserId } from "./keys.js";
import { findCurrentTeamKeyRow, insertCurrentTeamKeyIfAbsent, listTeamKeyRows, retireCurrentTeamKey, type NewTeamKeyRow, type TeamKeyRow } from "./team-key.repository.js";

/** The team key as anyone may see it: no secret in here. */
export interface TeamKey {
  fingerprint: string;
  algorithm: string;
  userIds: string[];
  /** When the OpenPGP key was made (its creation time, not when Shield stored it). */
  createdAt: string;
  expiresAt: string | null;
  source: "generated" | "imported";
  storedAt: string;
  /** ASCII-armoured public key. */
  publicKey: string;
}

export const TeamKeyRefusedError = (message: string) => new DomainError("team_key_refused", "invalid", message);
export const NoTeamKeyError = () =>
  new DomainError("no_team_key", "not_found", "There is no team key yet: Shield makes one on first start, or import one with `shield key import FILE`.");
export const UndecryptableMessageError = (message: string) => new DomainError("undecryptable_message", "invalid", message);

/**
 * The team key exists but this process cannot open it: it was sealed under another
 * master key. Raised at start-up, before Shield serves anything it could not sign.
 */
export class MasterKeyMismatchError extends Error {
  override readonly name = "MasterKeyMismatchError";
}

function toTeamKey(row: TeamKeyRow): TeamKey {
  return {
    fingerprint: row.fingerprint,
    algorithm: row.algorithm,
    userIds: JSON.parse(row.user_ids) as string[],
    createdAt: row.key_created_at,
    expiresAt: row.expires_at,
    source: row.source as TeamKey["source"],
    storedAt: row.stored_at,
    publicKey: row.public_key,
  };
}

const sealingContext = (fingerprint: string) => `shield team key ${fingerprint}`;

async function sealKeyRow(key: PgpPrivateKey, masterKey: MasterKey, source: TeamKey["source"], at: string, date: Date): Promise<NewTeamKeyRow> {
  const facts = await describeKey(key, date);
  return {
    fingerprint: facts.fingerprint,
    algorithm: facts.algorithm,
    user_ids: JSON.stringify(facts.userIds),
    key_created_at: facts.createdAt,
    expires_at: facts.expiresAt,
    public_key: armorPublicKey(key),
    sealed_private_key: sealSecret(masterKey.bytes, armorPrivateKey(key), sealingContext(facts.fingerprint)),
    master_key_id: masterKey.id,
    source,
    stored_at: at,
  };
}

/** @throws MasterKeyMismatchError when the row was sealed under another master key or altered. */
async function unsealKeyRow(row: TeamKeyRow, masterKey: MasterKey): Promise<PgpPrivateKey> {
  try {
    return await readUnlockedPrivateKey(openSecret(masterKey.bytes, row.sealed_private_key, sealingContext(row.fingerprint)).toString("utf8"));
  } catch (error) {
    if (!(error instanceof SealedValueError)) throw error;
    const where = masterKey.source === "environment" ? "SHIELD_MASTER_KEY" : "<data dir>/master.key";
    throw new MasterKeyMismatchError(
      row.master_key_id === masterKey.id
        ? `The team key ${row.fingerprint} does not open with this master key although the key ids match: the stored key was altered. Restore the database from a backup.`
        : `The team key ${row.fingerprint} was stored under master key ${row.master_key_id}, but this process has master key ${masterKey.id} (from ${where}). ` +
            "Every process sharing the database needs the same master key: set SHIELD_MASTER_KEY (or restore master.key) to the one the key was stored with.",
    );
  }
}

export interface TeamKeyDeps {
  db: Db;
  masterKey: MasterKey;
  clock: Clock;
}

/**
 * Makes sure there is a team key, generating one (v4, Curve25519, user ID from the
 * program settings) on the first start. Safe when several processes start at once on
 * one database: each inserts only if there is none, then all read the one that won.
 * Also proves that this process's master key opens the key.
 * @throws MasterKeyMismatchError
 */
export async function ensureTeamKey(deps: TeamKeyDeps & { settings: SettingsReader }): Promise<{ key: TeamKey; created: boolean }> {
  const { db, masterKey, clock } = deps;
  let row = await findCurrentTeamKeyRow(db);
  let created = false;
  if (!row) {
    const now = clock.now();
    const at = now.toISOString();
    const generated = await generateKeyPair(teamKeyUserId(await deps.settings.get()), now);
    const newRow = await sealKeyRow(generated, masterKey, "generated", at, now);
    created = await db.transaction().execute(async (tx) => {
      const id = await insertCurrentTeamKeyIfAbsent(tx, newRow);
      if (id === undefined) return false;
      await appendAuditEvent(tx, { kind: "system" }, { action: "team_key.generated", subjectType: "team_key", subjectId: newRow.fingerprint, data: { algorithm: newRow.algorithm } }, at);
      return true;
    });
    row = await findCurrentTeamKeyRow(db);
    if (!row) throw new Error("the team key vanished right after it was stored");
  }
  await unsealKeyRow(row, masterKey);
  return { key: toTeamKey(row), created };
}

/** Start-up: the master key (environment or data directory), then the team key. */
export async function prepareTeamKeyring(options: { db: Db; clock: Clock; settings: SettingsReader; dataDir: string; masterKeyBase64?: string }): Promise<TeamKeyring> {
  const masterKey = await loadMasterKey({ dataDir: options.dataDir, fromEnvironment: options.masterKeyBase64 });
  await ensureTeamKey({ db: options.db, masterKey, clock: options.clock, settings: options.settings });
  return new TeamKeyring(options.db, masterKey);
}

export async function findTeamKey(db: Db): Promise<TeamKey | undefined> {
  const row = await findCurrentTeamKeyRow(db);
  return row && toTeamKey(row);
}

export interface ImportedTeamKey {
  key: TeamKey;
  /** The key it replaced (kept, retired, so that mail encrypted to it still opens). */
  replaced: TeamKey | null;
  /** The file held the current team key already; nothing changed. */
  unchanged: boolean;
}

/**
 * Makes an existing OpenPGP private key the team key. The passphrase, if the key has
 * one, is used once to unlock it; from then on the key is protected by the master key.
 * @throws TeamKeyRefusedError naming what is wrong with the key
 */
export async function importTeamKey(deps: TeamKeyDeps, actor: Actor, armored: string, passphrase?: string): Promise<ImportedTeamKey> {
  const { db, masterKey, clock } = deps;
  const now = clock.now();
  let key: PgpKey;
  try {
    key = await readOneKey(armored);
  } catch (error) {
    if (error instanceof PgpError) throw TeamKeyRefusedError(error.reason === "several_keys" ? KEY_UNREADABLE.severalTeamKeys : KEY_UNREADABLE.team);
    throw error;
  }
  let facts = await describeKey(key, now);
  if (!facts.isPrivate) throw TeamKeyRefusedError(problemWithTeamKey(facts)!);
  if (facts.isLocked) {
    if (passphrase === undefined) throw TeamKeyRefusedError("The key is protected by a passphrase: give it with --passphrase-file FILE.");
    try {
      key = await unlockPrivateKey(key as PgpPrivateKey, passphrase);
    } catch (error) {
      if (error instanceof PgpError) throw TeamKeyRefusedError("The passphrase does not unlock this key.");
      throw error;
    }
    facts = await describeKey(key, now);
  }
  const problem = problemWithTeamKey(facts);
  if (problem) throw TeamKeyRefusedError(problem);

  const current = await findCurrentTeamKeyRow(db);
  if (current?.fingerprint === facts.fingerprint) return { key: toTeamKey(current), replaced: null, unchanged: true };

  const at = now.toISOString();
  const newRow = await sealKeyRow(key as PgpPrivateKey, masterKey, "imported", at, now);
  const replaced = await db.transaction().execute(async (tx) => {
    const retired = await retireCurrentTeamKey(tx, at);
    const id = await insertCurrentTeamKeyIfAbsent(tx, newRow);
    if (id === undefined) throw new DomainError("team_key_busy", "conflict", "Another team key was stored at the same moment; run the import again.");
    await appendAuditEvent(
      tx,
      actor,
      { action: "team_key.imported", subjectType: "team_key", subjectId: newRow.fingerprint, data: { algorithm: newRow.algorithm, replaced: retired?.fingerprint ?? null } },
      at,
    );
    return retired;
  });
  const stored = await findCurrentTeamKeyRow(db);
  return { key: toTeamKey(stored!), replaced: replaced ? toTeamKey(replaced) : null, unchanged: false };
}

/** Largest plaintext `decryptForTeam` returns, against compression bombs in hostile messages. */
export const MAX_DECRYPTED_BYTES = 50 * 1024 * 1024;

/**
 * The team key for one running process: the public key to publish, the private key to
 * sign with, and every key the team ever had to decrypt with. The current key is
 * re-read every `ttlMs`, so a `shield key import` reaches running processes within
 * seconds; unsealed private keys stay in memory only, per stored row.
 */
export class TeamKeyring {
  private currentRow: TeamKeyRow | undefined;
  private loadedAt = 0;
  private readonly unsealed = new Map<number, PgpPrivateKey>();

  constructor(
    private readonly db: Db,
    private readonly masterKey: MasterKey,
    private readonly ttlMs = 30_000,
  ) {}

  private async row(): Promise<TeamKeyRow> {
    if (!this.currentRow || Date.now() - this.loadedAt > this.ttlMs) {
      const row = await findCurrentTeamKeyRow(this.db);
      if (!row) throw NoTeamKeyError();
      this.currentRow = row;
      this.loadedAt = Date.now();
    }
    return this.currentRow;
  }

  private async unseal(row: TeamKeyRow): Promise<PgpPrivateKey> {
    let key = this.unsealed.get(row.id);
    if (!key) {
      key = await unsealKeyRow(row, this.masterKey);
      this.unsealed.set(row.id, key);
    }
    return key;
  }

  /** @throws NoTeamKeyError */
  async current(): Promise<TeamKey> {
    return toTeamKey(await this.row());
  }

  /** The current private key, unlocked, for signing. */
  async signingKey(): Promise<PgpPrivateKey> {
    return this.unseal(await this.row());
  }

  /**
   * Decrypts an ASCII-armoured OpenPGP message encrypted to the team key (current or
   * retired) and returns its text.
   * @throws UndecryptableMessageError (not OpenPGP, not for the team, altered, not UTF-8);
   * DomainError `message_too_large` beyond MAX_DECRYPTED_BYTES
   */
  async decryptForTeam(armoredMessage: string): Promise<string> {
    const bytes = await this.decryptBinaryForTeam(armoredMessage);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw UndecryptableMessageError("The decrypted message is not UTF-8 text; read it as bytes instead.");
    }
  }

  /** As decryptForTeam, for a binary or armoured message whose content is bytes (a file). */
  /** Every private key the team ever had (current and retired), unlocked, for decrypting. */
  async allPrivateKeys(): Promise<PgpPrivateKey[]> {
    const keys: PgpPrivateKey[] = [];
    for (const row of await listTeamKeyRows(this.db)) keys.push(await this.unseal(row));
    return keys;
  }

  async decryptBinaryForTeam(message: string | Uint8Array, maxBytes = MAX_DECRYPTED_BYTES): Promise<Uint8Array> {
    const keys = await this.allPrivateKeys();
    try {
      return await decryptMessage(message, keys, { maxBytes });
    } catch (error) {
      if (!(error instanceof PgpError)) throw error;
      if (error.reason === "too_large") throw new DomainError("message_too_large", "too_large", `The decrypted message is larger than ${maxBytes} bytes.`);
      if (error.reason === "unreadable") throw UndecryptableMessageError("This is not an OpenPGP message.");
      throw UndecryptableMessageError("The message is not encrypted to the team key, or it was altered.");
    }
  }
}

/**
 * Decrypts mail encrypted to the team key (current or retired) and checks the
 * signatures inside it against `verificationKeys`.
 * @throws UndecryptableMessageError; DomainError `message_too_large`
 */
export async function decryptMailForTeam(
  keyring: TeamKeyring,
  message: string | Uint8Array,
  verificationKeys: PgpKey[],
  maxBytes = MAX_DECRYPTED_BYTES,
): Promise<{ data: Uint8Array; signatures: SignatureCheck[] }> {
  const keys = await keyring.allPrivateKeys();
  try {
    return await decryptAndCheckSignatures(message, keys, verificationKeys, { maxBytes });
  } catch (error) {
    if (!(error instanceof PgpError)) throw error;
    if (error.reason === "too_large") throw new DomainError("message_too_large", "too_large", `The decrypted message is larger than ${maxBytes} bytes.`);
    if (error.reason === "unreadable") throw UndecryptableMessageError("This is not an OpenPGP message.");
    throw UndecryptableMessageError("The message is not encrypted to a key the team holds, or it was altered.");
  }
}

/** Text encrypted to the team key (e.g. a report encrypted in the reporter's browser). */
export function decryptForTeam(keyring: TeamKeyring, armoredMessage: string): Promise<string> {
  return keyring.decryptForTeam(armoredMessage);
}

/** Bytes encrypted to the team key (an attachment), from a binary or armoured message. */
export function decryptBinaryForTeam(keyring: TeamKeyring, message: string | Uint8Array): Promise<Uint8Array> {
  return keyring.decryptBinaryForTeam(message);
}
