import type { CvssDetails, ReportDetails, Severity, SeveritySource } from "../reports/index.js";
import { WEB_URL_MESSAGES, webUrlProblem } from "../../shared/web-url.js";

/**
 * Triage rules. Pure: no database, no clock (callers pass `now`).
 */

/**
 * The severity after a change. A severity a person chose is kept; otherwise it follows
 * the rating of the highest-version vector (CVSS 4.0 over 3.1), and goes back to unset
 * when the vectors are cleared. `severity: null` in a change means "follow the vectors
 * again". A severity set by a transition (source unset) counts as chosen, and so does
 * one that no longer matches the vector it came from (a transition changed it).
 */
export function decideSeverity(
  current: { severity: Severity | null; source: SeveritySource | null; cvss31: CvssDetails | null; cvss40: CvssDetails | null },
  next: { severity?: Severity | null; cvss31: CvssDetails | null; cvss40: CvssDetails | null },
): { severity: Severity | null; source: SeveritySource | null } {
  const derived = ratingOfVectors(next.cvss31, next.cvss40);
  if (next.severity !== undefined && next.severity !== null) return { severity: next.severity, source: "explicit" };
  if (next.severity === null) return derived ?? { severity: null, source: null };
  const before = ratingOfVectors(current.cvss31, current.cvss40);
  const follows =
    current.severity === null || (current.source !== "explicit" && current.source !== null && before !== null && before.severity === current.severity);
  if (!follows) return { severity: current.severity, source: current.source ?? "explicit" };
  return derived ?? { severity: null, source: null };
}

function ratingOfVectors(cvss31: CvssDetails | null, cvss40: CvssDetails | null): { severity: Severity; source: SeveritySource } | null {
  if (cvss40) return { severity: cvss40.rating, source: "cvss40" };
  if (cvss31) return { severity: cvss31.rating, source: "cvss31" };
  return null;
}

export type Bounty = ReportDetails["bounty"];

export interface BountyChange {
  eligible?: boolean | null;
  reason?: string | null;
  amount?: number | null;
  currency?: string | null;
  awardedAt?: string | null;
  paidAt?: string | null;
}

/** What the reporter is told of a bounty change: a decision on eligibility, or an award. */
export type BountyDecision =
  | { kind: "eligible" }
  | { kind: "not_eligible"; reason: string }
  | { kind: "awarded"; amount: number; currency: string };

/**
 * The decision a bounty change makes for the reporter, if any: eligibility decided or
 * changed (not eligible says why: the reason is required for it), or an amount awarded
 * (awardedAt set, or the awarded amount changed). Paying, and edits that decide nothing
 * new, tell them nothing.
 */
export function bountyDecisionOf(before: Bounty, after: Bounty): BountyDecision | null {
  if (after.awardedAt !== null && after.amount !== null && (before.awardedAt === null || before.amount !== after.amount || before.currency !== after.currency)) {
    return { kind: "awarded", amount: after.amount, currency: after.currency ?? "" };
  }
  if (after.eligible !== before.eligible) {
    if (after.eligible === true) return { kind: "eligible" };
    if (after.eligible === false) return { kind: "not_eligible", reason: after.reason ?? "" };
  }
  return null;
}

/** The decision in the reporter's words. */
export function describeBountyDecision(decision: BountyDecision): string {
  switch (decision.kind) {
    case "eligible":
      return "Your report is eligible for a bounty. We will tell you the amount when it is awarded.";
    case "not_eligible":
      return `Your report is not eligible for a bounty. The reason: ${decision.reason}`;
    case "awarded":
      return `We award you a bounty of ${decision.amount} ${decision.currency} for this report. Thank you.`;
  }
}

/**
 * Applies a bounty change and checks the result as a whole: a report found ineligible
 * says why; only an eligible report has an amount; a bounty is awarded before it is
 * paid, and neither lies in the future. An amount without a currency takes the
 * program's currency. Problems come back per field (`bounty.reason`, …).
 */
export function applyBountyChange(current: Bounty, change: BountyChange, defaultCurrency: string, now: Date): { bounty: Bounty; problems: Record<string, string> } {
  const pick = <K extends keyof BountyChange>(key: K) => (change[key] === undefined ? current[key] : change[key]) as Bounty[K];
  const bounty: Bounty = {
    eligible: pick("eligible"),
    reason: pick("reason"),
    amount: pick("amount"),
    currency: pick("currency"),
    awardedAt: pick("awardedAt"),
    paidAt: pick("paidAt"),
  };
  if (bounty.amount === null) bounty.currency = null;
  else if (bounty.currency === null) bounty.currency = defaultCurrency;
  const problems: Record<string, string> = {};
  if (bounty.eligible === false && !bounty.reason?.trim()) problems["bounty.reason"] = "is required when the report is not eligible: say why";
  if (bounty.amount !== null && bounty.eligible !== true) problems["bounty.amount"] = "is only for an eligible report: set eligible to true first";
  if (bounty.awardedAt !== null && bounty.amount === null) problems["bounty.awardedAt"] = "needs an amount: set the amount awarded";
  if (bounty.paidAt !== null && bounty.awardedAt === null) problems["bounty.paidAt"] = "needs awardedAt: a bounty is awarded before it is paid";
  if (bounty.paidAt !== null && bounty.awardedAt !== null && Date.parse(bounty.paidAt) < Date.parse(bounty.awardedAt)) {
    problems["bounty.paidAt"] = "must not be before awardedAt";
  }
  const soon = now.getTime() + 5 * 60_000;
  for (const key of ["awardedAt", "paidAt"] as const) {
    const value = bounty[key];
    if (value !== null && Date.parse(value) > soon && change[key] !== undefined) problems[`bounty.${key}`] ??= "must not be in the future";
  }
  return { bounty, problems };
}

/** Field-by-field differences, for the audit log: only what changed, never a report body. */
export function diffFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after)) {
    if (JSON.stringify(before[key] ?? null) !== JSON.stringify(after[key] ?? null)) out[key] = { from: before[key] ?? null, to: after[key] ?? null };
  }
  return out;
}

/**
 * An upstream's reference: a link to its tracker or advisory, or an identifier in it
 * ("CVE-2024-1234", "GHSA-…", "#5123"). Links must be http(s): the dashboard shows them
 * as links, and a `javascript:` one would run in the team's browser.
 */
export function checkUpstreamReference(reference: string): string | null {
  if (/^https?:/i.test(reference)) {
    const problem = webUrlProblem(reference);
    return problem === "control_characters" ? WEB_URL_MESSAGES.control_characters : problem ? "must be a valid http(s) URL" : null;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(reference) || /^(javascript|data|vbscript|file|blob):/i.test(reference)) {
    return "must be an http(s) URL or an identifier such as CVE-2024-1234";
  }
  return null;
}

/** Words that say nothing about what a report is about. */
const STOP_WORDS = new Set(
  "a an and are as at be been but by can could did do does for from had has have he her his how i if in into is it its just me my no not of on or our she so some than that the their them then there these they this those to too us was we were what when where which while who why will with would you your".split(
    " ",
  ),
);

/** The words of a text that count for similarity. */
export function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 && w.length <= 100 && !STOP_WORDS.has(w));
}

/** The words to look for candidates with: the title's first, then the description's most frequent. */
export function similarityQueryWords(report: { title: string; description: string }, max = 32): string[] {
  const counts = new Map<string, number>();
  for (const w of contentWords(report.description)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const title = [...new Set(contentWords(report.title))];
  const body = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0].length - a[0].length).map(([w]) => w);
  // Runs of letters and digits, as the full-text index splits text.
  return [...new Set([...title, ...body])].slice(0, max);
}

export interface SimilarityInput {
  title: string;
  description: string;
  asset: string | null;
  cweId: string | null;
}

function termFrequencies(words: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [w, x] of a) {
    na += x * x;
    const y = b.get(w);
    if (y) dot += x * y;
  }
  for (const y of b.values()) nb += y * y;
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

/**
 * How alike two reports are, from 0 up: 0.4 × the overlap of their titles' words
 * (Jaccard) + 0.6 × the cosine of the word counts of title and description, plus 0.15
 * for the same asset and 0.15 for the same CWE when the texts overlap at all. Computed
 * here rather than by a database so that both databases give the same scores.
 */
export function scoreSimilarity(a: SimilarityInput, b: SimilarityInput): number {
  const text =
    0.4 * jaccard(new Set(contentWords(a.title)), new Set(contentWords(b.title))) +
    0.6 * cosine(termFrequencies(contentWords(`${a.title} ${a.description}`)), termFrequencies(contentWords(`${b.title} ${b.description}`)));
  if (text === 0) return 0;
  const sameAsset = a.asset && b.asset && a.asset.trim().toLowerCase() === b.asset.trim().toLowerCase() ? 0.15 : 0;
  const sameCwe = a.cweId && a.cweId === b.cweId ? 0.15 : 0;
  return Math.round((text + sameAsset + sameCwe) * 1000) / 1000;
}
