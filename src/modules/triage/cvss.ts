import { createRequire } from "node:module";

/**
 * CVSS 3.1 and 4.0 vectors: validation against FIRST's specifications, then scoring.
 * Pure. The calculator scores a malformed vector as 0 instead of refusing it, so every
 * vector is checked here first, metric by metric, and only a valid one is scored.
 *
 * The two versions differ on order: CVSS 3.1 (section 6) says "Programs reading CVSS
 * v3.1 vector strings must accept metrics in any order"; CVSS 4.0 (section 7) says
 * "A vector string must contain metrics in the order shown in Table 23, every other
 * ordering is invalid". Both: all Base metrics exactly once, any other metric at most
 * once, only the listed values (case-sensitive), prefix `CVSS:3.1/` or `CVSS:4.0/`.
 */
export const CVSS_VERSIONS = ["3.1", "4.0"] as const;
export type CvssVersion = (typeof CVSS_VERSIONS)[number];

export const CVSS_RATINGS = ["none", "low", "medium", "high", "critical"] as const;
export type CvssRating = (typeof CVSS_RATINGS)[number];

export interface CvssScore {
  version: CvssVersion;
  vector: string;
  /** 0.0–10.0; for 3.1 the most specific of environmental, temporal, base; for 4.0 the CVSS-B/BT/BE/BTE score. */
  score: number;
  rating: CvssRating;
}

interface MetricSpec {
  name: string;
  values: readonly string[];
  mandatory: boolean;
}

const metric = (abbr: string, name: string, values: string, mandatory = false): [string, MetricSpec] => [abbr, { name, values: values.split(","), mandatory }];

/** Table 15 of the CVSS 3.1 specification. */
const CVSS31_METRICS = new Map<string, MetricSpec>([
  metric("AV", "Attack Vector", "N,A,L,P", true),
  metric("AC", "Attack Complexity", "L,H", true),
  metric("PR", "Privileges Required", "N,L,H", true),
  metric("UI", "User Interaction", "N,R", true),
  metric("S", "Scope", "U,C", true),
  metric("C", "Confidentiality", "H,L,N", true),
  metric("I", "Integrity", "H,L,N", true),
  metric("A", "Availability", "H,L,N", true),
  metric("E", "Exploit Code Maturity", "X,H,F,P,U"),
  metric("RL", "Remediation Level", "X,U,W,T,O"),
  metric("RC", "Report Confidence", "X,C,R,U"),
  metric("CR", "Confidentiality Requirement", "X,H,M,L"),
  metric("IR", "Integrity Requirement", "X,H,M,L"),
  metric("AR", "Availability Requirement", "X,H,M,L"),
  metric("MAV", "Modified Attack Vector", "X,N,A,L,P"),
  metric("MAC", "Modified Attack Complexity", "X,L,H"),
  metric("MPR", "Modified Privileges Required", "X,N,L,H"),
  metric("MUI", "Modified User Interaction", "X,N,R"),
  metric("MS", "Modified Scope", "X,U,C"),
  metric("MC", "Modified Confidentiality", "X,N,L,H"),
  metric("MI", "Modified Integrity", "X,N,L,H"),
  metric("MA", "Modified Availability", "X,N,L,H"),
]);

/** Table 23 of the CVSS 4.0 specification, in its mandatory order. */
const CVSS40_METRICS = new Map<string, MetricSpec>([
  metric("AV", "Attack Vector", "N,A,L,P", true),
  metric("AC", "Attack Complexity", "L,H", true),
  metric("AT", "Attack Requirements", "N,P", true),
  metric("PR", "Privileges Required", "N,L,H", true),
  metric("UI", "User Interaction", "N,P,A", true),
  metric("VC", "Vulnerable System Confidentiality Impact", "H,L,N", true),
  metric("VI", "Vulnerable System Integrity Impact", "H,L,N", true),
  metric("VA", "Vulnerable System Availability Impact", "H,L,N", true),
  metric("SC", "Subsequent System Confidentiality Impact", "H,L,N", true),
  metric("SI", "Subsequent System Integrity Impact", "H,L,N", true),
  metric("SA", "Subsequent System Availability Impact", "H,L,N", true),
  metric("E", "Exploit Maturity", "X,A,P,U"),
  metric("CR", "Confidentiality Requirement", "X,H,M,L"),
  metric("IR", "Integrity Requirement", "X,H,M,L"),
  metric("AR", "Availability Requirement", "X,H,M,L"),
  metric("MAV", "Modified Attack Vector", "X,N,A,L,P"),
  metric("MAC", "Modified Attack Complexity", "X,L,H"),
  metric("MAT", "Modified Attack Requirements", "X,N,P"),
  metric("MPR", "Modified Privileges Required", "X,N,L,H"),
  metric("MUI", "Modified User Interaction", "X,N,P,A"),
  metric("MVC", "Modified Vulnerable System Confidentiality", "X,N,L,H"),
  metric("MVI", "Modified Vulnerable System Integrity", "X,N,L,H"),
  metric("MVA", "Modified Vulnerable System Availability", "X,N,L,H"),
  metric("MSC", "Modified Subsequent System Confidentiality", "X,N,L,H"),
  metric("MSI", "Modified Subsequent System Integrity", "X,N,L,H,S"),
  metric("MSA", "Modified Subsequent System Availability", "X,N,L,H,S"),
  metric("S", "Safety", "X,N,P"),
  metric("AU", "Automatable", "X,N,Y"),
  metric("R", "Recovery", "X,A,U,I"),
  metric("V", "Value Density", "X,D,C"),
  metric("RE", "Vulnerability Response Effort", "X,L,M,H"),
  metric("U", "Provider Urgency", "X,Clear,Green,Amber,Red"),
]);

const SPECS: Record<CvssVersion, Map<string, MetricSpec>> = { "3.1": CVSS31_METRICS, "4.0": CVSS40_METRICS };

const words = (pairs: string): Record<string, string> => Object.fromEntries(pairs.split(",").map((pair) => pair.split("=") as [string, string]));
const IMPACT = words("H=High,L=Low,N=None");

/** The values of the base metrics in the specification's words. */
const VALUE_WORDS: Record<CvssVersion, Record<string, Record<string, string>>> = {
  "3.1": {
    AV: words("N=Network,A=Adjacent,L=Local,P=Physical"),
    AC: words("L=Low,H=High"),
    PR: words("N=None,L=Low,H=High"),
    UI: words("N=None,R=Required"),
    S: words("U=Unchanged,C=Changed"),
    C: IMPACT,
    I: IMPACT,
    A: IMPACT,
  },
  "4.0": {
    AV: words("N=Network,A=Adjacent,L=Local,P=Physical"),
    AC: words("L=Low,H=High"),
    AT: words("N=None,P=Present"),
    PR: words("N=None,L=Low,H=High"),
    UI: words("N=None,P=Passive,A=Active"),
    VC: IMPACT,
    VI: IMPACT,
    VA: IMPACT,
    SC: IMPACT,
    SI: IMPACT,
    SA: IMPACT,
  },
};

/** Values of the other metrics, the same letters across them ("X" is always "Not Defined"). */
const OTHER_VALUE_WORDS: Record<string, Record<string, string>> = {
  E: words("X=Not Defined,A=Attacked,H=High,F=Functional,P=Proof-of-Concept,U=Unproven/Unreported"),
  RL: words("X=Not Defined,U=Unavailable,W=Workaround,T=Temporary Fix,O=Official Fix"),
  RC: words("X=Not Defined,C=Confirmed,R=Reasonable,U=Unknown"),
  S: words("X=Not Defined,N=Negligible,P=Present"),
  AU: words("X=Not Defined,N=No,Y=Yes"),
  R: words("X=Not Defined,A=Automatic,U=User,I=Irrecoverable"),
  V: words("X=Not Defined,D=Diffuse,C=Concentrated"),
};
const GENERIC_VALUE_WORDS = words("X=Not Defined,H=High,M=Medium,L=Low,N=None,S=Safety");

function valueWord(version: CvssVersion, abbr: string, value: string): string {
  const base = VALUE_WORDS[version][abbr];
  if (base) return base[value] ?? value;
  const other = OTHER_VALUE_WORDS[abbr] ?? {};
  if (abbr.startsWith("M") && VALUE_WORDS[version][abbr.slice(1)]?.[value]) return VALUE_WORDS[version][abbr.slice(1)]![value]!;
  return other[value] ?? GENERIC_VALUE_WORDS[value] ?? value;
}

/** The metrics of a version in the specification's order, each value with its name, for a calculator that builds vectors (the desk's triage form). */
export function listCvssMetrics(version: CvssVersion): Array<{ abbr: string; name: string; values: readonly string[]; valueNames: Record<string, string>; mandatory: boolean }> {
  return [...SPECS[version]].map(([abbr, spec]) => ({ abbr, ...spec, valueNames: Object.fromEntries(spec.values.map((v) => [v, valueWord(version, abbr, v)])) }));
}

/**
 * A vector in words, metric by metric in the vector's order ("Attack Vector: Network"),
 * for people who do not read the abbreviations. Parts that are no metric of the version are
 * left out; the vector should have been checked before.
 */
export function describeCvssVector(version: CvssVersion, vector: string): Array<{ metric: string; name: string; value: string; valueName: string }> {
  const specs = SPECS[version];
  return vector
    .split("/")
    .slice(1)
    .map((part) => part.split(":") as [string, string | undefined])
    .filter(([abbr, value]) => value !== undefined && specs.has(abbr) && specs.get(abbr)!.values.includes(value))
    .map(([abbr, value]) => ({ metric: abbr, name: specs.get(abbr)!.name, value: value!, valueName: valueWord(version, abbr, value!) }));
}

/** Longer than any valid vector (a complete 4.0 vector with every optional metric is about 230 characters). */
export const MAX_VECTOR_LENGTH = 400;

export type CvssCheck = { ok: true } | { ok: false; problem: string };

function joinOr(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
}

/**
 * Checks a vector against the specification of `version`. The problem, when there is
 * one, names what is wrong in words a triager can act on.
 */
export function checkCvssVector(version: CvssVersion, vector: string): CvssCheck {
  const fail = (problem: string): CvssCheck => ({ ok: false, problem });
  const prefix = `CVSS:${version}/`;
  if (vector.length > MAX_VECTOR_LENGTH) return fail(`is too long to be a CVSS ${version} vector`);
  if (/\s/.test(vector)) return fail("must not contain spaces or line breaks");
  if (!vector.startsWith(prefix)) {
    const other = CVSS_VERSIONS.find((v) => v !== version && vector.startsWith(`CVSS:${v}/`));
    if (other) return fail(`is a CVSS ${other} vector; this field takes CVSS ${version} vectors starting with "${prefix}"`);
    return fail(`must start with "${prefix}"`);
  }
  const specs = SPECS[version];
  const order = [...specs.keys()];
  const parts = vector.slice(prefix.length).split("/");
  const seen = new Map<string, number>();
  let previous = -1;
  for (const [index, part] of parts.entries()) {
    if (part === "") return fail(index === parts.length - 1 ? 'must not end with "/"' : 'has an empty metric ("//")');
    const colon = part.indexOf(":");
    if (colon <= 0 || colon === part.length - 1) return fail(`has "${part}" where a metric like "AV:N" belongs`);
    const name = part.slice(0, colon);
    const value = part.slice(colon + 1);
    const spec = specs.get(name);
    if (!spec) return fail(`has an unknown metric "${name}" (metric names are case-sensitive)`);
    if (seen.has(name)) return fail(`has the metric ${name} more than once`);
    if (!spec.values.includes(value)) return fail(`has ${name}:${value}, but ${name} (${spec.name}) takes ${joinOr(spec.values)}`);
    const position = order.indexOf(name);
    if (version === "4.0" && position < previous) {
      return fail(`lists ${name} after ${order[previous]}; CVSS 4.0 requires the order of its specification (${order.slice(0, 11).join("/")}/…)`);
    }
    previous = Math.max(previous, position);
    seen.set(name, position);
  }
  const missing = order.filter((name) => specs.get(name)!.mandatory && !seen.has(name));
  if (missing.length) {
    const names = missing.map((name) => `${name} (${specs.get(name)!.name})`);
    return fail(`is missing the mandatory metric${missing.length > 1 ? "s" : ""} ${joinOr(names)}`);
  }
  return { ok: true };
}

/** The qualitative rating both specifications give a score (3.1 section 5, 4.0 section 6). */
export function rateCvssScore(score: number): CvssRating {
  if (score === 0) return "none";
  if (score < 4) return "low";
  if (score < 7) return "medium";
  if (score < 9) return "high";
  return "critical";
}

export class InvalidCvssVectorError extends Error {
  constructor(
    readonly version: CvssVersion,
    readonly problem: string,
  ) {
    super(`The CVSS ${version} vector ${problem}.`);
    this.name = "InvalidCvssVectorError";
  }
}

/**
 * Validates and scores a vector.
 * @throws InvalidCvssVectorError when the vector does not follow the specification
 */
export function scoreCvssVector(version: CvssVersion, vector: string): CvssScore {
  const check = checkCvssVector(version, vector);
  if (!check.ok) throw new InvalidCvssVectorError(version, check.problem);
  const calculator = cvssCalculator();
  const cvss = version === "3.1" ? new calculator.Cvss3P1(vector) : new calculator.Cvss4P0(vector);
  const score = Math.round(cvss.calculateScores().overall * 10) / 10;
  return { version, vector, score, rating: rateCvssScore(score) };
}

// The calculator (CommonJS) is required with the first score, not at import: start-up
// time, decision 0013.
const require = createRequire(import.meta.url);
let calculatorModule: typeof import("ae-cvss-calculator") | undefined;
function cvssCalculator(): typeof import("ae-cvss-calculator") {
  return (calculatorModule ??= require("ae-cvss-calculator") as typeof import("ae-cvss-calculator"));
}
