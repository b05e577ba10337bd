import type { Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { UsersTable } from "../../platform/db/schema.js";
import type { Role, TeamMember } from "./people.js";

function toMember(row: Selectable<UsersTable>): TeamMember {
  return { id: row.id, email: row.email, name: row.name, role: row.role as Role, createdAt: row.created_at, disabledAt: row.disabled_at };
}

export async function insertUser(db: Executor, values: { email: string; name: string; role: Role; createdAt: string }): Promise<TeamMember> {
  const row = await db
    .insertInto("users")
    .values({ email: values.email, name: values.name, role: values.role, created_at: values.createdAt })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toMember(row);
}

export async function findUserByEmail(db: Executor, email: string): Promise<TeamMember | undefined> {
  const row = await db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
  return row && toMember(row);
}

export async function findUserById(db: Executor, id: number): Promise<TeamMember | undefined> {
  const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toMember(row);
}

export async function listUsers(db: Executor): Promise<TeamMember[]> {
  return (await db.selectFrom("users").selectAll().orderBy("id").execute()).map(toMember);
}

/** Admins who can sign in: enabled, with a confirmed authenticator (a second factor is mandatory). */
export async function countCompleteAdmins(db: Executor): Promise<number> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", "admin")
    .where("disabled_at", "is", null)
    .where("id", "in", (eb) => eb.selectFrom("user_totp").select("user_id").where("sealed_secret", "is not", null))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countUsers(db: Executor): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertApiToken(
  db: Executor,
  values: { userId: number; name: string; tokenHash: string; prefix: string; createdAt: string; expiresAt: string | null },
): Promise<number> {
  const row = await db
    .insertInto("api_tokens")
    .values({ user_id: values.userId, name: values.name, token_hash: values.tokenHash, prefix: values.prefix, created_at: values.createdAt, expires_at: values.expiresAt })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The member behind an unrevoked, unexpired token of an enabled account. */
export async function findMemberByTokenHash(db: Executor, tokenHash: string, at: string): Promise<(TeamMember & { tokenId: number; tokenLastUsedAt: string | null }) | undefined> {
  const row = await db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .selectAll("users")
    .select(["api_tokens.id as token_id", "api_tokens.last_used_at as token_last_used_at"])
    .where("api_tokens.token_hash", "=", tokenHash)
    .where("api_tokens.revoked_at", "is", null)
    .where((eb) => eb.or([eb("api_tokens.expires_at", "is", null), eb("api_tokens.expires_at", ">", at)]))
    .where("users.disabled_at", "is", null)
    .executeTakeFirst();
  return row && { ...toMember(row), tokenId: row.token_id, tokenLastUsedAt: row.token_last_used_at };
}

export async function touchApiToken(db: Executor, tokenId: number, at: string): Promise<void> {
  await db.updateTable("api_tokens").set({ last_used_at: at }).where("id", "=", tokenId).execute();
}

export async function revokeApiTokens(db: Executor, userId: number, at: string): Promise<number> {
  const result = await db.updateTable("api_tokens").set({ revoked_at: at }).where("user_id", "=", userId).where("revoked_at", "is", null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface ApiTokenRow {
  id: number;
  userId: number;
  email: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** Tokens, newest first: of one member, one by its id, or of the whole team. */
export async function listApiTokenRows(db: Executor, filter: { userId?: number; id?: number } = {}): Promise<ApiTokenRow[]> {
  let query = db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .select([
      "api_tokens.id",
      "api_tokens.user_id",
      "users.email",
      "api_tokens.name",
      "api_tokens.prefix",
      "api_tokens.created_at",
      "api_tokens.last_used_at",
      "api_tokens.expires_at",
      "api_tokens.revoked_at",
    ])
    .orderBy("api_tokens.id", "desc");
  if (filter.userId !== undefined) query = query.where("api_tokens.user_id", "=", filter.userId);
  if (filter.id !== undefined) query = query.where("api_tokens.id", "=", filter.id);
  return (await query.execute()).map((row) => ({
    id: row.id,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  }));
}

/** Revokes one token if it is not revoked yet; true when it was. */
export async function revokeApiTokenById(db: Executor, tokenId: number, at: string): Promise<boolean> {
  const result = await db.updateTable("api_tokens").set({ revoked_at: at }).where("id", "=", tokenId).where("revoked_at", "is", null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
