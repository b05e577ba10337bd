import type { Db } from "../../platform/db/database.js";
import { generateSecret, hashSecret } from "../../platform/crypto/secrets.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { DomainError, ForbiddenError, UnauthenticatedError, UserExistsError, UserNotFoundError, ValidationError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { hasPermission, normalizeEmail, ROLES, TOKEN_PREFIX, type Permission, type Role, type TeamMember } from "./people.js";
import {
  countUsers,
  findMemberByTokenHash,
  findUserByEmail,
  insertApiToken,
  insertUser,
  listApiTokenRows,
  listUsers,
  revokeApiTokenById,
  revokeApiTokens,
  touchApiToken,
  type ApiTokenRow,
} from "./people.repository.js";
import { z } from "zod";

const newMemberSchema = z.object({
  email: z.email().max(254),
  name: z.string().trim().min(1).max(200),
  role: z.enum(ROLES),
});

/**
 * Adds a team member, audited.
 * @throws ValidationError, UserExistsError
 */
export async function addTeamMember(db: Db, clock: Clock, actor: Actor, input: { email: string; name?: string; role: string }): Promise<TeamMember> {
  const email = normalizeEmail(input.email);
  const parsed = newMemberSchema.safeParse({ email, name: input.name ?? email.split("@")[0], role: input.role });
  if (!parsed.success) {
    const fields = Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message]));
    throw ValidationError("The team member is not valid.", fields);
  }
  return db.transaction().execute(async (tx) => {
    if (await findUserByEmail(tx, email)) throw UserExistsError(email);
    const at = isoNow(clock);
    const member = await insertUser(tx, { ...parsed.data, createdAt: at });
    await appendAuditEvent(tx, actor, { action: "user.added", subjectType: "user", subjectId: String(member.id), data: { email, role: member.role } }, at);
    return member;
  });
}

/** The longest an expiring token may be made for: ten years. */
export const MAX_TOKEN_DAYS = 3650;

/**
 * Creates an API token for a member. The token is returned once and stored only as a hash.
 * With `expiresInDays` it stops working that many days from now; without, when revoked.
 * @throws UserNotFoundError
 * @throws ValidationError for an expiry that is not a whole number of days from 1 to MAX_TOKEN_DAYS
 */
export async function createApiToken(
  db: Db,
  clock: Clock,
  actor: Actor,
  emailInput: string,
  name = "api",
  options: { expiresInDays?: number } = {},
): Promise<{ token: string; id: number; member: TeamMember; expiresAt: string | null }> {
  const email = normalizeEmail(emailInput);
  const days = options.expiresInDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= MAX_TOKEN_DAYS)) {
    throw ValidationError("The token's expiry is not valid.", { expiresInDays: `must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}` });
  }
  return db.transaction().execute(async (tx) => {
    const member = await findUserByEmail(tx, email);
    if (!member || member.disabledAt) throw UserNotFoundError(email);
    const token = `${TOKEN_PREFIX}${generateSecret(32)}`;
    const now = clock.now();
    const at = now.toISOString();
    const expiresAt = days === undefined ? null : new Date(now.getTime() + days * 86_400_000).toISOString();
    const id = await insertApiToken(tx, { userId: member.id, name, tokenHash: hashSecret(token), prefix: token.slice(0, 10), createdAt: at, expiresAt });
    await appendAuditEvent(tx, actor, { action: "token.created", subjectType: "user", subjectId: String(member.id), data: { tokenId: id, name, expiresAt } }, at);
    return { token, id, member, expiresAt };
  });
}

export type ApiTokenState = "active" | "expired" | "revoked";

/** A token as its owner and admins see it: never the secret, only its first characters. */
export interface ApiToken extends Omit<ApiTokenRow, "userId"> {
  memberId: number;
  state: ApiTokenState;
}

function presentToken({ userId, ...row }: ApiTokenRow, now: Date): ApiToken {
  const state: ApiTokenState = row.revokedAt ? "revoked" : row.expiresAt && Date.parse(row.expiresAt) <= now.getTime() ? "expired" : "active";
  return { ...row, memberId: userId, state };
}

/** API tokens, newest first: one member's, or (without `memberId`) the whole team's. */
export async function listApiTokens(db: Db, clock: Clock, filter: { memberId?: number } = {}): Promise<ApiToken[]> {
  const now = clock.now();
  return (await listApiTokenRows(db, { userId: filter.memberId })).map((row) => presentToken(row, now));
}

/**
 * Revokes one token. `by` limits it to that member's own tokens unless they are an admin;
 * someone else's token is answered as not found, not as forbidden.
 * @throws ApiTokenNotFoundError
 */
export async function revokeApiToken(db: Db, clock: Clock, actor: Actor, tokenId: number, by?: { id: number; role: Role }): Promise<ApiToken> {
  return db.transaction().execute(async (tx) => {
    const [row] = await listApiTokenRows(tx, { id: tokenId });
    if (!row || (by && by.role !== "admin" && row.userId !== by.id)) throw ApiTokenNotFoundError(tokenId);
    const at = isoNow(clock);
    if (await revokeApiTokenById(tx, tokenId, at)) {
      await appendAuditEvent(tx, actor, { action: "token.revoked", subjectType: "user", subjectId: String(row.userId), data: { tokenId, name: row.name } }, at);
      row.revokedAt = at;
    }
    return presentToken(row, clock.now());
  });
}

export const ApiTokenNotFoundError = (id: number) => new DomainError("api_token_not_found", "not_found", `There is no API token ${id}.`);

export async function revokeMemberTokens(db: Db, clock: Clock, actor: Actor, emailInput: string): Promise<number> {
  const email = normalizeEmail(emailInput);
  return db.transaction().execute(async (tx) => {
    const member = await findUserByEmail(tx, email);
    if (!member) throw UserNotFoundError(email);
    const at = isoNow(clock);
    const count = await revokeApiTokens(tx, member.id, at);
    await appendAuditEvent(tx, actor, { action: "token.revoked", subjectType: "user", subjectId: String(member.id), data: { count } }, at);
    return count;
  });
}

export type AuthenticatedMember = TeamMember & { tokenId: number };

/**
 * Resolves an `Authorization` header to a team member.
 * @throws UnauthenticatedError when the header is missing, malformed or the token unknown
 */
export async function authenticateBearer(db: Db, clock: Clock, header: string | undefined): Promise<AuthenticatedMember> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) throw UnauthenticatedError();
  const now = clock.now();
  const member = await findMemberByTokenHash(db, hashSecret(match[1]!), now.toISOString());
  if (!member) throw UnauthenticatedError("This API token is not valid, has expired or was revoked.");
  // "Last used" to the minute is enough, and spares every API call a durable write.
  if (!member.tokenLastUsedAt || now.getTime() - Date.parse(member.tokenLastUsedAt) >= 60_000) {
    await touchApiToken(db, member.tokenId, now.toISOString());
  }
  const { tokenLastUsedAt: _seen, ...authenticated } = member;
  return authenticated;
}

/** @throws ForbiddenError */
export function requirePermission(member: { role: Role }, permission: Permission): void {
  if (!hasPermission(member.role, permission)) {
    throw ForbiddenError(`A ${member.role} cannot do this; it needs ${permission === "admin" ? "an admin" : "a triager or an admin"}.`);
  }
}

export function actorOf(member: TeamMember): Actor {
  return { kind: "user", userId: member.id, email: member.email };
}

export { listUsers, countUsers, findUserByEmail };
