/**
 * Full-text search words and the query strings of both databases. Pure.
 *
 * Text is indexed as runs of letters and digits, lower-cased, without stemming (FTS5
 * `unicode61 remove_diacritics 0`; PostgreSQL `simple` after punctuation becomes a
 * space: see migration 007), so a query is split the same way: every word must occur,
 * and the last one also matches as the start of a word ("auth" finds "authentication").
 * The words contain only letters and digits, which makes them safe to quote in both
 * query languages.
 */
export const MAX_SEARCH_WORDS = 12;
const MAX_WORD_LENGTH = 100;

export function searchWords(text: string, max = MAX_SEARCH_WORDS): string[] {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length <= MAX_WORD_LENGTH);
  return [...new Set(words)].slice(0, max);
}

export interface SearchQueryOptions {
  /** Match any word instead of all of them (for similar reports). */
  any?: boolean;
  /** Let the last word match the start of a longer word. */
  prefixLast?: boolean;
}

/** An FTS5 MATCH expression: `"stored" "xss"*`. */
export function toFts5Query(words: string[], options: SearchQueryOptions = {}): string {
  const terms = words.map((w, i) => `"${w}"${options.prefixLast && i === words.length - 1 ? "*" : ""}`);
  return terms.join(options.any ? " OR " : " ");
}

/** A to_tsquery('simple', …) expression: `'stored' & 'xss':*`. */
export function toTsQuery(words: string[], options: SearchQueryOptions = {}): string {
  const terms = words.map((w, i) => `'${w}'${options.prefixLast && i === words.length - 1 ? ":*" : ""}`);
  return terms.join(options.any ? " | " : " & ");
}
