import { sha256Hex } from "../../platform/crypto/secrets.js";
import type { Db, Tx } from "../../platform/db/database.js";
import { readMarkdownBlocks } from "../../platform/markdown/markdown.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { DomainError, ValidationError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import {
  checkHallOfFameEntry,
  findHallOfFameItems,
  MAX_IMPORT_CHARS,
  MAX_IMPORT_ENTRIES,
  normaliseEntryForKey,
  readHallOfFameItem,
  type HallOfFameEntry,
  type HallOfFameEntryInput,
} from "./hall-of-fame.js";
import {
  deleteHallOfFameEntry,
  findExistingContentKeys,
  findHallOfFameEntry,
  insertHallOfFameEntry,
  isContentKeyTakenByAnother,
  listHallOfFameEntries,
  readLastPosition,
  updateHallOfFameEntry,
} from "./hall-of-fame.repository.js";

export { listHallOfFameEntries, findHallOfFameEntry };

export const HallOfFameEntryNotFoundError = (id: number) => new DomainError("hall_of_fame_entry_not_found", "not_found", `Hall-of-fame entry ${id} does not exist.`);
export const HallOfFameEntryExistsError = () =>
  new DomainError("hall_of_fame_entry_exists", "conflict", "Another entry with the same name, affiliation, link and year is listed already.", { name: "listed already" });

const entryData = (entry: HallOfFameEntryInput) => ({ name: entry.name, url: entry.url, affiliation: entry.affiliation, year: entry.year ?? null });

/**
 * Changes an entry's name, link, affiliation or year (an admin on the desk), audited with
 * what it was and what it is; its place in the list stays.
 * @throws ValidationError, HallOfFameEntryNotFoundError, HallOfFameEntryExistsError (409)
 */
export async function changeHallOfFameEntry(db: Db, clock: Clock, actor: Actor, id: number, input: HallOfFameEntryInput): Promise<HallOfFameEntry> {
  const entry = checkHallOfFameEntry(input);
  const key = contentKeyOf(entry);
  return db.transaction().execute(async (tx) => {
    const before = await findHallOfFameEntry(tx, id);
    if (!before) throw HallOfFameEntryNotFoundError(id);
    if (await isContentKeyTakenByAnother(tx, key, id)) throw HallOfFameEntryExistsError();
    const after = await updateHallOfFameEntry(tx, id, { ...entryData(entry), content_key: key });
    await appendAuditEvent(
      tx,
      actor,
      { action: "hall_of_fame.entry_changed", subjectType: "hall_of_fame_entry", subjectId: String(id), data: { before: entryData(before), after: entryData(after) } },
      isoNow(clock),
    );
    return after;
  });
}

/**
 * Removes an entry from the thanks page (an admin on the desk); the audit event keeps what it said.
 * @throws HallOfFameEntryNotFoundError
 */
export async function removeHallOfFameEntry(db: Db, clock: Clock, actor: Actor, id: number): Promise<HallOfFameEntry> {
  return db.transaction().execute(async (tx) => {
    const entry = await findHallOfFameEntry(tx, id);
    if (!entry) throw HallOfFameEntryNotFoundError(id);
    await deleteHallOfFameEntry(tx, id);
    await appendAuditEvent(
      tx,
      actor,
      { action: "hall_of_fame.entry_removed", subjectType: "hall_of_fame_entry", subjectId: String(id), data: { ...entryData(entry), position: entry.position, source: entry.source } },
      isoNow(clock),
    );
    return entry;
  });
}

function contentKeyOf(entry: HallOfFameEntryInput): string {
  return sha256Hex(normaliseEntryForKey(entry));
}

async function insertEntry(tx: Tx, actor: Actor, entry: HallOfFameEntryInput, key: string, position: number, source: string, at: string): Promise<HallOfFameEntry> {
  const stored = await insertHallOfFameEntry(tx, { name: entry.name, url: entry.url, affiliation: entry.affiliation, year: entry.year ?? null, content_key: key, position, source, added_at: at });
  await appendAuditEvent(
    tx,
    actor,
    { action: "hall_of_fame.entry_added", subjectType: "hall_of_fame_entry", subjectId: String(stored.id), data: { name: entry.name, url: entry.url, affiliation: entry.affiliation, year: entry.year ?? null, position, source } },
    at,
  );
  return stored;
}

/**
 * Adds one entry at the end of the hall of fame inside the caller's transaction (for
 * credits of a published advisory), audited. Returns null when the same entry is listed
 * already.
 * @throws ValidationError
 */
export async function addHallOfFameEntry(tx: Tx, actor: Actor, input: HallOfFameEntryInput, source: string, at: string): Promise<HallOfFameEntry | null> {
  const entry = checkHallOfFameEntry(input);
  const key = contentKeyOf(entry);
  if ((await findExistingContentKeys(tx, [key])).size) return null;
  return insertEntry(tx, actor, entry, key, (await readLastPosition(tx)) + 1, source, at);
}

export interface HallOfFameImport {
  /** Items found in the list. */
  total: number;
  added: number;
  /** Items listed already (or twice in the file). */
  skipped: number;
  /** Links that were not http(s) and were dropped; the names were kept. */
  refusedLinks: { line: number; url: string }[];
}

/**
 * Imports a Markdown list (a whole policy page with a "Thanks" section, a "# Hall of
 * fame" file, or the first list of any file) in one transaction: every entry is checked before anything is stored, entries
 * keep the file's order, and entries listed already are skipped, so a second import of
 * the same file adds nothing. Two imports running at once on PostgreSQL can collide on
 * the position index; the second then fails whole and can simply be run again.
 * @throws ValidationError naming each bad line, HallOfFameListNotFoundError
 */
export async function importHallOfFame(
  db: Db,
  clock: Clock,
  actor: Actor,
  source: string,
  onProgress?: (done: number, total: number) => void,
): Promise<HallOfFameImport> {
  if (source.length > MAX_IMPORT_CHARS) throw ValidationError(`The file is ${source.length} characters long; at most ${MAX_IMPORT_CHARS} are accepted.`, { file: "too large" });
  const items = findHallOfFameItems(readMarkdownBlocks(source));
  if (items.length > MAX_IMPORT_ENTRIES) throw ValidationError(`The list has ${items.length} entries; at most ${MAX_IMPORT_ENTRIES} are imported at once.`, { file: "too many entries" });

  const problems: Record<string, string> = {};
  const entries: { entry: HallOfFameEntryInput; key: string }[] = [];
  const refusedLinks: HallOfFameImport["refusedLinks"] = [];
  for (const item of items) {
    const read = readHallOfFameItem(item);
    if (read.refusedUrl) refusedLinks.push({ line: read.line, url: read.refusedUrl });
    try {
      const entry = checkHallOfFameEntry(read.entry, `line ${read.line}`);
      entries.push({ entry, key: contentKeyOf(entry) });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      problems[`line ${read.line}`] = error.message;
    }
  }
  if (Object.keys(problems).length) {
    throw ValidationError(`${Object.keys(problems).length} list item(s) cannot be imported; nothing was stored.`, problems);
  }

  return db.transaction().execute(async (tx) => {
    const seen = await findExistingContentKeys(tx, [...new Set(entries.map((e) => e.key))]);
    let position = await readLastPosition(tx);
    const at = isoNow(clock);
    let added = 0;
    for (const [index, { entry, key }] of entries.entries()) {
      if (!seen.has(key)) {
        seen.add(key);
        await insertEntry(tx, actor, entry, key, ++position, "import", at);
        added++;
      }
      onProgress?.(index + 1, entries.length);
    }
    return { total: entries.length, added, skipped: entries.length - added, refusedLinks };
  });
}
