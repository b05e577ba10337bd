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

export async function insertApiToken(db: Executor, values: { userId: number; name: string; tokenHash: string; prefix: string; createdAt: string }): Promise<number> {
  const row = await db
    .insertInto("api_tokens")
    .values({ user_id: values.userId, name: values.name, token_hash: values.tokenHash, prefix: values.prefix, created_at: values.createdAt })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The member behind an unrevoked token of an enabled account. */
export async function findMemberByTokenHash(db: Executor, tokenHash: string): Promise<(TeamMember & { tokenId: number; tokenLastUsedAt: string | null }) | undefined> {
  const row = await db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .selectAll("users")
    .select(["api_tokens.id as token_id", "api_tokens.last_used_at as token_last_used_at"])
    .where("api_tokens.token_hash", "=", tokenHash)
    .where("api_tokens.revoked_at", "is", null)
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
