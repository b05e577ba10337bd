import type { Insertable, Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { TeamKeysTable } from "../../platform/db/schema.js";

export type TeamKeyRow = Selectable<TeamKeysTable>;
export type NewTeamKeyRow = Omit<Insertable<TeamKeysTable>, "id" | "slot" | "retired_at">;

const CURRENT = "current";

export async function findCurrentTeamKeyRow(db: Executor): Promise<TeamKeyRow | undefined> {
  return db.selectFrom("team_keys").selectAll().where("slot", "=", CURRENT).executeTakeFirst();
}

/** Every key the team ever had, the current one first: all of them may decrypt. */
export async function listTeamKeyRows(db: Executor): Promise<TeamKeyRow[]> {
  const rows = await db.selectFrom("team_keys").selectAll().orderBy("id", "desc").execute();
  return rows.sort((a, b) => Number(b.slot === CURRENT) - Number(a.slot === CURRENT));
}

/**
 * Stores `row` as the current key unless there is one already; the unique `slot` makes
 * this safe when several processes try at once. Returns the new id, or undefined when
 * another key was there first.
 */
export async function insertCurrentTeamKeyIfAbsent(db: Executor, row: NewTeamKeyRow): Promise<number | undefined> {
  const inserted = await db
    .insertInto("team_keys")
    .values({ ...row, slot: CURRENT, retired_at: null })
    .onConflict((oc) => oc.column("slot").doNothing())
    .returning("id")
    .executeTakeFirst();
  return inserted?.id;
}

/** Moves the current key to the retired ones; returns it as it was. */
export async function retireCurrentTeamKey(db: Executor, at: string): Promise<TeamKeyRow | undefined> {
  const current = await findCurrentTeamKeyRow(db);
  if (!current) return undefined;
  await db.updateTable("team_keys").set({ slot: null, retired_at: at }).where("id", "=", current.id).execute();
  return current;
}
