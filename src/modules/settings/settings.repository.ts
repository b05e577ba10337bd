import { runCompiledOnce } from "../../platform/db/compiled-once.js";
import type { Executor } from "../../platform/db/database.js";

/** The stored settings as their JSON text, in key order. */
export async function readStoredSettingTexts(db: Executor): Promise<{ key: string; value: string }[]> {
  return (await runCompiledOnce(db, "settings: all", [], () => db.selectFrom("settings").select(["key", "value"]).orderBy("key"))).rows;
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
