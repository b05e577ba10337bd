import { DomainError, ValidationError } from "../../shared/errors.js";
import { isWebUrl, WEB_URL_MESSAGES, webUrlProblem } from "../../shared/web-url.js";

/**
 * The hall of fame's rules: what an entry is, how one is read from a Markdown list,
 * and when two entries are the same. Pure: the Markdown structure is handed in.
 */

export const MAX_NAME = 300;
export const MAX_AFFILIATION = 200;
export const MAX_URL = 2000;
/** An imported list is a page of names; more than this is not a hall of fame. */
export const MAX_IMPORT_ENTRIES = 10_000;
export const MAX_IMPORT_CHARS = 1024 * 1024;

export interface HallOfFameEntryInput {
  /** The visible text of the entry, exactly as it reads (may name several people: "A, B, and C"). */
  name: string;
  /** Only http(s); anything else is not kept. */
  url: string | null;
  affiliation: string | null;
  /** The year the entry is thanked for, when the list said so ("Peggy (2023)"); otherwise the year it was added stands. */
  year?: number | null;
}

export interface HallOfFameEntry extends HallOfFameEntryInput {
  id: number;
  position: number;
  source: string;
  addedAt: string;
}

export const HallOfFameListNotFoundError = (message: string) => new DomainError("hall_of_fame_list_not_found", "invalid", message);

/** The shape of Markdown the importer needs (structurally the same as platform/markdown's blocks). */
export interface InlineRun {
  text: string;
  href: string | null;
}
export interface ListItem {
  line: number;
  runs: InlineRun[];
}
export type Block = { kind: "heading"; level: number; text: string; line: number } | { kind: "list"; line: number; items: ListItem[] } | { kind: "other"; line: number };

/** Headings a hall of fame goes by: "Thanks", "Hall of fame", "Acknowledgements", "Credits", "Researchers"… */
const THANKS_HEADING = /\b(thank|hall[\s-]+of[\s-]+fame|acknowledge?ments?|credits?\b|researchers\b|contributors\b)/i;

/**
 * The items to import: the top-level items of the first list under a heading a hall of
 * fame goes by (a full policy page like the seed, or a "# Hall of fame" file), every item
 * of a file that is only a list, or else the first list in the file.
 * @throws HallOfFameListNotFoundError
 */
export function findHallOfFameItems(blocks: Block[]): ListItem[] {
  const headingIndex = blocks.findIndex((b) => b.kind === "heading" && THANKS_HEADING.test(b.text));
  if (headingIndex >= 0) {
    const heading = blocks[headingIndex] as Extract<Block, { kind: "heading" }>;
    for (const block of blocks.slice(headingIndex + 1)) {
      if (block.kind === "heading" && block.level <= heading.level) break;
      if (block.kind === "list") return block.items;
    }
    throw HallOfFameListNotFoundError(`The heading "${heading.text}" on line ${heading.line} has no list under it.`);
  }
  // A file that is nothing but a list (a change of bullet character starts another).
  if (blocks.length > 0 && blocks.every((b) => b.kind === "list")) return blocks.flatMap((b) => (b.kind === "list" ? b.items : []));
  const first = blocks.find((b) => b.kind === "list");
  if (first) return first.items;
  throw HallOfFameListNotFoundError("Found no list to import: the file has no list (`* Name` or `* [Name](https://…)` lines).");
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

export interface ReadEntry {
  line: number;
  entry: HallOfFameEntryInput;
  /** A link target that was not http(s) and so was not kept. */
  refusedUrl: string | null;
}

/**
 * One list item as one entry: the visible text as it reads when rendered (escapes
 * resolved, emphasis markers gone), and the first http(s) link in it. Names are not
 * split into people or affiliations: "A, B, and C" and "Name (Company)" stay as written.
 */
export function readHallOfFameItem(item: ListItem): ReadEntry {
  let name = collapse(item.runs.map((r) => r.text).join(""));
  const hrefs = item.runs.map((r) => r.href).filter((h): h is string => h !== null);
  let url = hrefs.find(isWebUrl) ?? null;
  // "Peggy (2023)": the year thanked for; "Jane Doe (https://janedoe.example)": the link. Either order, each once, at the end.
  let year: number | null = null;
  for (let round = 0; round < 2; round++) {
    const yearMatch: RegExpExecArray | null = year === null ? /^(.+?)\s*\(((?:19|20)\d\d)\)$/.exec(name) : null;
    if (yearMatch) {
      name = yearMatch[1]!;
      year = Number(yearMatch[2]);
      continue;
    }
    const linkMatch = /^(.+?)\s*\((https?:\/\/[^\s()]+)\)$/i.exec(name);
    if (linkMatch && (url === null || url === linkMatch[2])) {
      name = linkMatch[1]!;
      url = linkMatch[2]!;
    }
  }
  return { line: item.line, entry: { name, url, affiliation: null, ...(year !== null ? { year } : {}) }, refusedUrl: url === null ? (hrefs[0] ?? null) : null };
}

/**
 * @throws ValidationError naming the field
 */
export function checkHallOfFameEntry(input: HallOfFameEntryInput, where = ""): HallOfFameEntryInput {
  const name = collapse(input.name);
  const affiliation = input.affiliation === null ? null : collapse(input.affiliation) || null;
  const at = where ? ` (${where})` : "";
  if (!name) throw ValidationError(`An entry needs a name${at}.`, { name: "is required" });
  if (name.length > MAX_NAME) throw ValidationError(`A name is at most ${MAX_NAME} characters${at}.`, { name: `at most ${MAX_NAME} characters` });
  if (/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(name + (affiliation ?? ""))) {
    throw ValidationError(`A name may not contain control or text-direction characters${at}.`, { name: "no control characters" });
  }
  if (affiliation && affiliation.length > MAX_AFFILIATION) throw ValidationError(`An affiliation is at most ${MAX_AFFILIATION} characters${at}.`, { affiliation: `at most ${MAX_AFFILIATION} characters` });
  const urlProblem = input.url === null ? null : webUrlProblem(input.url);
  if (urlProblem === "control_characters") {
    throw ValidationError(`A link may not contain spaces, line breaks, tabs or other control characters${at}.`, { url: WEB_URL_MESSAGES.control_characters });
  }
  if (urlProblem || (input.url !== null && input.url.length > MAX_URL)) {
    throw ValidationError(`A link must be an http(s) URL of at most ${MAX_URL} characters${at}.`, { url: "an http(s) URL" });
  }
  if (input.year != null && !(Number.isInteger(input.year) && input.year >= 1900 && input.year <= 2999)) {
    throw ValidationError(`A year is a year such as 2023${at}.`, { year: "a year such as 2023" });
  }
  return { name, url: input.url, affiliation, ...(input.year != null ? { year: input.year } : {}) };
}

/** What the hall of fame shows for an entry. */
export function describeHallOfFameEntry(entry: HallOfFameEntryInput): string {
  return entry.affiliation ? `${entry.name} (${entry.affiliation})` : entry.name;
}

/**
 * Two entries are the same when they read the same and link to the same place,
 * ignoring case, Unicode form, spacing and a trailing slash: importing a list twice
 * adds nothing.
 */
export function normaliseEntryForKey(entry: HallOfFameEntryInput): string {
  const text = (s: string | null) => (s === null ? "" : collapse(s.normalize("NFKC")).toLowerCase());
  const url = entry.url === null ? "" : entry.url.trim().toLowerCase().replace(/\/+$/, "");
  // Without a year the key is what it was before entries had years, so earlier imports still match.
  return JSON.stringify(entry.year == null ? [text(entry.name), text(entry.affiliation), url] : [text(entry.name), text(entry.affiliation), url, entry.year]);
}
