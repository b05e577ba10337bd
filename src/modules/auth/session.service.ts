import type { Db } from "../../platform/db/database.js";
import { generateSecret, hashSecret } from "../../platform/crypto/secrets.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { appendAuditEvent } from "../audit/index.js";
import { actorOf, findUserById, type TeamMember } from "../people/index.js";
import {
  SESSION_TOUCH_INTERVAL_MS,
  sessionLifetimeMs,
  whySessionEnded,
  type SessionData,
  type SessionEnd,
  type SessionKind,
  type SessionPolicy,
  type SignInLimits,
  type StoredSession,
} from "./auth.js";
import { deleteEndedSessions, deleteSession, findSessionByTokenHash, insertSession, touchSession } from "./auth.repository.js";
import type { SecretSealer } from "./totp-secret.sealer.js";

/** What the sign-in services need; built once in main.ts. */
export interface AuthContext {
  db: Db;
  clock: Clock;
  policy: SessionPolicy;
  limits: SignInLimits;
  sealer: SecretSealer;
  /** Shield's public URL: the WebAuthn origin and relying-party id come from it. */
  baseUrl: () => string;
  /** Called after a mail job was queued (a guessing notice), so the worker can send it now. */
  onNoticeQueued?: () => void;
}

export interface ActiveSession {
  session: StoredSession;
  member: TeamMember;
}

export type SessionLookup = { state: "none" } | { state: "ended"; why: SessionEnd | "disabled" } | ({ state: "active" } & ActiveSession);

/**
 * Opens a session of `kind` with a fresh random 256-bit id, returned once for the cookie
 * and stored only as its SHA-256. The session it replaces (if any) is deleted first, so
 * every step of signing in gets a new id and an id planted before sign-in is worthless.
 */
export async function startSession(
  ctx: AuthContext,
  userId: number,
  kind: SessionKind,
  data: SessionData = {},
  replacing?: StoredSession,
): Promise<{ token: string; session: StoredSession }> {
  const now = ctx.clock.now();
  if (replacing) await deleteSession(ctx.db, replacing.id);
  await deleteEndedSessions(ctx.db, now.toISOString(), new Date(now.getTime() - ctx.policy.idleMs).toISOString());
  const token = generateSecret(32);
  const session = await insertSession(ctx.db, {
    tokenHash: hashSecret(token),
    userId,
    kind,
    data,
    at: now.toISOString(),
    expiresAt: new Date(now.getTime() + sessionLifetimeMs(kind, ctx.policy)).toISOString(),
  });
  return { token, session };
}

/**
 * The session behind a cookie value. An ended session (idle, past its absolute end, or
 * of a member who was disabled) is deleted on sight; a live one is marked as seen.
 */
export async function resumeSession(ctx: AuthContext, token: string | undefined): Promise<SessionLookup> {
  if (!token || token.length > 100) return { state: "none" };
  const session = await findSessionByTokenHash(ctx.db, hashSecret(token));
  if (!session) return { state: "none" };
  const now = ctx.clock.now();
  const why = whySessionEnded(session, ctx.policy, now);
  if (why) {
    await deleteSession(ctx.db, session.id);
    return { state: "ended", why };
  }
  const member = await findUserById(ctx.db, session.userId);
  if (!member || member.disabledAt) {
    await deleteSession(ctx.db, session.id);
    return { state: "ended", why: "disabled" };
  }
  if (now.getTime() - Date.parse(session.lastSeenAt) >= SESSION_TOUCH_INTERVAL_MS) {
    await touchSession(ctx.db, session.id, now.toISOString());
    session.lastSeenAt = now.toISOString();
  }
  return { state: "active", session, member };
}

/** Signing out: the session row is deleted, so the cookie is worthless even if it was copied. */
export async function endSession(ctx: AuthContext, active: ActiveSession, ip: string): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    const at = isoNow(ctx.clock);
    await deleteSession(tx, active.session.id);
    await appendAuditEvent(tx, actorOf(active.member), { action: "auth.signed_out", subjectType: "user", subjectId: String(active.member.id), data: { ip } }, at);
  });
}
