import { createRequire } from "node:module";
import type { ZxcvbnFactory, ZxcvbnResult } from "@zxcvbn-ts/core";

// zxcvbn and its dictionaries are required on the first check, not at import: loading them
// is a good part of a second, which `shield serve` and the CLI should not pay at start
// (decision 0013). Both are CommonJS packages, so the check stays synchronous.
const require = createRequire(import.meta.url);

/**
 * What a team password must be: at least 12 characters, at most 1,000 (argon2 of a
 * megabyte is a denial of service), and not guessable — zxcvbn's score of at least 3
 * against the common-password dictionary, the keyboard patterns, and the person's own
 * e-mail and name. Pure: imports nothing from platform/.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1000;
export const PASSWORD_MIN_SCORE = 3;

/** zxcvbn ships its feedback as keys; these are the sentences a person reads. */
const WARNINGS: Record<string, string> = {
  straightRow: "Straight rows of keys on your keyboard are easy to guess.",
  keyPattern: "Short keyboard patterns are easy to guess.",
  simpleRepeat: 'Repeated characters like "aaa" are easy to guess.',
  extendedRepeat: 'Repeated character patterns like "abcabcabc" are easy to guess.',
  sequences: 'Common character sequences like "abc" are easy to guess.',
  recentYears: "Recent years are easy to guess.",
  dates: "Dates are easy to guess.",
  topTen: "This is one of the ten most used passwords.",
  topHundred: "This is one of the hundred most used passwords.",
  common: "This is a commonly used password.",
  similarToCommon: "This is similar to a commonly used password.",
  wordByItself: "Single words are easy to guess.",
  namesByThemselves: "Single names or surnames are easy to guess.",
  commonNames: "Common names and surnames are easy to guess.",
  userInputs: "It contains your e-mail address or name.",
  pwned: "This password appeared in a data breach.",
};

const SUGGESTIONS: Record<string, string> = {
  l33t: 'Avoid predictable letter substitutions like "@" for "a".',
  reverseWords: "Avoid reversed spellings of common words.",
  allUppercase: "Capitalise some, but not all letters.",
  capitalization: "Capitalise more than the first letter.",
  dates: "Avoid dates and years that are associated with you.",
  recentYears: "Avoid recent years.",
  associatedYears: "Avoid years that are associated with you.",
  sequences: "Avoid common character sequences.",
  repeated: "Avoid repeated words and characters.",
  longerKeyboardPattern: "Use longer keyboard patterns and change typing direction several times.",
  anotherWord: "Add more words that are less common.",
  useWords: "Use several words, but avoid common phrases.",
  noNeed: "You can create strong passwords without symbols, numbers or uppercase letters.",
  pwned: "Do not reuse this password anywhere.",
};

let checker: ZxcvbnFactory | undefined;

function zxcvbn(): ZxcvbnFactory {
  if (checker) return checker;
  const { ZxcvbnFactory } = require("@zxcvbn-ts/core") as typeof import("@zxcvbn-ts/core");
  const { adjacencyGraphs, dictionary } = require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
  checker = new ZxcvbnFactory({
    dictionary: { ...dictionary },
    graphs: adjacencyGraphs,
    // Levenshtein matching would catch a few more near-misses at ten times the cost (~1 s a check).
  });
  return checker;
}

function explain(result: ZxcvbnResult): string {
  const warning = result.feedback.warning ? WARNINGS[result.feedback.warning] : undefined;
  const suggestion = result.feedback.suggestions.map((key) => SUGGESTIONS[key]).find(Boolean);
  const why = warning ?? "It would be guessed too quickly.";
  return `This password is too easy to guess. ${why}${suggestion ? ` ${suggestion}` : " Use a longer phrase of unrelated words."}`;
}

/**
 * Null when the password is acceptable, else the sentence to show next to the field.
 * `personal` holds what an attacker would try first: the e-mail address, its local part, the name.
 */
export function findPasswordProblem(password: string, personal: string[] = []): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters (this one has ${password.length}).`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (password.trim() === "") return "A password cannot be only spaces.";
  // zxcvbn lets "grace.hopper1906" pass for grace.hopper@…; containing one's own address or name is refused outright.
  const squash = (value: string) => value.toLowerCase().replace(/[\s._+-]/g, "");
  const own = personal.flatMap((value) => [value, value.split("@")[0] ?? ""]).map(squash).filter((value) => value.length >= 4);
  if (own.some((value) => squash(password).includes(value))) return `This password is too easy to guess. ${WARNINGS.userInputs} Use a longer phrase of unrelated words.`;
  const inputs = personal.flatMap((value) => [value, ...value.split(/[@.\s_+-]+/)]).filter((value) => value.length >= 3);
  // zxcvbn's matching is quadratic; scoring the first 100 characters is plenty to judge them.
  const result = zxcvbn().check(password.slice(0, 100), [...inputs, "shield"]);
  return result.score < PASSWORD_MIN_SCORE ? explain(result) : null;
}
