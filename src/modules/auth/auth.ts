/**
 * Sign-in rules without technology: session kinds and their lifetimes, the failed
 * attempt limits, and the shape of recovery codes. Imports nothing from platform/.
 */

/**
 * `second_factor`: the password was right, a code is pending — grants nothing but the
 * second-factor page. `enrolment`: an invite or the setup link was accepted and a
 * password set, TOTP is pending — grants nothing but the enrolment page.
 * `signed_in`: a full session, its permissions those of the member's role.
 */
export const SESSION_KINDS = ["signed_in", "second_factor", "enrolment"] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

export interface SessionPolicy {
  /** A signed-in session ends after this long without a request. */
  idleMs: number;
  /** A signed-in session ends this long after sign-in, however active. */
  absoluteMs: number;
}

/** Half-signed-in sessions are short: long enough to open an app or find a key, no longer. */
export const PENDING_SESSION_MS = 10 * 60_000;

/** Invite links (and the setup's continuation) stay valid this long. */
export const INVITE_LIFETIME_MS = 48 * 3_600_000;

/** A session's `last_seen_at` is written at most this often, to spare the database a write per request. */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

export interface StoredSession {
  id: number;
  userId: number;
  kind: SessionKind;
  data: SessionData;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface SessionData {
  /** Where to go after the second factor (a path on this site). */
  next?: string;
  /** The WebAuthn challenge of the ceremony in progress, one use. */
  challenge?: string;
  /** The invite whose acceptance is being completed (enrolment sessions). */
  inviteId?: number;
}

export type SessionEnd = "idle" | "absolute";

/**
 * Why a session is over at `now`, or null while it lives. Pending kinds have only their
 * short absolute end; signed-in sessions also end after `idleMs` without a request.
 */
export function whySessionEnded(session: Pick<StoredSession, "kind" | "lastSeenAt" | "expiresAt">, policy: SessionPolicy, now: Date): SessionEnd | null {
  const at = now.getTime();
  if (at >= Date.parse(session.expiresAt)) return "absolute";
  if (session.kind === "signed_in" && at >= Date.parse(session.lastSeenAt) + policy.idleMs) return "idle";
  return null;
}

export function sessionLifetimeMs(kind: SessionKind, policy: SessionPolicy): number {
  return kind === "signed_in" ? policy.absoluteMs : Math.min(PENDING_SESSION_MS, policy.absoluteMs);
}

export interface SignInLimits {
  /**
   * Failed attempts (password or second factor) per client address within the window,
   * after which that address may not try again; and per account, after which the account
   * is limited (see `isAccountLimited`).
   */
  maxFailures: number;
  windowMs: number;
}

/** True once this client address has used up its failures for the window: it is refused, whichever account it names. */
export function isAddressLocked(addressFailures: number, limits: SignInLimits): boolean {
  return addressFailures >= limits.maxFailures;
}

/**
 * True once the account has had its failures for the window, from all addresses together.
 * A limited account is not locked: the password step then checks nothing and asks for the
 * password and a second-factor code together, so a guess tells the guesser nothing unless
 * both are right, while the member, who has both, still signs in. Strangers who know the
 * team's addresses therefore cannot close the desk, and the password can be tested at most
 * `maxFailures` times a window.
 */
export function isAccountLimited(accountFailures: number, limits: SignInLimits): boolean {
  return accountFailures >= limits.maxFailures;
}

/**
 * A path on this site to continue to after sign-in, or null. Only plain absolute paths:
 * no scheme, no `//host`, no backslash tricks, so the redirect cannot leave Shield.
 */
export function safeNextPath(value: unknown): string | null {
  if (typeof value !== "string" || value.length > 500) return null;
  if (!/^\/(?![/\\])[A-Za-z0-9/_.~%?=&-]*$/.test(value)) return null;
  if (value.startsWith("/login") || value.startsWith("/logout")) return null;
  return value;
}

export const RECOVERY_CODE_COUNT = 10;

/** Crockford's base32 without I, L, O, U: unambiguous when read off paper. */
const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Formats 10 random bytes (80 bits) as `xxxx-xxxx-xxxx-xxxx`. 80 bits make a plain
 * SHA-256 of the code a safe thing to store; nobody can try them all.
 */
export function formatRecoveryCode(random: Uint8Array): string {
  if (random.length < 10) throw new Error("a recovery code needs 10 random bytes");
  let bits = 0n;
  for (const byte of random.subarray(0, 10)) bits = (bits << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < 16; i++) {
    out = RECOVERY_ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out.match(/.{4}/g)!.join("-");
}

/**
 * What people type back: any case, with or without dashes and spaces, and the letters
 * that look like digits read as those digits. Returns null when it cannot be a code.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const compact = input
    .toLowerCase()
    .replace(/[\s-]/g, "")
    .replace(/[il]/g, "1")
    .replace(/o/g, "0");
  if (!/^[0-9a-hjkmnp-tv-z]{16}$/.test(compact)) return null;
  return compact.match(/.{4}/g)!.join("-");
}

/** A TOTP code as typed: six digits, spaces allowed. Null when it cannot be one. */
export function normalizeTotpCode(input: string): string | null {
  const compact = input.replace(/\s/g, "");
  return /^\d{6}$/.test(compact) ? compact : null;
}
