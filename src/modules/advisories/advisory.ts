import { DomainError } from "../../shared/errors.js";
import { isWebUrl } from "../../shared/web-url.js";

/**
 * Advisories: the security updates the policy promises once an issue is fixed. Pure rules
 * (states, ids, the disclosure guard, revisions, credits): no database, no clock.
 */
export const ADVISORY_STATES = ["draft", "scheduled", "published"] as const;
export type AdvisoryState = (typeof ADVISORY_STATES)[number];

/** The CVE list's credit types (CVE JSON 5 `credits[].type`; OSV spells them in capitals). */
export const CREDIT_TYPES = [
  "finder",
  "reporter",
  "analyst",
  "coordinator",
  "remediation developer",
  "remediation reviewer",
  "remediation verifier",
  "tool",
  "sponsor",
  "other",
] as const;
export type CreditType = (typeof CREDIT_TYPES)[number];

export interface Credit {
  name: string;
  url: string | null;
  type: CreditType;
  /** The report whose reporter chose this credit on their tracking page; null for one the team added. */
  reportId: number | null;
}

/** A version range of a product, as OSV and CVE speak of it: from `introduced` until `fixed` (excluded) or up to `lastAffected` (included). */
export interface VersionRange {
  introduced: string;
  fixed: string | null;
  lastAffected: string | null;
}

export interface AffectedProduct {
  vendor: string;
  product: string;
  /** OSV's package ecosystem (npm, PyPI, RubyGems…) and name, when the product is published as a package. */
  ecosystem: string | null;
  packageName: string | null;
  ranges: VersionRange[];
  /** The version to update to. */
  fixedVersion: string | null;
}

/** A CVSS vector as given, with the base score of its base metrics (what CSAF, CVE and OSV consumers compare). */
export interface CvssSeverity {
  vector: string;
  baseScore: number;
  baseRating: "none" | "low" | "medium" | "high" | "critical";
}

const BASE_METRICS: Record<"3.1" | "4.0", readonly string[]> = {
  "3.1": ["AV", "AC", "PR", "UI", "S", "C", "I", "A"],
  "4.0": ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"],
};

/** The vector with only its base metrics, in the order given: what a base score is computed from. */
export function baseVectorOf(version: "3.1" | "4.0", vector: string): string {
  const [prefix, ...metrics] = vector.split("/");
  return [prefix, ...metrics.filter((m) => BASE_METRICS[version].includes(m.split(":")[0]!))].join("/");
}

/** What the team writes; a published revision keeps a copy of it as it was. */
export interface AdvisoryContent {
  title: string;
  /** Markdown. */
  summary: string;
  products: AffectedProduct[];
  cvss31: CvssSeverity | null;
  cvss40: CvssSeverity | null;
  cwe: { id: string; name: string } | null;
  cveId: string | null;
  references: string[];
  /** Markdown; null when there is none. */
  workarounds: string | null;
  credits: Credit[];
}

export interface AdvisoryRevision {
  number: number;
  summary: string;
  publishedAt: string;
  content: AdvisoryContent;
}

export interface Advisory {
  id: number;
  /** e.g. EXA-2026-001: the name the public, the exports and the URLs use. */
  publicId: string;
  state: AdvisoryState;
  content: AdvisoryContent;
  reportIds: number[];
  scheduledAt: string | null;
  publishedAt: string | null;
  /** Set when an admin scheduled publication over the guard: the scheduled job honours it. */
  guardOverride: string | null;
  createdAt: string;
  updatedAt: string;
  /** Oldest first; empty until published. */
  revisions: AdvisoryRevision[];
}

export const AdvisoryNotFoundError = (id: string | number) => new DomainError("advisory_not_found", "not_found", `Advisory ${id} does not exist.`);
export const AdvisoryStateError = (message: string) => new DomainError("advisory_state", "conflict", message);
export const DisclosureGuardError = (why: string) =>
  new DomainError("disclosure_guard", "conflict", `Publishing is refused by the disclosure guard: ${why} An admin may override it with a reason.`);

/** `EXA-2026-001`: the program's prefix, the year of creation, a sequence within that year. */
export function formatAdvisoryId(prefix: string, year: number, sequence: number): string {
  return `${prefix}-${year}-${String(sequence).padStart(3, "0")}`;
}

export const ADVISORY_ID_PATTERN = /^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{3,6}$/;

/** What the guard needs to know about each linked report. */
export interface GuardedReport {
  id: number;
  state: string;
  /** Upstream embargo dates (YYYY-MM-DD) on the report. */
  embargoes: string[];
}

/** One reason the guard holds an advisory back: a linked report not fixed, or under an upstream embargo. */
export interface GuardBlocker {
  reportId: number;
  reason: "not_resolved" | "embargoed";
  /** The report's state now. */
  state: string;
  /** For an embargo: the day it lifts (YYYY-MM-DD). */
  embargoUntil: string | null;
  text: string;
}

export type GuardCheck = { ok: true } | { ok: false; why: string; blockers: GuardBlocker[] };

/**
 * The disclosure guard: nothing is published while a linked report is not fixed or an
 * upstream still holds it under embargo. An embargo "until D" lifts at the start of D (UTC):
 * D is the agreed day of public disclosure.
 */
export function checkDisclosureGuard(reports: GuardedReport[], at: Date): GuardCheck {
  if (reports.length === 0) return { ok: false, why: "the advisory links no report.", blockers: [] };
  const blockers: GuardBlocker[] = [];
  for (const report of reports) {
    if (report.state !== "resolved" && report.state !== "disclosed") {
      blockers.push({ reportId: report.id, reason: "not_resolved", state: report.state, embargoUntil: null, text: `report #${report.id} is ${report.state}, not resolved.` });
    }
    for (const until of report.embargoes) {
      if (at.getTime() < Date.parse(`${until}T00:00:00Z`)) {
        blockers.push({ reportId: report.id, reason: "embargoed", state: report.state, embargoUntil: until, text: `report #${report.id} is under an upstream embargo until ${until}.` });
      }
    }
  }
  return blockers.length ? { ok: false, why: blockers.map((b) => b.text).join(" "), blockers } : { ok: true };
}

/** Whether the public may see it: only published advisories exist for anyone outside the team. */
export function isPublic(advisory: Pick<Advisory, "state">): boolean {
  return advisory.state === "published";
}

/** The content the public reads: the latest revision's. */
export function currentRevision(advisory: Advisory): AdvisoryRevision {
  const latest = advisory.revisions.at(-1);
  if (!latest) throw AdvisoryStateError(`Advisory ${advisory.publicId} is not published.`);
  return latest;
}

/**
 * The credits a revision carries: the team's, then each linked report's as its reporter
 * chose it (a report whose reporter chose to stay anonymous gives none). The same name and
 * link twice is credited once.
 */
export function mergeCredits(teamCredits: Credit[], reports: Array<{ id: number; creditName: string | null; creditUrl: string | null }>): Credit[] {
  const out: Credit[] = [];
  const seen = new Set<string>();
  const add = (credit: Credit) => {
    const key = `${credit.name.trim().toLowerCase()}\n${credit.url ?? ""}\n${credit.type}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(credit);
  };
  for (const report of reports) {
    // A link stored before links were checked as strictly (a control character, another scheme) is left out, not published.
    if (report.creditName) add({ name: report.creditName, url: report.creditUrl !== null && isWebUrl(report.creditUrl) ? report.creditUrl : null, type: "finder", reportId: report.id });
  }
  for (const credit of teamCredits) add(credit);
  return out;
}

/** Problems with affected products that the schemas cannot say: OSV forbids `fixed` and `lastAffected` in one range. */
export function checkProducts(products: AffectedProduct[]): Record<string, string> {
  const problems: Record<string, string> = {};
  products.forEach((product, p) => {
    product.ranges.forEach((range, r) => {
      if (range.fixed && range.lastAffected) problems[`products.${p}.ranges.${r}`] = "give either fixed or lastAffected, not both";
    });
  });
  return problems;
}

/** The date part of an ISO timestamp. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}
