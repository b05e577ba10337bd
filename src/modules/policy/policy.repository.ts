import type { Executor, Tx } from "../../platform/db/database.js";

export interface PolicyVersionRow {
  id: number;
  source: string;
  title: string;
  description: string | null;
  sha256: string;
  imported_at: string;
  imported_by: string;
}

/** The policy shown on /security: the newest imported version. */
export async function findCurrentPolicy(db: Executor): Promise<PolicyVersionRow | undefined> {
  return db.selectFrom("policy_versions").selectAll().orderBy("id", "desc").limit(1).executeTakeFirst();
}

export async function insertPolicyVersion(tx: Tx, row: Omit<PolicyVersionRow, "id">): Promise<number> {
  const inserted = await tx.insertInto("policy_versions").values(row).returning("id").executeTakeFirstOrThrow();
  return inserted.id;
}

export interface PolicyVariableRow {
  name: string;
  value: string;
  updated_at: string;
}

export async function listCustomVariables(db: Executor): Promise<PolicyVariableRow[]> {
  return db.selectFrom("policy_variables").selectAll().orderBy("name").execute();
}

export async function readCustomVariable(db: Executor, name: string): Promise<PolicyVariableRow | undefined> {
  return db.selectFrom("policy_variables").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function writeCustomVariable(tx: Tx, name: string, value: string, at: string): Promise<void> {
  await tx
    .insertInto("policy_variables")
    .values({ name, value, updated_at: at })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value, updated_at: at }))
    .execute();
}
