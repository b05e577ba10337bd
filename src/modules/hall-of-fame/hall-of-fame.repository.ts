import type { Executor, Tx } from "../../platform/db/database.js";
import type { HallOfFameEntry } from "./hall-of-fame.js";

function toEntry(row: { id: number; name: string; url: string | null; affiliation: string | null; year: number | null; position: number; source: string; added_at: string }): HallOfFameEntry {
  return { id: row.id, name: row.name, url: row.url, affiliation: row.affiliation, year: row.year, position: row.position, source: row.source, addedAt: row.added_at };
}

/** Every entry in the order it was added. */
export async function listHallOfFameEntries(db: Executor): Promise<HallOfFameEntry[]> {
  const rows = await db.selectFrom("hall_of_fame_entries").selectAll().orderBy("position").execute();
  return rows.map(toEntry);
}

/** Which of these content keys are stored already. Asked in slices to stay under both databases' parameter limits. */
export async function findExistingContentKeys(db: Executor, keys: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < keys.length; i += 500) {
    const slice = keys.slice(i, i + 500);
    const rows = await db.selectFrom("hall_of_fame_entries").select("content_key").where("content_key", "in", slice).execute();
    for (const row of rows) found.add(row.content_key);
  }
  return found;
}

export async function readLastPosition(db: Executor): Promise<number> {
  const row = await db.selectFrom("hall_of_fame_entries").select((eb) => eb.fn.max<number | null>("position").as("last")).executeTakeFirst();
  return row?.last ?? 0;
}

export async function insertHallOfFameEntry(
  tx: Tx,
  row: { name: string; url: string | null; affiliation: string | null; year: number | null; content_key: string; position: number; source: string; added_at: string },
): Promise<HallOfFameEntry> {
  const inserted = await tx.insertInto("hall_of_fame_entries").values(row).returningAll().executeTakeFirstOrThrow();
  return toEntry(inserted);
}

export async function findHallOfFameEntry(db: Executor, id: number): Promise<HallOfFameEntry | undefined> {
  const row = await db.selectFrom("hall_of_fame_entries").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toEntry(row);
}

/** Whether another entry than `id` has this content key. */
export async function isContentKeyTakenByAnother(db: Executor, key: string, id: number): Promise<boolean> {
  const row = await db.selectFrom("hall_of_fame_entries").select("id").where("content_key", "=", key).where("id", "!=", id).executeTakeFirst();
  return row !== undefined;
}

export async function updateHallOfFameEntry(tx: Tx, id: number, row: { name: string; url: string | null; affiliation: string | null; year: number | null; content_key: string }): Promise<HallOfFameEntry> {
  const updated = await tx.updateTable("hall_of_fame_entries").set(row).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
  return toEntry(updated);
}

export async function deleteHallOfFameEntry(tx: Tx, id: number): Promise<void> {
  await tx.deleteFrom("hall_of_fame_entries").where("id", "=", id).execute();
}
