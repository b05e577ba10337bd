import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { z } from "zod";
import { hashSecret } from "../../platform/crypto/secrets.js";
import { enqueue } from "../../platform/jobs/job.js";
import { isoNow } from "../../shared/clock.js";
import { appendAuditEvent, type Actor, type AuditEntry } from "../audit/index.js";
import { actorOf, findUserByEmail, normalizeEmail, type TeamMember } from "../people/index.js";
import { isAccountLimited, isAddressLocked, normalizeRecoveryCode, normalizeTotpCode, safeNextPath, type StoredSession } from "./auth.js";
import { BothFactorsFailedError, SecondFactorFailedError, SecondFactorMissingError, SignInFailedError, SignInLockedError } from "./auth.errors.js";
import { GUESSING_NOTICE_JOB } from "./guessing-notice.job.js";
import {
  claimGuessingNotice,
  claimTotpStep,
  countFailures,
  countUnusedRecoveryCodes,
  findPasskey,
  findPasswordHash,
  findTotp,
  listPasskeys,
  pruneFailures,
  recordFailures,
  recordPasskeyUse,
  saveSessionData,
  takeSessionChallenge,
  useRecoveryCode,
} from "./auth.repository.js";
import { verifyDummyPassword, verifyPassword } from "./password.hasher.js";
import { startSession, type ActiveSession, type AuthContext } from "./session.service.js";
import { checkTotpCode } from "./totp.authenticator.js";

export type SecondFactorMethod = "totp" | "recovery_code" | "passkey";

export interface SignedIn {
  token: string;
  member: TeamMember;
  next: string | null;
  method: SecondFactorMethod;
  /** After a recovery code: how many are left, so the page can warn. */
  recoveryCodesLeft?: number;
}

/** An e-mail as typed, for the audit log: only when it is one (people do type passwords into the wrong field). */
const emailShape = z.email().max(254);
function typedEmailForAudit(email: string): string {
  return emailShape.safeParse(email).success ? email : "(not an e-mail address)";
}

function windowMinutes(ctx: AuthContext): number {
  return Math.round(ctx.limits.windowMs / 60_000);
}

function windowStart(ctx: AuthContext): string {
  return new Date(ctx.clock.now().getTime() - ctx.limits.windowMs).toISOString();
}

/** @throws SignInLockedError when this client address has used up its failed attempts. */
async function refuseLockedAddress(ctx: AuthContext, ip: string, audit: { action: string; subjectType: string; subjectId: string; data: Record<string, unknown> }): Promise<void> {
  if (!isAddressLocked(await countFailures(ctx.db, "ip", ip, windowStart(ctx)), ctx.limits)) return;
  await ctx.db.transaction().execute((tx) => appendAuditEvent(tx, { kind: "public" }, { ...audit, data: { ...audit.data, reason: "rate_limited", ip } }, isoNow(ctx.clock)));
  throw SignInLockedError(windowMinutes(ctx));
}

async function isLimitedAccount(ctx: AuthContext, accountKey: string): Promise<boolean> {
  return isAccountLimited(await countFailures(ctx.db, "account", accountKey, windowStart(ctx)), ctx.limits);
}

/**
 * One failed attempt: counted against the address and the account, and audited,
 * together. When it brings a member's account to its limit, the member is told by mail
 * (through the outbox, in the same transaction), at most once a window.
 */
export async function recordSignInFailure(
  ctx: AuthContext,
  input: { ip: string; accountKey: string; member?: TeamMember; actor?: Actor },
  audit: { action: string; subjectType: string; subjectId: string; data: Record<string, unknown> },
): Promise<void> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const since = windowStart(ctx);
  await ctx.db.transaction().execute(async (tx) => {
    await recordFailures(
      tx,
      [
        { scope: "ip", key: input.ip },
        { scope: "account", key: input.accountKey },
      ],
      at,
    );
    await appendAuditEvent(tx, input.actor ?? { kind: "public" }, audit, at);
    const member = input.member;
    if (!member || member.disabledAt) return;
    const failures = await countFailures(tx, "account", input.accountKey, since);
    if (!isAccountLimited(failures, ctx.limits)) return;
    if (!(await claimGuessingNotice(tx, member.id, at, since))) return;
    await enqueue(tx, GUESSING_NOTICE_JOB, { userId: member.id, failures, windowMinutes: windowMinutes(ctx), at }, now, { urgent: true });
    await appendAuditEvent(tx, { kind: "system" }, { action: "auth.guessing_notice_sent", subjectType: "user", subjectId: String(member.id), data: { failures } }, at);
  });
  await pruneFailures(ctx.db, since);
  ctx.onNoticeQueued?.();
}

async function audit(ctx: AuthContext, actor: Actor, entry: AuditEntry): Promise<void> {
  await ctx.db.transaction().execute((tx) => appendAuditEvent(tx, actor, entry, isoNow(ctx.clock)));
}

export type PasswordStepResult =
  | { step: "second_factor"; token: string; member: TeamMember }
  /** The account is limited: nothing was checked; ask for the password and a code together (`verifyBothFactors`). */
  | { step: "both_factors" };

/**
 * The first step: e-mail and password. On success a `second_factor` session is opened
 * (replacing any session the browser had) that grants nothing but the code page.
 * An unknown address costs the same argon2 work as a wrong password and reads the same.
 * While the account is limited (its failures for the window are used up, whoever made
 * them), the password is not checked at all, so that it cannot be tested; the answer is
 * to ask for both factors together, for an unknown address as for a member's.
 * @throws SignInLockedError (this address), SignInFailedError, SecondFactorMissingError
 */
export async function verifyPasswordStep(
  ctx: AuthContext,
  input: { email: string; password: string; ip: string; next?: string | null; replacing?: StoredSession },
): Promise<PasswordStepResult> {
  const email = normalizeEmail(input.email).slice(0, 320);
  await refuseLockedAddress(ctx, input.ip, { action: "auth.login_failed", subjectType: "sign_in", subjectId: "locked", data: { email: typedEmailForAudit(email) } });
  if (await isLimitedAccount(ctx, email)) {
    await audit(ctx, { kind: "public" }, { action: "auth.both_factors_asked", subjectType: "sign_in", subjectId: "limited", data: { email: typedEmailForAudit(email), ip: input.ip } });
    return { step: "both_factors" };
  }

  const member = email ? await findUserByEmail(ctx.db, email) : undefined;
  const stored = member ? await findPasswordHash(ctx.db, member.id) : undefined;
  const passwordOk = stored && input.password.length <= 4096 ? await verifyPassword(stored.hash, input.password) : await verifyDummyPassword(input.password.slice(0, 4096));

  if (!member || !stored || !passwordOk || member.disabledAt) {
    const reason = !member ? "unknown_email" : !stored ? "no_password" : !passwordOk ? "wrong_password" : "account_disabled";
    await recordSignInFailure(ctx, { ip: input.ip, accountKey: email, member }, {
      action: "auth.login_failed",
      subjectType: member ? "user" : "sign_in",
      subjectId: member ? String(member.id) : "unknown",
      data: { reason, ip: input.ip, ...(member ? {} : { email: typedEmailForAudit(email) }) },
    });
    throw SignInFailedError();
  }

  const totp = await findTotp(ctx.db, member.id);
  if (!totp?.sealed_secret) {
    // The password was right, so telling its owner that setup is unfinished reveals nothing new.
    await audit(ctx, { kind: "public" }, { action: "auth.login_failed", subjectType: "user", subjectId: String(member.id), data: { reason: "no_second_factor", ip: input.ip } });
    throw SecondFactorMissingError();
  }

  const next = safeNextPath(input.next);
  const { token } = await startSession(ctx, member.id, "second_factor", next ? { next } : {}, input.replacing);
  await audit(ctx, { kind: "public" }, { action: "auth.password_verified", subjectType: "user", subjectId: String(member.id), data: { ip: input.ip } });
  return { step: "second_factor", token, member };
}

/**
 * Password and second factor in one attempt: what the sign-in page asks for while an
 * account is limited (it works at any time). The attempt succeeds only when the e-mail,
 * the password and the code (six-digit TOTP code or a recovery code) are all right, and
 * every failure is the same error, so a guess tells nothing about either factor.
 * @throws SignInLockedError (this address), BothFactorsFailedError
 */
export async function verifyBothFactors(
  ctx: AuthContext,
  input: { email: string; password: string; code: string; ip: string; next?: string | null; replacing?: StoredSession },
): Promise<SignedIn> {
  const email = normalizeEmail(input.email).slice(0, 320);
  await refuseLockedAddress(ctx, input.ip, { action: "auth.login_failed", subjectType: "sign_in", subjectId: "locked", data: { email: typedEmailForAudit(email) } });

  const member = email ? await findUserByEmail(ctx.db, email) : undefined;
  const stored = member ? await findPasswordHash(ctx.db, member.id) : undefined;
  const passwordOk = stored && input.password.length <= 4096 ? await verifyPassword(stored.hash, input.password) : await verifyDummyPassword(input.password.slice(0, 4096));
  const totp = member && passwordOk ? await findTotp(ctx.db, member.id) : undefined;

  let reason: string | null = !member ? "unknown_email" : !stored ? "no_password" : !passwordOk ? "wrong_password" : member.disabledAt ? "account_disabled" : !totp?.sealed_secret ? "no_second_factor" : null;
  let method: SecondFactorMethod = "totp";
  let recoveryCodesLeft: number | undefined;
  if (reason === null && member && totp?.sealed_secret) {
    const totpCode = normalizeTotpCode(input.code);
    const recoveryCode = totpCode ? null : normalizeRecoveryCode(input.code);
    if (totpCode) {
      const secret = ctx.sealer.open(totp.sealed_secret, member.id);
      const step = await checkTotpCode(secret, totpCode, ctx.clock.now(), totp.last_step);
      if (step === null || !(await claimTotpStep(ctx.db, member.id, step))) reason = "wrong_code";
    } else if (recoveryCode) {
      method = "recovery_code";
      if (await useRecoveryCode(ctx.db, member.id, hashSecret(recoveryCode), isoNow(ctx.clock))) recoveryCodesLeft = await countUnusedRecoveryCodes(ctx.db, member.id);
      else reason = "wrong_or_used_recovery_code";
    } else {
      reason = "malformed_code";
    }
  }

  if (reason !== null || !member) {
    await recordSignInFailure(ctx, { ip: input.ip, accountKey: email, member }, {
      action: "auth.login_failed",
      subjectType: member ? "user" : "sign_in",
      subjectId: member ? String(member.id) : "unknown",
      data: { reason, both: true, ip: input.ip, ...(member ? {} : { email: typedEmailForAudit(email) }) },
    });
    throw BothFactorsFailedError();
  }

  const { token } = await startSession(ctx, member.id, "signed_in", {}, input.replacing);
  await ctx.db.transaction().execute(async (tx) => {
    const at = isoNow(ctx.clock);
    await appendAuditEvent(tx, actorOf(member), { action: "auth.login_succeeded", subjectType: "user", subjectId: String(member.id), data: { method, both: true, ip: input.ip } }, at);
    if (method === "recovery_code") {
      await appendAuditEvent(tx, actorOf(member), { action: "auth.recovery_code_used", subjectType: "user", subjectId: String(member.id), data: { left: recoveryCodesLeft } }, at);
    }
  });
  return { token, member, next: safeNextPath(input.next), method, ...(recoveryCodesLeft === undefined ? {} : { recoveryCodesLeft }) };
}

/** The second step's lock-out check, then the method's own check, then a new signed-in session. */
async function finishSecondFactor(
  ctx: AuthContext,
  pending: ActiveSession,
  ip: string,
  method: SecondFactorMethod,
  check: () => Promise<{ ok: true; recoveryCodesLeft?: number } | { ok: false; reason: string; message?: string }>,
): Promise<SignedIn> {
  const { member, session } = pending;
  if (session.kind !== "second_factor") throw SecondFactorFailedError("Sign in with your password first.");
  // Only the address is checked: this session proves the password, so a limited account
  // (failures made by anyone) does not stop its member here.
  await refuseLockedAddress(ctx, ip, { action: "auth.second_factor_failed", subjectType: "user", subjectId: String(member.id), data: { method } });
  const outcome = await check();
  if (!outcome.ok) {
    await recordSignInFailure(ctx, { ip, accountKey: member.email, member }, {
      action: "auth.second_factor_failed",
      subjectType: "user",
      subjectId: String(member.id),
      data: { method, reason: outcome.reason, ip },
    });
    throw SecondFactorFailedError(outcome.message);
  }
  // The account's failures are not cleared: a member signing in during an attack must not
  // give the guesser a fresh allowance.
  const { token } = await startSession(ctx, member.id, "signed_in", {}, session);
  await ctx.db.transaction().execute(async (tx) => {
    const at = isoNow(ctx.clock);
    await appendAuditEvent(tx, actorOf(member), { action: "auth.login_succeeded", subjectType: "user", subjectId: String(member.id), data: { method, ip } }, at);
    if (method === "recovery_code") {
      await appendAuditEvent(tx, actorOf(member), { action: "auth.recovery_code_used", subjectType: "user", subjectId: String(member.id), data: { left: outcome.recoveryCodesLeft } }, at);
    }
  });
  return { token, member, next: safeNextPath(session.data.next), method, ...(outcome.recoveryCodesLeft === undefined ? {} : { recoveryCodesLeft: outcome.recoveryCodesLeft }) };
}

/**
 * A six-digit code from the authenticator app. Each time step is accepted once.
 * @throws SignInLockedError, SecondFactorFailedError
 */
export function verifyTotpStep(ctx: AuthContext, pending: ActiveSession, input: { code: string; ip: string }): Promise<SignedIn> {
  return finishSecondFactor(ctx, pending, input.ip, "totp", async () => {
    const code = normalizeTotpCode(input.code);
    if (!code) return { ok: false, reason: "malformed_code", message: "Type the six digits your authenticator app shows." };
    const totp = await findTotp(ctx.db, pending.member.id);
    if (!totp?.sealed_secret) return { ok: false, reason: "no_totp" };
    const secret = ctx.sealer.open(totp.sealed_secret, pending.member.id);
    const step = await checkTotpCode(secret, code, ctx.clock.now(), totp.last_step);
    if (step === null) return { ok: false, reason: totp.last_step !== null && (await checkTotpCode(secret, code, ctx.clock.now(), null)) !== null ? "code_reused" : "wrong_code" };
    if (!(await claimTotpStep(ctx.db, pending.member.id, step))) return { ok: false, reason: "code_reused" };
    return { ok: true };
  });
}

/**
 * One of the ten recovery codes; it is spent by this use.
 * @throws SignInLockedError, SecondFactorFailedError
 */
export function verifyRecoveryCodeStep(ctx: AuthContext, pending: ActiveSession, input: { recoveryCode: string; ip: string }): Promise<SignedIn> {
  return finishSecondFactor(ctx, pending, input.ip, "recovery_code", async () => {
    const code = normalizeRecoveryCode(input.recoveryCode);
    if (!code) return { ok: false, reason: "malformed_code", message: "A recovery code has 16 letters and digits, like 7k2m-q9xr-4tdw-h3ae." };
    if (!(await useRecoveryCode(ctx.db, pending.member.id, hashSecret(code), isoNow(ctx.clock)))) {
      return { ok: false, reason: "wrong_or_used_recovery_code", message: "That recovery code is not right, or it has been used already." };
    }
    return { ok: true, recoveryCodesLeft: await countUnusedRecoveryCodes(ctx.db, pending.member.id) };
  });
}

/** Where WebAuthn ceremonies happen: the origin of SHIELD_BASE_URL and its host name. */
export function relyingParty(ctx: AuthContext): { origin: string; rpID: string } {
  const url = new URL(ctx.baseUrl());
  return { origin: url.origin, rpID: url.hostname };
}

export async function hasPasskeys(ctx: AuthContext, userId: number): Promise<boolean> {
  return (await listPasskeys(ctx.db, userId)).length > 0;
}

/** The challenge for signing in with one of the member's passkeys, kept in the half-signed-in session. */
export async function createPasskeySignInOptions(ctx: AuthContext, pending: ActiveSession): Promise<PublicKeyCredentialRequestOptionsJSON> {
  if (pending.session.kind !== "second_factor") throw SecondFactorFailedError("Sign in with your password first.");
  const passkeys = await listPasskeys(ctx.db, pending.member.id);
  if (passkeys.length === 0) throw SecondFactorFailedError("You have no passkey yet. Use the code from your authenticator app.");
  // Imported here, not at the top: the library is large and only passkey sign-in uses it (start-up time, decision 0013).
  const { generateAuthenticationOptions } = await import("@simplewebauthn/server");
  const options = await generateAuthenticationOptions({
    rpID: relyingParty(ctx).rpID,
    allowCredentials: passkeys.map((p) => ({ id: p.credential_id, transports: JSON.parse(p.transports) as string[] })),
    userVerification: "preferred",
  });
  await saveSessionData(ctx.db, pending.session.id, { ...pending.session.data, challenge: options.challenge });
  return options;
}

/**
 * A passkey assertion against the challenge of this session (one use), with the stored
 * signature counter checked by the library so that a cloned authenticator shows.
 * @throws SignInLockedError, SecondFactorFailedError
 */
export function verifyPasskeyStep(ctx: AuthContext, pending: ActiveSession, input: { response: AuthenticationResponseJSON; ip: string }): Promise<SignedIn> {
  return finishSecondFactor(ctx, pending, input.ip, "passkey", async () => {
    const challenge = await takeSessionChallenge(ctx.db, pending.session);
    if (!challenge) return { ok: false, reason: "no_challenge", message: "The passkey request expired. Try again." };
    const passkey = typeof input.response?.id === "string" ? await findPasskey(ctx.db, pending.member.id, input.response.id) : undefined;
    if (!passkey) return { ok: false, reason: "unknown_passkey", message: "This passkey is not registered for your account." };
    const { origin, rpID } = relyingParty(ctx);
    const { verifyAuthenticationResponse } = await import("@simplewebauthn/server");
    try {
      const result = await verifyAuthenticationResponse({
        response: input.response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: false,
        credential: { id: passkey.credential_id, publicKey: Buffer.from(passkey.public_key, "base64url"), counter: passkey.counter, transports: JSON.parse(passkey.transports) as string[] },
      });
      if (!result.verified) return { ok: false, reason: "passkey_not_verified", message: "The passkey's answer could not be verified." };
      await recordPasskeyUse(ctx.db, passkey.id, result.authenticationInfo.newCounter, isoNow(ctx.clock));
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: `passkey_not_verified: ${(error as Error).message.slice(0, 200)}`, message: "The passkey's answer could not be verified." };
    }
  });
}
