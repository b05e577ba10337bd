import { randomBytes } from "node:crypto";
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import { generateSecret, hashSecret } from "../../platform/crypto/secrets.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { UserNotFoundError, ValidationError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { actorOf, closeSetup, completeSetup, createApiToken, findUserByEmail, findUserById, normalizeEmail, type TeamMember } from "../people/index.js";
import { formatRecoveryCode, INVITE_LIFETIME_MS, isAddressLocked, RECOVERY_CODE_COUNT } from "./auth.js";
import {
  EnrolmentNotStartedError,
  InviteInvalidError,
  PasskeyFailedError,
  PasskeyNotFoundError,
  PasswordConfirmationError,
  SignInLockedError,
} from "./auth.errors.js";
import {
  activatePendingTotp,
  closeOpenInvites,
  countFailures,
  countUnusedRecoveryCodes,
  deletePasskey,
  deleteSessionsOfUser,
  findInviteById,
  findInviteByTokenHash,
  findPasswordHash,
  findTotp,
  insertInvite,
  insertPasskey,
  listPasskeys,
  markInviteUsed,
  replaceRecoveryCodes,
  saveSessionData,
  savePasswordHash,
  savePendingTotp,
  takeSessionChallenge,
  type InviteRow,
} from "./auth.repository.js";
import { hashPassword, verifyPassword } from "./password.hasher.js";
import { findPasswordProblem } from "./password.rules.js";
import { startSession, type ActiveSession, type AuthContext } from "./session.service.js";
import { recordSignInFailure, relyingParty } from "./sign-in.service.js";
import { checkTotpCode, createTotpSecret, groupSecret, totpQrCode, totpUri } from "./totp.authenticator.js";

// ---- invites ---------------------------------------------------------------------

export function inviteUrlFor(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/invite/${token}`;
}

/**
 * A one-time link (48 hours) for a member to set a password and enrol TOTP. It replaces
 * the member's open invites. For an existing member it is also the way back in after a
 * lost phone: completing it replaces the password, the authenticator, the recovery
 * codes and the passkeys, and ends every session.
 * @throws UserNotFoundError
 */
export async function createInvite(
  deps: { db: Db; clock: Clock },
  actor: Actor,
  emailInput: string,
  baseUrl: string,
  purpose: "invite" | "setup" = "invite",
): Promise<{ url: string; expiresAt: string; member: TeamMember }> {
  const email = normalizeEmail(emailInput);
  return deps.db.transaction().execute(async (tx) => {
    const member = await findUserByEmail(tx, email);
    if (!member || member.disabledAt) throw UserNotFoundError(email);
    const now = deps.clock.now();
    const at = now.toISOString();
    const expiresAt = new Date(now.getTime() + INVITE_LIFETIME_MS).toISOString();
    const token = generateSecret(32);
    await closeOpenInvites(tx, member.id, at);
    const invite = await insertInvite(tx, { userId: member.id, tokenHash: hashSecret(token), purpose, createdBy: describe(actor), at, expiresAt });
    await appendAuditEvent(tx, actor, { action: "auth.invite_created", subjectType: "user", subjectId: String(member.id), data: { inviteId: invite.id, purpose, expiresAt } }, at);
    return { url: inviteUrlFor(baseUrl, token), expiresAt, member };
  });
}

function describe(actor: Actor): string {
  return actor.kind === "user" ? `user:${actor.userId}` : actor.kind;
}

function isOpen(invite: InviteRow, now: Date): boolean {
  return invite.used_at === null && Date.parse(invite.expires_at) > now.getTime();
}

/** @throws InviteInvalidError when the link is unknown, used, replaced or expired, or the member is disabled */
export async function findOpenInvite(ctx: Pick<AuthContext, "db" | "clock">, token: string): Promise<{ invite: InviteRow; member: TeamMember }> {
  const invite = token.length <= 100 ? await findInviteByTokenHash(ctx.db, hashSecret(token)) : undefined;
  if (!invite || !isOpen(invite, ctx.clock.now())) throw InviteInvalidError();
  const member = await findUserById(ctx.db, invite.user_id);
  if (!member || member.disabledAt) throw InviteInvalidError();
  return { invite, member };
}

/** Field errors for a new password typed twice; personal details make guessable passwords. */
function checkNewPassword(input: { password: string; passwordAgain: string }, personal: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  const problem = findPasswordProblem(input.password, personal);
  if (problem) fields.password = problem;
  else if (input.password !== input.passwordAgain) fields.passwordAgain = "The two passwords are not the same.";
  return fields;
}

/** Sets the password and prepares an authenticator secret; the rest happens on the enrolment page. */
async function beginEnrolment(ctx: AuthContext, member: TeamMember, invite: InviteRow, password: string, replacing?: ActiveSession["session"]): Promise<{ token: string }> {
  const passwordHash = await hashPassword(password);
  const at = isoNow(ctx.clock);
  await ctx.db.transaction().execute(async (tx) => {
    await savePasswordHash(tx, member.id, passwordHash, at);
    await savePendingTotp(tx, member.id, ctx.sealer.seal(createTotpSecret(), member.id), at);
    await appendAuditEvent(tx, { kind: "public" }, { action: "auth.password_set", subjectType: "user", subjectId: String(member.id), data: { inviteId: invite.id } }, at);
  });
  const { token } = await startSession(ctx, member.id, "enrolment", { inviteId: invite.id }, replacing);
  return { token };
}

/**
 * The invite page's form: a new password, typed twice. Opens an `enrolment` session
 * that leads to the authenticator page; the invite is spent only when TOTP is confirmed,
 * so a person interrupted half-way can open the link again.
 * @throws InviteInvalidError, ValidationError
 */
export async function acceptInvite(
  ctx: AuthContext,
  inviteToken: string,
  input: { password: string; passwordAgain: string },
  replacing?: ActiveSession["session"],
): Promise<{ token: string; member: TeamMember }> {
  const { invite, member } = await findOpenInvite(ctx, inviteToken);
  const fields = checkNewPassword(input, [member.email, member.name]);
  if (Object.keys(fields).length) throw ValidationError("Please choose another password.", fields);
  const { token } = await beginEnrolment(ctx, member, invite, input.password, replacing);
  return { token, member };
}

const setupFields = z.object({
  email: z.email("must be an e-mail address").max(254),
  name: z.string().trim().min(1, "is required").max(200),
});

/**
 * The first-admin setup link: creates the admin with a password, then continues on the
 * authenticator page. The admin cannot sign in until TOTP is confirmed, and until then the
 * link stays open: a browser closed before that opens it again (and a restart prints a
 * new one).
 * @throws SetupClosedError, ValidationError
 */
export async function completeFirstAdminSetup(
  ctx: AuthContext,
  setupToken: string,
  input: { email: string; name: string; password: string; passwordAgain: string },
  replacing?: ActiveSession["session"],
): Promise<{ token: string; member: TeamMember }> {
  const fields: Record<string, string> = {};
  const parsed = setupFields.safeParse({ email: normalizeEmail(input.email), name: input.name });
  if (!parsed.success) for (const issue of parsed.error.issues) fields[String(issue.path[0])] ??= issue.message;
  Object.assign(fields, checkNewPassword(input, [input.email, input.name]));
  if (Object.keys(fields).length) throw ValidationError("Please correct the fields below.", fields);

  const member = await completeSetup(ctx.db, ctx.clock, setupToken, { email: input.email, name: input.name });
  const invite = await ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    // A setup opened again: its earlier half-way enrolment is replaced.
    await closeOpenInvites(tx, member.id, now.toISOString());
    // Never shown: the setup continues in this browser's session. It marks the admin's enrolment as the setup's, which hands out the API token.
    return insertInvite(tx, {
      userId: member.id,
      tokenHash: hashSecret(generateSecret(32)),
      purpose: "setup",
      createdBy: "system",
      at: now.toISOString(),
      expiresAt: new Date(now.getTime() + INVITE_LIFETIME_MS).toISOString(),
    });
  });
  const { token } = await beginEnrolment(ctx, member, invite, input.password, replacing);
  return { token, member };
}

// ---- TOTP enrolment ----------------------------------------------------------------

export interface TotpEnrolmentView {
  secret: string;
  groupedSecret: string;
  uri: string;
  qrCode: string;
  /** True when an authenticator is enrolled already and this one will replace it. */
  replacing: boolean;
}

/** What the enrolment page shows: the pending secret as a QR code and as text. */
export async function describeTotpEnrolment(ctx: AuthContext, active: ActiveSession): Promise<TotpEnrolmentView> {
  const totp = await findTotp(ctx.db, active.member.id);
  if (!totp?.pending_sealed_secret) throw EnrolmentNotStartedError();
  const secret = ctx.sealer.open(totp.pending_sealed_secret, active.member.id);
  const uri = totpUri(secret, active.member.email, `Shield (${new URL(ctx.baseUrl()).host})`);
  return { secret, groupedSecret: groupSecret(secret), uri, qrCode: await totpQrCode(uri), replacing: totp.sealed_secret !== null };
}

export type EnrolmentResult =
  | { kind: "first"; token: string; member: TeamMember; recoveryCodes: string[]; apiToken?: string }
  | { kind: "replaced"; member: TeamMember };

function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => formatRecoveryCode(randomBytes(10)));
}

/**
 * The code typed from the newly added app proves it holds the secret. From an invite
 * (or the setup) this completes the account: the invite is spent, ten recovery codes
 * are made, every other session ends and a signed-in session starts. From the account
 * page it replaces the previous authenticator.
 * @throws EnrolmentNotStartedError, InviteInvalidError, ValidationError
 */
export async function confirmTotpEnrolment(ctx: AuthContext, active: ActiveSession, input: { code: string; ip: string }): Promise<EnrolmentResult> {
  const { member, session } = active;
  const totp = await findTotp(ctx.db, member.id);
  const pending = totp?.pending_sealed_secret;
  if (!pending) throw EnrolmentNotStartedError();
  const code = input.code.replace(/\s/g, "");
  const step = /^\d{6}$/.test(code) ? await checkTotpCode(ctx.sealer.open(pending, member.id), code, ctx.clock.now(), null) : null;
  if (step === null) {
    throw ValidationError("That code did not match.", { code: "That code is not right. Type the six digits the app shows now; if it still fails, check that your phone's clock is set automatically." });
  }
  const at = isoNow(ctx.clock);

  if (session.kind === "signed_in") {
    await ctx.db.transaction().execute(async (tx) => {
      if (!(await activatePendingTotp(tx, member.id, pending, step, at))) throw EnrolmentNotStartedError();
      await appendAuditEvent(tx, actorOf(member), { action: "auth.totp_enrolled", subjectType: "user", subjectId: String(member.id), data: { replaced: totp.sealed_secret !== null, ip: input.ip } }, at);
    });
    return { kind: "replaced", member };
  }

  const inviteId = session.data.inviteId;
  const invite = inviteId === undefined ? undefined : await findInviteById(ctx.db, inviteId);
  if (session.kind !== "enrolment" || !invite) throw EnrolmentNotStartedError();
  const recoveryCodes = newRecoveryCodes();
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await markInviteUsed(tx, invite.id, at))) throw InviteInvalidError();
    if (invite.purpose === "setup") await closeSetup(tx);
    if (!(await activatePendingTotp(tx, member.id, pending, step, at))) throw EnrolmentNotStartedError();
    await replaceRecoveryCodes(tx, member.id, recoveryCodes.map(hashSecret), at);
    const passkeys = await listPasskeys(tx, member.id);
    for (const passkey of passkeys) await deletePasskey(tx, member.id, passkey.id);
    await deleteSessionsOfUser(tx, member.id, session.id);
    const actor = actorOf(member);
    await appendAuditEvent(tx, actor, { action: "auth.totp_enrolled", subjectType: "user", subjectId: String(member.id), data: { replaced: totp.sealed_secret !== null, ip: input.ip } }, at);
    await appendAuditEvent(tx, actor, { action: "auth.recovery_codes_generated", subjectType: "user", subjectId: String(member.id), data: { count: recoveryCodes.length } }, at);
    await appendAuditEvent(tx, actor, { action: "auth.invite_accepted", subjectType: "user", subjectId: String(member.id), data: { inviteId: invite.id, purpose: invite.purpose, passkeysRemoved: passkeys.length } }, at);
  });
  const { token } = await startSession(ctx, member.id, "signed_in", {}, session);
  const apiToken = invite.purpose === "setup" ? (await createApiToken(ctx.db, ctx.clock, { kind: "system" }, member.email, "setup")).token : undefined;
  return { kind: "first", token, member, recoveryCodes, ...(apiToken ? { apiToken } : {}) };
}

// ---- account changes (signed in) -------------------------------------------------------

/**
 * Changes to a member's sign-in need the current password: a session left open on a
 * shared screen must not be enough to take the account over. Wrong guesses count
 * towards the same lock-out as the sign-in page.
 * @throws SignInLockedError, PasswordConfirmationError
 */
async function confirmCurrentPassword(ctx: AuthContext, member: TeamMember, password: string, ip: string, action: string): Promise<void> {
  const since = new Date(ctx.clock.now().getTime() - ctx.limits.windowMs).toISOString();
  // The address only: a member told that their account is under guessing must still be
  // able to change the password, however many failures strangers made.
  if (isAddressLocked(await countFailures(ctx.db, "ip", ip, since), ctx.limits)) throw SignInLockedError(Math.round(ctx.limits.windowMs / 60_000));
  const stored = await findPasswordHash(ctx.db, member.id);
  if (stored && password.length <= 4096 && (await verifyPassword(stored.hash, password))) return;
  await recordSignInFailure(
    ctx,
    { ip, accountKey: member.email, member, actor: actorOf(member) },
    { action: "auth.password_confirmation_failed", subjectType: "user", subjectId: String(member.id), data: { for: action, ip } },
  );
  throw PasswordConfirmationError();
}

/**
 * A new password; every other session of the member ends.
 * @throws SignInLockedError, PasswordConfirmationError, ValidationError
 */
export async function changePassword(
  ctx: AuthContext,
  active: ActiveSession,
  input: { currentPassword: string; password: string; passwordAgain: string; ip: string },
): Promise<void> {
  const { member } = active;
  await confirmCurrentPassword(ctx, member, input.currentPassword, input.ip, "change_password");
  const fields = checkNewPassword(input, [member.email, member.name]);
  if (!fields.password && input.password === input.currentPassword) fields.password = "This is your current password. Choose a new one.";
  if (Object.keys(fields).length) throw ValidationError("Please choose another password.", fields);
  const passwordHash = await hashPassword(input.password);
  const at = isoNow(ctx.clock);
  await ctx.db.transaction().execute(async (tx) => {
    await savePasswordHash(tx, member.id, passwordHash, at);
    const ended = await deleteSessionsOfUser(tx, member.id, active.session.id);
    await appendAuditEvent(tx, actorOf(member), { action: "auth.password_changed", subjectType: "user", subjectId: String(member.id), data: { otherSessionsEnded: ended, ip: input.ip } }, at);
  });
}

/**
 * Ten new recovery codes; the old ones stop working. Shown once: only their hashes are kept.
 * @throws SignInLockedError, PasswordConfirmationError
 */
export async function regenerateRecoveryCodes(ctx: AuthContext, active: ActiveSession, input: { currentPassword: string; ip: string }): Promise<string[]> {
  const { member } = active;
  await confirmCurrentPassword(ctx, member, input.currentPassword, input.ip, "regenerate_recovery_codes");
  const codes = newRecoveryCodes();
  const at = isoNow(ctx.clock);
  await ctx.db.transaction().execute(async (tx) => {
    await replaceRecoveryCodes(tx, member.id, codes.map(hashSecret), at);
    await appendAuditEvent(tx, actorOf(member), { action: "auth.recovery_codes_generated", subjectType: "user", subjectId: String(member.id), data: { count: codes.length, ip: input.ip } }, at);
  });
  return codes;
}

/**
 * Makes an API token for the signed-in member themselves (their account page), after
 * their current password: a token outlives the session that made it.
 * @throws SignInLockedError, PasswordConfirmationError, ValidationError (expiry)
 */
export async function createOwnApiToken(
  ctx: AuthContext,
  active: ActiveSession,
  input: { name: string; expiresInDays?: number; currentPassword: string; ip: string },
): Promise<{ token: string; id: number; expiresAt: string | null }> {
  const { member } = active;
  const name = input.name.trim();
  if (!name || name.length > 100) throw ValidationError("Name the token, in at most 100 characters.", { name: "is required: say what uses it (at most 100 characters)" });
  await confirmCurrentPassword(ctx, member, input.currentPassword, input.ip, "create_api_token");
  const created = await createApiToken(ctx.db, ctx.clock, actorOf(member), member.email, name, input.expiresInDays === undefined ? {} : { expiresInDays: input.expiresInDays });
  return { token: created.token, id: created.id, expiresAt: created.expiresAt };
}

/**
 * Prepares a new authenticator secret; the current one keeps working until the new one is confirmed.
 * @throws SignInLockedError, PasswordConfirmationError
 */
export async function startTotpReenrolment(ctx: AuthContext, active: ActiveSession, input: { currentPassword: string; ip: string }): Promise<void> {
  await confirmCurrentPassword(ctx, active.member, input.currentPassword, input.ip, "replace_authenticator");
  await savePendingTotp(ctx.db, active.member.id, ctx.sealer.seal(createTotpSecret(), active.member.id), isoNow(ctx.clock));
}

/**
 * The options for `navigator.credentials.create`, after the current password; the challenge waits in the session.
 * @throws SignInLockedError, PasswordConfirmationError
 */
export async function createPasskeyRegistrationOptions(
  ctx: AuthContext,
  active: ActiveSession,
  input: { currentPassword: string; ip: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { member, session } = active;
  await confirmCurrentPassword(ctx, member, input.currentPassword, input.ip, "add_passkey");
  const passkeys = await listPasskeys(ctx.db, member.id);
  // Imported here, not at the top: the library is large and only passkey registration uses it (start-up time, decision 0013).
  const { generateRegistrationOptions } = await import("@simplewebauthn/server");
  const options = await generateRegistrationOptions({
    rpName: "Shield",
    rpID: relyingParty(ctx).rpID,
    userName: member.email,
    userDisplayName: member.name,
    userID: new TextEncoder().encode(`shield-user-${member.id}`),
    attestationType: "none",
    excludeCredentials: passkeys.map((p) => ({ id: p.credential_id, transports: JSON.parse(p.transports) as string[] })),
    authenticatorSelection: { residentKey: "discouraged", userVerification: "preferred" },
  });
  await saveSessionData(ctx.db, session.id, { ...session.data, challenge: options.challenge });
  return options;
}

const passkeyName = z.string().trim().min(1).max(100);

/**
 * Stores the passkey the browser made for the challenge of this session.
 * @throws PasskeyFailedError
 */
export async function addPasskey(ctx: AuthContext, active: ActiveSession, input: { name: string; response: RegistrationResponseJSON; ip: string }): Promise<{ id: number; name: string }> {
  const { member } = active;
  const name = passkeyName.safeParse(input.name).success ? input.name.trim() : "Passkey";
  const challenge = await takeSessionChallenge(ctx.db, active.session);
  if (!challenge) throw PasskeyFailedError("The passkey request expired. Start again.");
  const { origin, rpID } = relyingParty(ctx);
  const { verifyRegistrationResponse } = await import("@simplewebauthn/server");
  let verified;
  try {
    verified = await verifyRegistrationResponse({ response: input.response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: false });
  } catch (error) {
    throw PasskeyFailedError(`The new passkey could not be verified: ${(error as Error).message.slice(0, 200)}`);
  }
  if (!verified.verified) throw PasskeyFailedError("The new passkey could not be verified.");
  const { credential } = verified.registrationInfo;
  const at = isoNow(ctx.clock);
  return ctx.db.transaction().execute(async (tx) => {
    const id = await insertPasskey(tx, {
      userId: member.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      counter: credential.counter,
      transports: credential.transports ?? [],
      name,
      at,
    });
    await appendAuditEvent(tx, actorOf(member), { action: "auth.passkey_added", subjectType: "user", subjectId: String(member.id), data: { passkeyId: id, name, ip: input.ip } }, at);
    return { id, name };
  });
}

/** @throws SignInLockedError, PasswordConfirmationError, PasskeyNotFoundError */
export async function removePasskey(ctx: AuthContext, active: ActiveSession, input: { passkeyId: number; currentPassword: string; ip: string }): Promise<void> {
  const { member } = active;
  await confirmCurrentPassword(ctx, member, input.currentPassword, input.ip, "remove_passkey");
  const at = isoNow(ctx.clock);
  await ctx.db.transaction().execute(async (tx) => {
    const removed = await deletePasskey(tx, member.id, input.passkeyId);
    if (!removed) throw PasskeyNotFoundError();
    await appendAuditEvent(tx, actorOf(member), { action: "auth.passkey_removed", subjectType: "user", subjectId: String(member.id), data: { passkeyId: removed.id, name: removed.name, ip: input.ip } }, at);
  });
}

export interface AccountOverview {
  passwordChangedAt: string | null;
  totpEnrolledAt: string | null;
  recoveryCodesLeft: number;
  passkeys: Array<{ id: number; name: string; createdAt: string; lastUsedAt: string | null }>;
}

export async function describeAccount(ctx: Pick<AuthContext, "db">, member: TeamMember): Promise<AccountOverview> {
  const [password, totp, recoveryCodesLeft, passkeys] = await Promise.all([
    findPasswordHash(ctx.db, member.id),
    findTotp(ctx.db, member.id),
    countUnusedRecoveryCodes(ctx.db, member.id),
    listPasskeys(ctx.db, member.id),
  ]);
  return {
    passwordChangedAt: password?.changedAt ?? null,
    totpEnrolledAt: totp?.enrolled_at ?? null,
    recoveryCodesLeft,
    passkeys: passkeys.map((p) => ({ id: p.id, name: p.name, createdAt: p.created_at, lastUsedAt: p.last_used_at })),
  };
}
