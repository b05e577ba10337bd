import { describe, expect, it } from "vitest";
import { FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { buildNewReport } from "../../../test/factories.js";
import { applyTransition, arrivingReport, checkTransition, CLOSING_STATES, REPORT_STATES, TRANSITIONS, type Report, type ReportState, type TransitionInput } from "./report.js";

/**
 * The lifecycle of PRODUCT.md written out by hand, independent of `TRANSITIONS`: if the
 * table drifts from the product, these tests say so.
 */
const CLOSE_EARLY = ["duplicate", "informative", "not_applicable", "spam", "routed_to_support"];
const CLOSE_LATE = ["duplicate", "informative", "not_applicable"];
const LIFECYCLE: Record<ReportState, string[]> = {
  new: ["acknowledged", ...CLOSE_EARLY],
  acknowledged: ["triaged", "needs_info", ...CLOSE_EARLY],
  needs_info: ["acknowledged", "triaged", ...CLOSE_EARLY],
  triaged: ["resolved", "needs_info", ...CLOSE_LATE],
  resolved: ["disclosed", "triaged"],
  disclosed: [],
  duplicate: ["acknowledged"],
  informative: ["acknowledged"],
  not_applicable: ["acknowledged"],
  spam: ["acknowledged"],
  routed_to_support: ["acknowledged"],
};

function buildReport(overrides: Partial<Report> = {}): Report {
  const at = "2026-03-02T09:00:00.000Z";
  return { id: 7, ...arrivingReport(buildNewReport({ receivedAt: at, updatedAt: at })), ...overrides };
}

/** Checks and applies a transition as the service does; throws with the reason if refused. */
function move(report: Report, input: TransitionInput, clock: FakeClock): Report {
  const check = checkTransition(report, input);
  if (!check.ok) throw new Error(check.why);
  return { ...report, ...applyTransition(report, input, clock.now()) };
}

/** Every guard satisfied: an owner, a severity, another report to duplicate, an advisory, a message. */
const satisfied = (to: ReportState): TransitionInput => ({ to, ownerId: 3, severity: "high", duplicateOf: 99, viaAdvisory: true, message: "Which version?" });

describe("the report lifecycle table", () => {
  it("is the lifecycle of the product brief", () => {
    for (const state of REPORT_STATES) expect([...TRANSITIONS[state]].sort(), state).toEqual([...LIFECYCLE[state]].sort());
  });

  const pairs = REPORT_STATES.flatMap((from) => REPORT_STATES.map((to) => [from, to] as const));
  const legal = pairs.filter(([from, to]) => LIFECYCLE[from].includes(to));
  const illegal = pairs.filter(([from, to]) => !LIFECYCLE[from].includes(to));

  it("has both legal and illegal moves to check", () => {
    expect(legal.length).toBe(Object.values(LIFECYCLE).flat().length);
    expect(legal.length + illegal.length).toBe(REPORT_STATES.length ** 2);
  });

  it.each(legal)("allows %s → %s when its guards are met", (from, to) => {
    const report = buildReport({ state: from, ownerId: 3, severity: "high", stateBeforeNeedsInfo: from === "needs_info" ? "acknowledged" : null });
    expect(checkTransition(report, satisfied(to))).toEqual({ ok: true });
  });

  it.each(illegal)("refuses %s → %s with a reason a person can read", (from, to) => {
    const report = buildReport({ state: from, ownerId: 3, severity: "high", stateBeforeNeedsInfo: from === "needs_info" ? "acknowledged" : null });
    const check = checkTransition(report, satisfied(to));
    expect(check.ok).toBe(false);
    const why = (check as { why: string }).why;
    if (from === to) expect(why).toBe(`the report is already ${from}.`);
    else if (from === "disclosed") expect(why).toBe("disclosed is final.");
    else expect(why).toBe(`from ${from} it can only go to ${LIFECYCLE[from].join(", ")}.`);
  });
});

describe("transition guards", () => {
  it("refuses to acknowledge a report without an owner, and accepts one given with the move", () => {
    const report = buildReport();
    expect(checkTransition(report, { to: "acknowledged" })).toEqual({ ok: false, why: "an acknowledged report needs an owner." });
    expect(checkTransition(report, { to: "acknowledged", ownerId: null })).toMatchObject({ ok: false });
    expect(checkTransition(report, { to: "acknowledged", ownerId: 4 })).toEqual({ ok: true });
    expect(checkTransition(buildReport({ ownerId: 4 }), { to: "acknowledged" })).toEqual({ ok: true });
  });

  it("refuses to triage a report without an owner", () => {
    const report = buildReport({ state: "acknowledged", ownerId: null, severity: "high" });
    expect(checkTransition(report, { to: "triaged" })).toEqual({ ok: false, why: "a triaged report needs an owner." });
    expect(checkTransition(report, { to: "triaged", ownerId: 5 })).toEqual({ ok: true });
  });

  it("refuses to triage a report without a severity", () => {
    const report = buildReport({ state: "acknowledged", ownerId: 3 });
    expect(checkTransition(report, { to: "triaged" })).toEqual({ ok: false, why: "a triaged report needs a severity." });
    expect(checkTransition(buildReport({ state: "acknowledged", ownerId: 3, severity: "low" }), { to: "triaged", severity: null })).toMatchObject({ ok: false });
    expect(checkTransition(report, { to: "triaged", severity: "critical" })).toEqual({ ok: true });
  });

  it("closes a report as a duplicate only of another report", () => {
    const report = buildReport({ id: 12, state: "acknowledged", ownerId: 3 });
    expect(checkTransition(report, { to: "duplicate" })).toEqual({ ok: false, why: "name the report it duplicates (duplicateOf)." });
    expect(checkTransition(report, { to: "duplicate", duplicateOf: null })).toMatchObject({ ok: false });
    expect(checkTransition(report, { to: "duplicate", duplicateOf: 12 })).toEqual({ ok: false, why: "a report cannot duplicate itself." });
    expect(checkTransition(report, { to: "duplicate", duplicateOf: 11 })).toEqual({ ok: true });
  });

  it("discloses a report only through an advisory", () => {
    const report = buildReport({ state: "resolved", ownerId: 3, severity: "high" });
    expect(checkTransition(report, { to: "disclosed" })).toEqual({ ok: false, why: "a report is disclosed only by publishing an advisory that links it." });
    expect(checkTransition(report, { to: "disclosed", viaAdvisory: false })).toMatchObject({ ok: false });
    expect(checkTransition(report, { to: "disclosed", viaAdvisory: true })).toEqual({ ok: true });
    expect(checkTransition(buildReport({ state: "triaged", ownerId: 3, severity: "high" }), { to: "disclosed", viaAdvisory: true })).toMatchObject({ ok: false });
  });

  it("asks the reporter for information only with a message saying what is needed", () => {
    const report = buildReport({ state: "acknowledged", ownerId: 3 });
    const refused = { ok: false, why: "say what you need from the reporter (message): they are asked to answer it." };
    expect(checkTransition(report, { to: "needs_info" })).toEqual(refused);
    expect(checkTransition(report, { to: "needs_info", message: " \n " })).toEqual(refused);
    expect(checkTransition(report, { to: "needs_info", message: "Which version?" })).toEqual({ ok: true });
  });

  it("returns a report that waited for information to triaged when it was triaged before", () => {
    const clock = new FakeClock();
    let report = buildReport({ state: "triaged", ownerId: 3, severity: "medium", acknowledgedAt: clock.now().toISOString(), triagedAt: clock.now().toISOString() });
    report = move(report, { to: "needs_info", message: "Which version?" }, clock);
    expect(report.stateBeforeNeedsInfo).toBe("triaged");
    expect(checkTransition(report, { to: "acknowledged" })).toEqual({ ok: false, why: "it was triaged before it waited for information; it returns to triaged." });
    report = move(report, { to: "triaged" }, clock);
    expect(report).toMatchObject({ state: "triaged", stateBeforeNeedsInfo: null, needsInfoSince: null });
  });

  it("returns a report that waited for information to acknowledged when it was acknowledged before", () => {
    const clock = new FakeClock();
    let report = move(buildReport(), { to: "acknowledged", ownerId: 3 }, clock);
    report = move(report, { to: "needs_info", message: "Which version?" }, clock);
    expect(report.stateBeforeNeedsInfo).toBe("acknowledged");
    report = move(report, { to: "acknowledged" }, clock);
    expect(report).toMatchObject({ state: "acknowledged", stateBeforeNeedsInfo: null, needsInfoSince: null, ownerId: 3 });
  });
});

describe("milestones and clocks", () => {
  it.each(CLOSING_STATES)("sets closedAt when a report is closed as %s", (outcome) => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    const report = buildReport({ state: "acknowledged", ownerId: 3 });
    clock.advance(5 * MINUTE);
    const closed = move(report, { to: outcome, duplicateOf: 1 }, clock);
    expect(closed.state).toBe(outcome);
    expect(closed.closedAt).toBe("2026-03-02T09:05:00.000Z");
    expect(closed.updatedAt).toBe("2026-03-02T09:05:00.000Z");
    expect(closed.duplicateOf).toBe(outcome === "duplicate" ? 1 : null);
  });

  it("clears closedAt and duplicateOf when a closed report is reopened, and keeps the first acknowledgement", () => {
    const clock = new FakeClock();
    let report = move(buildReport(), { to: "acknowledged", ownerId: 3 }, clock);
    const firstAcknowledged = report.acknowledgedAt;
    clock.advance(HOUR);
    report = move(report, { to: "duplicate", duplicateOf: 2 }, clock);
    expect(report).toMatchObject({ closedAt: clock.now().toISOString(), duplicateOf: 2 });
    clock.advance(HOUR);
    report = move(report, { to: "acknowledged" }, clock);
    expect(report).toMatchObject({ state: "acknowledged", closedAt: null, duplicateOf: null, acknowledgedAt: firstAcknowledged });
  });

  it("records triage, resolution and disclosure times, and forgets the resolution when the fix did not hold", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let report = move(buildReport(), { to: "acknowledged", ownerId: 3 }, clock);
    clock.advance(HOUR);
    report = move(report, { to: "triaged", severity: "critical" }, clock);
    expect(report).toMatchObject({ triagedAt: "2026-03-02T10:00:00.000Z", severity: "critical" });
    clock.advance(HOUR);
    report = move(report, { to: "resolved" }, clock);
    expect(report.resolvedAt).toBe("2026-03-02T11:00:00.000Z");
    clock.advance(HOUR);
    report = move(report, { to: "triaged" }, clock);
    expect(report).toMatchObject({ resolvedAt: null, triagedAt: "2026-03-02T10:00:00.000Z" });
    report = move(report, { to: "resolved" }, clock);
    clock.advance(HOUR);
    report = move(report, { to: "disclosed", viaAdvisory: true }, clock);
    expect(report).toMatchObject({ state: "disclosed", disclosedAt: "2026-03-02T13:00:00.000Z" });
  });

  it("pauses the clocks while the report waits for its reporter, adding up every pause", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let report = move(buildReport(), { to: "acknowledged", ownerId: 3 }, clock);
    clock.advance(HOUR);
    report = move(report, { to: "needs_info", message: "Which version?" }, clock);
    expect(report.needsInfoSince).toBe("2026-03-02T10:00:00.000Z");
    expect(report.pausedMs).toBe(0);
    clock.advance(2 * HOUR);
    report = move(report, { to: "triaged", severity: "low" }, clock);
    expect(report.pausedMs).toBe(2 * HOUR);
    expect(report.needsInfoSince).toBeNull();
    clock.advance(HOUR);
    report = move(report, { to: "needs_info", message: "Which version?" }, clock);
    clock.advance(30 * MINUTE);
    report = move(report, { to: "informative" }, clock);
    expect(report.pausedMs).toBe(2 * HOUR + 30 * MINUTE);
    expect(report).toMatchObject({ needsInfoSince: null, stateBeforeNeedsInfo: null, closedAt: "2026-03-02T13:30:00.000Z" });
  });

  it("does not count time outside needs_info as paused", () => {
    const clock = new FakeClock();
    let report = move(buildReport(), { to: "acknowledged", ownerId: 3 }, clock);
    clock.advance(5 * HOUR);
    report = move(report, { to: "triaged", severity: "high" }, clock);
    clock.advance(5 * HOUR);
    report = move(report, { to: "resolved" }, clock);
    expect(report.pausedMs).toBe(0);
  });
});
