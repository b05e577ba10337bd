import { createRequire } from "node:module";

/**
 * The CWE dictionary (version 4.15, the weaknesses shipped offline by `cwe-sdk`). Pure:
 * no network, no database. The 8 MB dictionary is read once, on first use, and kept as
 * a compact list; categories and views are not in it, and deprecated entries are
 * refused, because a report maps to a weakness that MITRE still lists.
 */
export const CWE_VERSION = "4.15";

export type CweUsage = "Allowed" | "Allowed-with-Review" | "Discouraged" | "Prohibited";

export interface CweEntry {
  /** "CWE-79" */
  id: string;
  name: string;
  abstraction: string;
  status: string;
  /** MITRE's advice on mapping vulnerabilities to this entry. */
  usage: CweUsage | null;
  /** Other names the weakness goes by ("XSS", "SQLi"). */
  alternateTerms: string[];
}

interface RawEntry {
  attr: Record<string, string>;
  Mapping_Notes?: { Usage?: string };
  Alternate_Terms?: { Alternate_Term?: { Term?: unknown } | Array<{ Term?: unknown }> };
}

let entries: CweEntry[] | undefined;
let byNumber: Map<number, CweEntry> | undefined;
let searchText: Map<CweEntry, { name: string[]; other: string[] }> | undefined;

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function load(): CweEntry[] {
  if (entries) return entries;
  const raw = createRequire(import.meta.url)("cwe-sdk/raw/cwe-dictionary.json") as Record<string, RawEntry>;
  const list: CweEntry[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const terms = value.Alternate_Terms?.Alternate_Term;
    const termList = (Array.isArray(terms) ? terms : terms ? [terms] : []).map((t) => t.Term).filter((t): t is string => typeof t === "string");
    list.push({
      id: `CWE-${Number(key)}`,
      name: value.attr["@_Name"] ?? "",
      abstraction: value.attr["@_Abstraction"] ?? "",
      status: value.attr["@_Status"] ?? "",
      usage: (value.Mapping_Notes?.Usage as CweUsage | undefined) ?? null,
      alternateTerms: termList,
    });
  }
  list.sort((a, b) => cweNumber(a.id)! - cweNumber(b.id)!);
  entries = list;
  byNumber = new Map(list.map((e) => [cweNumber(e.id)!, e]));
  searchText = new Map(list.map((e) => [e, { name: words(e.name), other: e.alternateTerms.flatMap(words) }]));
  return list;
}

/** 79 for "CWE-79", "cwe-79" or "79"; undefined for anything else. */
export function cweNumber(text: string): number | undefined {
  const match = /^(?:CWE-?)?(\d{1,6})$/i.exec(text.trim());
  return match ? Number(match[1]) : undefined;
}

export type CweLookup = { ok: true; entry: CweEntry } | { ok: false; problem: string };

/** Finds a weakness to record on a report; the problem says why one cannot be used. */
export function lookUpCwe(text: string): CweLookup {
  const number = cweNumber(text);
  if (number === undefined) return { ok: false, problem: 'must be a CWE identifier such as "CWE-79"' };
  load();
  const entry = byNumber!.get(number);
  if (!entry) return { ok: false, problem: `CWE-${number} is not a weakness in the CWE ${CWE_VERSION} dictionary` };
  if (entry.status === "Deprecated") return { ok: false, problem: `CWE-${number} is deprecated in CWE ${CWE_VERSION} ("${entry.name}"); choose the weakness it points to` };
  return { ok: true, entry };
}

/**
 * Searches by identifier or words. An identifier ("79", "CWE-79") puts that weakness
 * first, then the ones whose number starts with it. Words must all occur, the last one
 * as a prefix, in the name or another name; name matches rank first, then weaknesses
 * MITRE allows for mapping, then lower numbers. Deprecated entries are left out.
 */
export function searchCwe(query: string, limit = 20): CweEntry[] {
  const list = load().filter((e) => e.status !== "Deprecated");
  const number = cweNumber(query);
  if (number !== undefined) {
    const digits = String(number);
    return list
      .filter((e) => e.id.slice(4).startsWith(digits))
      .sort((a, b) => Number(b.id === `CWE-${number}`) - Number(a.id === `CWE-${number}`) || cweNumber(a.id)! - cweNumber(b.id)!)
      .slice(0, limit);
  }
  const terms = words(query).slice(0, 10);
  if (terms.length === 0) return [];
  const matches = (tokens: string[], term: string, prefix: boolean) => tokens.some((t) => (prefix ? t.startsWith(term) : t === term));
  const scored: Array<{ entry: CweEntry; score: number }> = [];
  for (const entry of list) {
    const text = searchText!.get(entry)!;
    let score = 0;
    let all = true;
    for (const [i, term] of terms.entries()) {
      const prefix = i === terms.length - 1;
      if (matches(text.name, term, prefix)) score += 2;
      else if (matches(text.other, term, prefix)) score += 1;
      else {
        all = false;
        break;
      }
    }
    if (!all) continue;
    if (entry.usage === "Allowed" || entry.usage === "Allowed-with-Review") score += 0.5;
    scored.push({ entry, score });
  }
  return scored
    .sort((a, b) => b.score - a.score || cweNumber(a.entry.id)! - cweNumber(b.entry.id)!)
    .slice(0, limit)
    .map((s) => s.entry);
}
