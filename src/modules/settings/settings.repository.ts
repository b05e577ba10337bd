import type { Executor } from "../../platform/db/database.js";

export async function readStoredSettings(db: Executor): Promise<Record<string, unknown>> {
  const rows = await db.selectFrom("settings").select(["key", "value"]).execute();
  const out: Record<string, unknown> = {};
  for (const row of rows) out[row.key] = JSON.parse(row.value);
  return out;
}

export async function writeSetting(db: Executor, key: string, value: unknown, at: string): Promise<void> {
  await db
    .insertInto("settings")
    .values({ key, value: JSON.stringify(value), updated_at: at })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value: JSON.stringify(value), updated_at: at }))
    .execute();
}

export async function readSetting(db: Executor, key: string): Promise<unknown> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", key).executeTakeFirst();
  return row ? JSON.parse(row.value) : undefined;
}

export async function deleteSetting(db: Executor, key: string): Promise<void> {
  await db.deleteFrom("settings").where("key", "=", key).execute();
}
