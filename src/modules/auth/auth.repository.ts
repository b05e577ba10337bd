import type { Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { InvitesTable, PasskeysTable, SessionsTable, UserTotpTable } from "../../platform/db/schema.js";
import type { SessionData, SessionKind, StoredSession } from "./auth.js";

// ---- passwords -------------------------------------------------------------

export async function findPasswordHash(db: Executor, userId: number): Promise<{ hash: string; changedAt: string } | undefined> {
  const row = await db.selectFrom("user_passwords").select(["hash", "changed_at"]).where("user_id", "=", userId).executeTakeFirst();
  return row && { hash: row.hash, changedAt: row.changed_at };
}

export async function savePasswordHash(db: Executor, userId: number, hash: string, at: string): Promise<void> {
  await db
    .insertInto("user_passwords")
    .values({ user_id: userId, hash, changed_at: at })
    .onConflict((oc) => oc.column("user_id").doUpdateSet({ hash, changed_at: at }))
    .execute();
}

// ---- TOTP ------------------------------------------------------------------

export type TotpRow = Selectable<UserTotpTable>;

export async function findTotp(db: Executor, userId: number): Promise<TotpRow | undefined> {
  return db.selectFrom("user_totp").selectAll().where("user_id", "=", userId).executeTakeFirst();
}

export async function savePendingTotp(db: Executor, userId: number, sealed: string, at: string): Promise<void> {
  await db
    .insertInto("user_totp")
    .values({ user_id: userId, pending_sealed_secret: sealed, pending_since: at })
    .onConflict((oc) => oc.column("user_id").doUpdateSet({ pending_sealed_secret: sealed, pending_since: at }))
    .execute();
}

/** Makes the pending secret the active one, if it is still the one that was checked. */
export async function activatePendingTotp(db: Executor, userId: number, pendingSealed: string, step: number, at: string): Promise<boolean> {
  const result = await db
    .updateTable("user_totp")
    .set({ sealed_secret: pendingSealed, enrolled_at: at, last_step: step, pending_sealed_secret: null, pending_since: null })
    .where("user_id", "=", userId)
    .where("pending_sealed_secret", "=", pendingSealed)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Records `step` as used. False when that step (or a later one) was used already —
 * the compare-and-set makes two simultaneous uses of one code accept only one.
 */
export async function claimTotpStep(db: Executor, userId: number, step: number): Promise<boolean> {
  const result = await db
    .updateTable("user_totp")
    .set({ last_step: step })
    .where("user_id", "=", userId)
    .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

// ---- recovery codes ----------------------------------------------------------

export async function replaceRecoveryCodes(db: Executor, userId: number, codeHashes: string[], at: string): Promise<void> {
  await db.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
  await db
    .insertInto("recovery_codes")
    .values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: at })))
    .execute();
}

/** Marks the code used; false when it is not this member's or was used before. */
export async function useRecoveryCode(db: Executor, userId: number, codeHash: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable("recovery_codes")
    .set({ used_at: at })
    .where("user_id", "=", userId)
    .where("code_hash", "=", codeHash)
    .where("used_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function countUnusedRecoveryCodes(db: Executor, userId: number): Promise<number> {
  const row = await db
    .selectFrom("recovery_codes")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", userId)
    .where("used_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---- passkeys ----------------------------------------------------------------

export type PasskeyRow = Selectable<PasskeysTable>;

export async function listPasskeys(db: Executor, userId: number): Promise<PasskeyRow[]> {
  return db.selectFrom("passkeys").selectAll().where("user_id", "=", userId).orderBy("id").execute();
}

export async function findPasskey(db: Executor, userId: number, credentialId: string): Promise<PasskeyRow | undefined> {
  return db.selectFrom("passkeys").selectAll().where("user_id", "=", userId).where("credential_id", "=", credentialId).executeTakeFirst();
}

export async function insertPasskey(
  db: Executor,
  values: { userId: number; credentialId: string; publicKey: string; counter: number; transports: string[]; name: string; at: string },
): Promise<number> {
  const row = await db
    .insertInto("passkeys")
    .values({
      user_id: values.userId,
      credential_id: values.credentialId,
      public_key: values.publicKey,
      counter: values.counter,
      transports: JSON.stringify(values.transports),
      name: values.name,
      created_at: values.at,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function recordPasskeyUse(db: Executor, id: number, counter: number, at: string): Promise<void> {
  await db.updateTable("passkeys").set({ counter, last_used_at: at }).where("id", "=", id).execute();
}

export async function deletePasskey(db: Executor, userId: number, id: number): Promise<PasskeyRow | undefined> {
  const row = await db.selectFrom("passkeys").selectAll().where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
  if (row) await db.deleteFrom("passkeys").where("id", "=", id).execute();
  return row;
}

// ---- sessions ----------------------------------------------------------------

function toSession(row: Selectable<SessionsTable>): StoredSession {
  let data: SessionData = {};
  try {
    data = JSON.parse(row.data) as SessionData;
  } catch {
    // A session whose data cannot be read simply has none.
  }
  return { id: row.id, userId: row.user_id, kind: row.kind as SessionKind, data, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at };
}

export async function insertSession(
  db: Executor,
  values: { tokenHash: string; userId: number; kind: SessionKind; data: SessionData; at: string; expiresAt: string },
): Promise<StoredSession> {
  const row = await db
    .insertInto("sessions")
    .values({
      token_hash: values.tokenHash,
      user_id: values.userId,
      kind: values.kind,
      data: JSON.stringify(values.data),
      created_at: values.at,
      last_seen_at: values.at,
      expires_at: values.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toSession(row);
}

export async function findSessionByTokenHash(db: Executor, tokenHash: string): Promise<StoredSession | undefined> {
  const row = await db.selectFrom("sessions").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
  return row && toSession(row);
}

export async function touchSession(db: Executor, id: number, at: string): Promise<void> {
  await db.updateTable("sessions").set({ last_seen_at: at }).where("id", "=", id).execute();
}

export async function saveSessionData(db: Executor, id: number, data: SessionData): Promise<void> {
  await db.updateTable("sessions").set({ data: JSON.stringify(data) }).where("id", "=", id).execute();
}

/**
 * Takes the session's WebAuthn challenge out, so that it serves one ceremony only.
 * Returns undefined when there was none (or another request took it first).
 */
export async function takeSessionChallenge(db: Executor, session: StoredSession): Promise<string | undefined> {
  const challenge = session.data.challenge;
  if (!challenge) return undefined;
  const { challenge: _used, ...rest } = session.data;
  const result = await db
    .updateTable("sessions")
    .set({ data: JSON.stringify(rest) })
    .where("id", "=", session.id)
    .where("data", "=", JSON.stringify(session.data))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1 ? challenge : undefined;
}

export async function deleteSession(db: Executor, id: number): Promise<void> {
  await db.deleteFrom("sessions").where("id", "=", id).execute();
}

/** Ends every session of a member (except `keepId`): after a password change, an invite, a disable. */
export async function deleteSessionsOfUser(db: Executor, userId: number, keepId?: number): Promise<number> {
  let query = db.deleteFrom("sessions").where("user_id", "=", userId);
  if (keepId !== undefined) query = query.where("id", "!=", keepId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Removes sessions past their absolute end, and signed-in ones idle since `idleBefore`. */
export async function deleteEndedSessions(db: Executor, now: string, idleBefore: string): Promise<void> {
  await db
    .deleteFrom("sessions")
    .where((eb) => eb.or([eb("expires_at", "<=", now), eb.and([eb("kind", "=", "signed_in"), eb("last_seen_at", "<=", idleBefore)])]))
    .execute();
}

// ---- invites -----------------------------------------------------------------

export type InviteRow = Selectable<InvitesTable>;

export async function insertInvite(
  db: Executor,
  values: { userId: number; tokenHash: string; purpose: "invite" | "setup"; createdBy: string; at: string; expiresAt: string },
): Promise<InviteRow> {
  return db
    .insertInto("invites")
    .values({
      user_id: values.userId,
      token_hash: values.tokenHash,
      purpose: values.purpose,
      created_by: values.createdBy,
      created_at: values.at,
      expires_at: values.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findInviteByTokenHash(db: Executor, tokenHash: string): Promise<InviteRow | undefined> {
  return db.selectFrom("invites").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
}

export async function findInviteById(db: Executor, id: number): Promise<InviteRow | undefined> {
  return db.selectFrom("invites").selectAll().where("id", "=", id).executeTakeFirst();
}

/** One use: false when the invite was used (or replaced) in the meantime. */
export async function markInviteUsed(db: Executor, id: number, at: string): Promise<boolean> {
  const result = await db.updateTable("invites").set({ used_at: at }).where("id", "=", id).where("used_at", "is", null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** A new invite replaces the member's open ones: only the newest link works. */
export async function closeOpenInvites(db: Executor, userId: number, at: string): Promise<void> {
  await db.updateTable("invites").set({ used_at: at }).where("user_id", "=", userId).where("used_at", "is", null).execute();
}

// ---- failed attempts ------------------------------------------------------------

export type FailureScope = "ip" | "account";

export async function recordFailures(db: Executor, keys: Array<{ scope: FailureScope; key: string }>, at: string): Promise<void> {
  if (keys.length === 0) return;
  await db
    .insertInto("sign_in_failures")
    .values(keys.map(({ scope, key }) => ({ scope, key, at })))
    .execute();
}

export async function countFailures(db: Executor, scope: FailureScope, key: string, since: string): Promise<number> {
  const row = await db
    .selectFrom("sign_in_failures")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("scope", "=", scope)
    .where("key", "=", key)
    .where("at", ">", since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function pruneFailures(db: Executor, before: string): Promise<void> {
  await db.deleteFrom("sign_in_failures").where("at", "<=", before).execute();
}

// ---- guessing notices -------------------------------------------------------------

/**
 * Takes the member's turn for a guessing notice: true when none was sent since
 * `lastAllowedBefore` (and records `at`), false when one was. One statement (an upsert
 * whose update is conditional), so two processes counting failures at the same moment
 * do not both send.
 */
export async function claimGuessingNotice(db: Executor, userId: number, at: string, lastAllowedBefore: string): Promise<boolean> {
  const row = await db
    .insertInto("sign_in_guessing_notices")
    .values({ user_id: userId, notified_at: at })
    .onConflict((oc) => oc.column("user_id").doUpdateSet({ notified_at: at }).where("sign_in_guessing_notices.notified_at", "<=", lastAllowedBefore))
    .returning("user_id")
    .executeTakeFirst();
  return row !== undefined;
}
