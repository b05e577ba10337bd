import type { Db } from "../../platform/db/database.js";
import { generateSecret, hashSecret } from "../../platform/crypto/secrets.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { ForbiddenError, UnauthenticatedError, UserExistsError, UserNotFoundError, ValidationError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { hasPermission, normalizeEmail, ROLES, TOKEN_PREFIX, type Permission, type Role, type TeamMember } from "./people.js";
import { countUsers, findMemberByTokenHash, findUserByEmail, insertApiToken, insertUser, listUsers, revokeApiTokens, touchApiToken } from "./people.repository.js";
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

/**
 * Creates an API token for a member. The token is returned once and stored only as a hash.
 * @throws UserNotFoundError
 */
export async function createApiToken(db: Db, clock: Clock, actor: Actor, emailInput: string, name = "api"): Promise<{ token: string; id: number; member: TeamMember }> {
  const email = normalizeEmail(emailInput);
  return db.transaction().execute(async (tx) => {
    const member = await findUserByEmail(tx, email);
    if (!member || member.disabledAt) throw UserNotFoundError(email);
    const token = `${TOKEN_PREFIX}${generateSecret(32)}`;
    const at = isoNow(clock);
    const id = await insertApiToken(tx, { userId: member.id, name, tokenHash: hashSecret(token), prefix: token.slice(0, 10), createdAt: at });
    await appendAuditEvent(tx, actor, { action: "token.created", subjectType: "user", subjectId: String(member.id), data: { tokenId: id, name } }, at);
    return { token, id, member };
  });
}

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
  const member = await findMemberByTokenHash(db, hashSecret(match[1]!));
  if (!member) throw UnauthenticatedError("This API token is not valid or was revoked.");
  // "Last used" to the minute is enough, and spares every API call a durable write.
  const now = clock.now();
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
