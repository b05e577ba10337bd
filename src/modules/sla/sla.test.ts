import { describe, expect, it } from "vitest";
import { DAY, FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { businessCalendarSchema, DEFAULT_SETTINGS, settingsSchema, type BusinessCalendar, type Settings } from "../settings/index.js";
import { alertFor, computeDeadlines, disclosureDeadlineOf, evaluateServiceLevels, pausesFromTransitions, type SlaReport, type SlaTarget, type TargetStatus } from "./sla.js";

/** Monday to Friday, 09:00–17:00 in Berlin. */
const BERLIN_OFFICE: BusinessCalendar = {
  timeZone: "Europe/Berlin",
  workingDays: ["mon", "tue", "wed", "thu", "fri"],
  opensAt: "09:00",
  closesAt: "17:00",
  holidays: [],
};

function settingsWith(overrides: { calendar?: BusinessCalendar | null; firstResponse?: number | null; triage?: number | null } = {}): Settings {
  return {
    ...DEFAULT_SETTINGS,
    targets: {
      ...DEFAULT_SETTINGS.targets,
      vulnerability: {
        firstResponse: overrides.firstResponse === undefined ? 8 * 60 : overrides.firstResponse,
        triage: overrides.triage === undefined ? 40 * 60 : overrides.triage,
      },
    },
    calendars: { account_attack: null, vulnerability: overrides.calendar === undefined ? BERLIN_OFFICE : overrides.calendar, sensitive: null },
  };
}

function report(overrides: Partial<SlaReport> = {}): SlaReport {
  return {
    channel: "vulnerability",
    state: "new",
    severity: null,
    receivedAt: "2026-03-02T08:00:00.000Z",
    acknowledgedAt: null,
    triagedAt: null,
    resolvedAt: null,
    closedAt: null,
    pausedMs: 0,
    needsInfoSince: null,
    ...overrides,
  };
}

function clockOf(statuses: TargetStatus[], target: SlaTarget): TargetStatus {
  const found = statuses.find((s) => s.target === target);
  if (!found) throw new Error(`no ${target} clock`);
  return found;
}

describe("service-level clocks around the clock", () => {
  const settings = settingsWith({ calendar: null });

  it("gives an account under attack two hours, 24/7, and warns at three quarters", () => {
    const clock = new FakeClock("2026-03-07T22:00:00.000Z"); // a Saturday night
    const r = report({ channel: "account_attack", receivedAt: clock.now().toISOString() });
    clock.advance(HOUR);
    let first = clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse");
    expect(first).toMatchObject({ dueAt: "2026-03-08T00:00:00.000Z", elapsedShare: 0.5, state: "running" });
    expect(alertFor(first)).toBeNull();
    clock.advance(30 * MINUTE);
    first = clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse");
    expect(first.elapsedShare).toBe(0.75);
    expect(alertFor(first)).toBe("warning");
    clock.advance(31 * MINUTE);
    first = clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse");
    expect(first.state).toBe("missed");
    expect(first.elapsedShare).toBeGreaterThan(1);
    expect(alertFor(first)).toBe("missed");
  });

  it("is not missed at the very minute it is due", () => {
    const r = report({ channel: "account_attack" });
    const atDue = new Date(Date.parse(r.receivedAt) + 2 * HOUR);
    expect(clockOf(evaluateServiceLevels(r, settings, atDue), "firstResponse")).toMatchObject({ state: "running", elapsedShare: 1 });
    expect(alertFor(clockOf(evaluateServiceLevels(r, settings, atDue), "firstResponse"))).toBe("warning");
  });

  it("stops the first-response clock at the acknowledgement: met in time, missed when late", () => {
    const received = Date.parse("2026-03-02T08:00:00.000Z");
    const later = new Date(received + 5 * HOUR);
    const inTime = report({ channel: "account_attack", state: "acknowledged", acknowledgedAt: new Date(received + 90 * MINUTE).toISOString() });
    expect(clockOf(evaluateServiceLevels(inTime, settings, later), "firstResponse")).toMatchObject({ state: "met", elapsedShare: 0.75, stoppedAt: inTime.acknowledgedAt });
    const late = report({ channel: "account_attack", state: "acknowledged", acknowledgedAt: new Date(received + 3 * HOUR).toISOString() });
    const status = clockOf(evaluateServiceLevels(late, settings, later), "firstResponse");
    expect(status).toMatchObject({ state: "missed", elapsedShare: 1.5 });
    // History: nobody needs telling about a miss that is already over.
    expect(alertFor(status)).toBeNull();
  });

  it("keeps the triage clock running after the acknowledgement and stops it at triage", () => {
    const r = report({ channel: "sensitive", state: "acknowledged", acknowledgedAt: "2026-03-02T09:00:00.000Z" });
    const statuses = evaluateServiceLevels(r, settings, new Date("2026-03-04T08:00:00.000Z"));
    expect(clockOf(statuses, "firstResponse").state).toBe("met");
    expect(clockOf(statuses, "triage")).toMatchObject({ state: "running", dueAt: "2026-03-07T08:00:00.000Z", elapsedShare: 0.4 });
    const triaged = { ...r, state: "triaged" as const, severity: "low" as const, triagedAt: "2026-03-05T08:00:00.000Z" };
    expect(clockOf(evaluateServiceLevels(triaged, settings, new Date("2026-03-09T08:00:00.000Z")), "triage")).toMatchObject({ state: "met", elapsedShare: 0.6 });
  });

  it("pauses while the report waits for its reporter and adds the wait to every running deadline", () => {
    const r = report({ channel: "sensitive", state: "needs_info", acknowledgedAt: "2026-03-02T09:00:00.000Z", needsInfoSince: "2026-03-03T08:00:00.000Z" });
    const clock = new FakeClock("2026-03-04T08:00:00.000Z");
    const paused = clockOf(evaluateServiceLevels(r, settings, clock.now()), "triage");
    expect(paused).toMatchObject({ state: "paused", elapsedShare: 0.2, dueAt: "2026-03-08T08:00:00.000Z" });
    clock.advance(DAY);
    // Still paused: the share does not move and the deadline keeps sliding.
    expect(clockOf(evaluateServiceLevels(r, settings, clock.now()), "triage")).toMatchObject({ state: "paused", elapsedShare: 0.2, dueAt: "2026-03-09T08:00:00.000Z" });
    // Resumed after 2 days: the row now says pausedMs = 2 days; with or without the history the answer is the same on a 24/7 channel.
    const resumed = { ...r, state: "acknowledged" as const, needsInfoSince: null, pausedMs: 2 * DAY };
    const now = new Date("2026-03-06T08:00:00.000Z");
    const withoutHistory = clockOf(evaluateServiceLevels(resumed, settings, now), "triage");
    const withHistory = clockOf(evaluateServiceLevels(resumed, settings, now, [{ from: "2026-03-03T08:00:00.000Z", to: "2026-03-05T08:00:00.000Z" }]), "triage");
    expect(withoutHistory).toMatchObject({ state: "running", elapsedShare: 0.4, dueAt: "2026-03-09T08:00:00.000Z" });
    expect(withHistory).toEqual(withoutHistory);
  });

  it("counts a report that was already late when it was paused as missed", () => {
    const r = report({ channel: "account_attack", state: "needs_info", acknowledgedAt: "2026-03-02T08:30:00.000Z", needsInfoSince: "2026-03-02T13:00:00.000Z" });
    const triage = clockOf(evaluateServiceLevels(r, settings, new Date("2026-03-03T08:00:00.000Z")), "triage");
    expect(triage).toMatchObject({ state: "missed", dueAt: "2026-03-02T12:00:00.000Z" });
  });

  it("moves the resolution deadline when the severity changes", () => {
    const base = report({ state: "triaged", acknowledgedAt: "2026-03-02T09:00:00.000Z", triagedAt: "2026-03-03T09:00:00.000Z" });
    const now = new Date("2026-03-05T08:00:00.000Z");
    expect(evaluateServiceLevels({ ...base, severity: null }, settings, now).map((s) => s.target)).toEqual(["firstResponse", "triage"]);
    expect(evaluateServiceLevels({ ...base, severity: "none" }, settings, now).map((s) => s.target)).toEqual(["firstResponse", "triage"]);
    const high = clockOf(evaluateServiceLevels({ ...base, severity: "high" }, settings, now), "resolution");
    expect(high).toMatchObject({ dueAt: "2026-04-01T08:00:00.000Z", state: "running", minutes: 30 * 24 * 60 });
    const critical = clockOf(evaluateServiceLevels({ ...base, severity: "critical" }, settings, now), "resolution");
    expect(critical).toMatchObject({ dueAt: "2026-03-09T08:00:00.000Z", state: "running" });
    expect(critical.elapsedShare).toBeCloseTo(3 / 7, 10);
    expect(computeDeadlines({ ...base, severity: "critical" }, settings, now).resolution).toBe("2026-03-09T08:00:00.000Z");
  });

  it("stops the resolution clock at resolution and every clock when the report is closed", () => {
    const resolved = report({ state: "resolved", severity: "critical", acknowledgedAt: "2026-03-02T09:00:00.000Z", triagedAt: "2026-03-02T10:00:00.000Z", resolvedAt: "2026-03-10T08:00:00.000Z" });
    expect(clockOf(evaluateServiceLevels(resolved, settings, new Date("2026-04-01T00:00:00.000Z")), "resolution")).toMatchObject({ state: "missed", stoppedAt: "2026-03-10T08:00:00.000Z" });
    const spam = report({ state: "spam", closedAt: "2026-03-02T09:00:00.000Z" });
    expect(evaluateServiceLevels(spam, settings, new Date("2026-04-01T00:00:00.000Z")).map((s) => s.state)).toEqual(["met", "met"]);
  });

  it("tracks nothing on the support channel", () => {
    expect(evaluateServiceLevels(report({ channel: "support" }), settings, new Date())).toEqual([]);
    expect(computeDeadlines(report({ channel: "support" }), settings, new Date("2026-03-02T09:00:00.000Z"))).toEqual({ firstResponse: null, triage: null, resolution: null });
  });

  it("leaves a target out when its setting is empty", () => {
    const none = settingsWith({ calendar: null, firstResponse: null });
    expect(evaluateServiceLevels(report(), none, new Date("2026-03-02T09:00:00.000Z")).map((s) => s.target)).toEqual(["triage"]);
  });
});

describe("service-level clocks in business hours", () => {
  const settings = settingsWith();

  it("runs only inside opening hours on working days: a Friday afternoon report is due on Monday", () => {
    // Friday 6 March 2026, 16:00 in Berlin (CET, UTC+1); 8 business hours.
    const r = report({ receivedAt: "2026-03-06T15:00:00.000Z" });
    const clock = new FakeClock("2026-03-06T15:30:00.000Z");
    expect(clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse")).toMatchObject({ dueAt: "2026-03-09T15:00:00.000Z", elapsedShare: 0.0625 });
    clock.set("2026-03-08T12:00:00.000Z"); // Sunday: one hour used, nothing more.
    expect(clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse")).toMatchObject({ state: "running", elapsedShare: 0.125 });
    clock.set("2026-03-09T14:00:00.000Z"); // Monday 15:00: seven of eight hours used.
    const monday = clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse");
    expect(monday.elapsedShare).toBe(0.875);
    expect(alertFor(monday)).toBe("warning");
    clock.set("2026-03-09T15:01:00.000Z");
    expect(clockOf(evaluateServiceLevels(r, settings, clock.now()), "firstResponse").state).toBe("missed");
  });

  it("does not count the evening: a report received at 20:00 starts its clock at 09:00 the next day", () => {
    const r = report({ receivedAt: "2026-03-03T19:00:00.000Z" }); // Tuesday 20:00 CET
    expect(clockOf(evaluateServiceLevels(r, settings, new Date("2026-03-04T07:59:00.000Z")), "firstResponse")).toMatchObject({
      state: "running",
      elapsedShare: 0,
      dueAt: "2026-03-04T16:00:00.000Z",
    });
    expect(clockOf(evaluateServiceLevels(r, settings, new Date("2026-03-04T12:00:00.000Z")), "firstResponse").elapsedShare).toBe(0.5);
  });

  it("starts a report received on a Saturday on Monday morning", () => {
    const r = report({ receivedAt: "2026-03-07T10:00:00.000Z" });
    const first = clockOf(evaluateServiceLevels(r, settings, new Date("2026-03-08T20:00:00.000Z")), "firstResponse");
    expect(first).toMatchObject({ elapsedShare: 0, state: "running", dueAt: "2026-03-09T16:00:00.000Z" });
  });

  it("skips holidays", () => {
    // Thursday 2 April 2026, 16:00 CEST; Good Friday and Easter Monday are holidays.
    const easter = settingsWith({ calendar: { ...BERLIN_OFFICE, holidays: ["2026-04-03", "2026-04-06"] } });
    const r = report({ receivedAt: "2026-04-02T14:00:00.000Z" });
    expect(computeDeadlines(r, easter, new Date("2026-04-02T14:00:00.000Z")).firstResponse).toBe("2026-04-07T14:00:00.000Z");
    const goodFriday = settingsWith({ calendar: { ...BERLIN_OFFICE, holidays: ["2026-04-03"] } });
    expect(computeDeadlines(r, goodFriday, new Date("2026-04-02T14:00:00.000Z")).firstResponse).toBe("2026-04-06T14:00:00.000Z");
    expect(computeDeadlines(r, settings, new Date("2026-04-02T14:00:00.000Z")).firstResponse).toBe("2026-04-03T14:00:00.000Z");
    expect(clockOf(evaluateServiceLevels(r, easter, new Date("2026-04-06T12:00:00.000Z")), "firstResponse").elapsedShare).toBe(0.125);
  });

  it("keeps 09:00 local across the change to summer time in Europe/Berlin", () => {
    // Friday 27 March 16:00 CET; clocks go forward on Sunday 29 March; Monday 09:00 CEST is 07:00 UTC.
    const r = report({ receivedAt: "2026-03-27T15:00:00.000Z" });
    expect(computeDeadlines(r, settings, new Date("2026-03-27T15:00:00.000Z")).firstResponse).toBe("2026-03-30T14:00:00.000Z");
    expect(clockOf(evaluateServiceLevels(r, settings, new Date("2026-03-30T07:00:00.000Z")), "firstResponse").elapsedShare).toBe(0.125);
    expect(clockOf(evaluateServiceLevels(r, settings, new Date("2026-03-30T08:00:00.000Z")), "firstResponse").elapsedShare).toBe(0.25);
  });

  it("keeps 09:00 local across the change back to winter time", () => {
    // Friday 23 October 16:00 CEST; Monday 26 October 16:00 CET is 15:00 UTC.
    const r = report({ receivedAt: "2026-10-23T14:00:00.000Z" });
    expect(computeDeadlines(r, settings, new Date("2026-10-23T14:00:00.000Z")).firstResponse).toBe("2026-10-26T15:00:00.000Z");
  });

  it("counts a 23-hour day as 23 hours when the calendar is open all day", () => {
    const always = settingsWith({ calendar: { ...BERLIN_OFFICE, workingDays: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], opensAt: "00:00", closesAt: "24:00" }, firstResponse: 24 * 60 });
    const r = report({ receivedAt: "2026-03-28T11:00:00.000Z" });
    expect(computeDeadlines(r, always, new Date("2026-03-28T11:00:00.000Z")).firstResponse).toBe("2026-03-29T11:00:00.000Z");
    const autumn = report({ receivedAt: "2026-10-24T11:00:00.000Z" });
    expect(computeDeadlines(autumn, always, new Date("2026-10-24T11:00:00.000Z")).firstResponse).toBe("2026-10-25T11:00:00.000Z");
  });

  it("takes only the business time of a pause off the clock, here a pause over a weekend", () => {
    // 40 business hours to triage. Received Monday 2 March 09:00 CET, acknowledged at once;
    // waiting for the reporter from Friday 16:00 to Monday 10:00 (66 wall hours, 2 business hours).
    const pause = { from: "2026-03-06T15:00:00.000Z", to: "2026-03-09T09:00:00.000Z" };
    const base = report({ acknowledgedAt: "2026-03-02T08:00:00.000Z" });

    const during = { ...base, state: "needs_info" as const, needsInfoSince: pause.from };
    const saturday = clockOf(evaluateServiceLevels(during, settings, new Date("2026-03-07T12:00:00.000Z")), "triage");
    expect(saturday).toMatchObject({ state: "paused", elapsedShare: 39 / 40, dueAt: "2026-03-09T09:00:00.000Z" });
    expect(alertFor(saturday)).toBe("warning");

    const after = { ...base, state: "acknowledged" as const, pausedMs: 66 * HOUR };
    const monday = clockOf(evaluateServiceLevels(after, settings, new Date("2026-03-09T09:30:00.000Z"), [pause]), "triage");
    expect(monday).toMatchObject({ state: "running", elapsedShare: 39.5 / 40, dueAt: "2026-03-09T10:00:00.000Z" });
    // Without the history, the 66 paused hours are credited whole: later, never earlier.
    const guessed = clockOf(evaluateServiceLevels(after, settings, new Date("2026-03-09T09:30:00.000Z")), "triage");
    expect(Date.parse(guessed.dueAt!)).toBeGreaterThan(Date.parse(monday.dueAt!));
    expect(guessed.elapsedShare).toBe(0);
  });

  it("rebuilds ended pauses from the report's state changes", () => {
    const transitions = [
      { at: "2026-03-02T08:00:00.000Z", from: "new", to: "acknowledged" },
      { at: "2026-03-03T08:00:00.000Z", from: "acknowledged", to: "needs_info" },
      { at: "2026-03-03T10:00:00.000Z", from: "needs_info", to: "acknowledged" },
      { at: "2026-03-04T08:00:00.000Z", from: "acknowledged", to: "needs_info" },
      { at: "2026-03-05T08:00:00.000Z", from: "acknowledged", to: "triaged" },
      { at: "2026-03-06T08:00:00.000Z", from: "triaged", to: "needs_info" },
    ];
    // The second pause ended without a recorded state change (3 hours, from pausedMs); the third is running.
    const pauses = pausesFromTransitions(transitions, { pausedMs: 5 * HOUR, needsInfoSince: "2026-03-06T08:00:00.000Z" });
    expect(pauses).toEqual([
      { from: "2026-03-03T08:00:00.000Z", to: "2026-03-03T10:00:00.000Z" },
      { from: "2026-03-04T08:00:00.000Z", to: "2026-03-04T11:00:00.000Z" },
    ]);
  });

  it("leaves account attacks around the clock while another channel keeps office hours", () => {
    const r = report({ channel: "account_attack", receivedAt: "2026-03-07T22:00:00.000Z" });
    expect(computeDeadlines(r, settings, new Date("2026-03-07T22:00:00.000Z")).firstResponse).toBe("2026-03-08T00:00:00.000Z");
  });
});

describe("business-hours calendar settings", () => {
  it("accepts a calendar with a time zone, working days, hours and holidays", () => {
    expect(businessCalendarSchema.safeParse(BERLIN_OFFICE).success).toBe(true);
    expect(businessCalendarSchema.safeParse({ ...BERLIN_OFFICE, timeZone: "America/New_York", closesAt: "24:00", holidays: ["2026-12-25"] }).success).toBe(true);
    expect(settingsSchema.shape.calendars.safeParse({ account_attack: null, vulnerability: BERLIN_OFFICE, sensitive: null }).success).toBe(true);
  });

  it.each([
    ["an unknown time zone", { timeZone: "Mars/Olympus_Mons" }, "timeZone"],
    ["an hour past 24", { opensAt: "25:00" }, "opensAt"],
    ["a time past 24:00", { closesAt: "24:30" }, "closesAt"],
    ["closing before opening", { opensAt: "17:00", closesAt: "09:00" }, "closesAt"],
    ["no working day", { workingDays: [] }, "workingDays"],
    ["an unknown day", { workingDays: ["mon", "funday"] }, "workingDays"],
    ["a holiday that is no date", { holidays: ["2026-02-30"] }, "holidays"],
    ["a holiday not in ISO form", { holidays: ["25.12.2026"] }, "holidays"],
  ])("refuses %s", (_what, change, field) => {
    const parsed = businessCalendarSchema.safeParse({ ...BERLIN_OFFICE, ...change });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => String(i.path[0]))).toContain(field);
  });
});

describe("the disclosure deadline", () => {
  const received = { channel: "vulnerability" as const, receivedAt: "2026-03-02T08:00:00.000Z", disclosedAt: null, serviceTerms: { firstResponse: 60, triage: 60, resolution: DEFAULT_SETTINGS.resolutionTargets, calendar: BERLIN_OFFICE, disclosureDays: 90 } };

  it("falls 90 calendar days after receipt, business hours or not, and is missed once past while not disclosed", () => {
    const at = disclosureDeadlineOf({ ...received, state: "resolved" }, DEFAULT_SETTINGS, new Date("2026-05-01T00:00:00Z"));
    expect(at).toEqual({ dueAt: "2026-05-31T08:00:00.000Z", state: "running", stoppedAt: null });
    expect(disclosureDeadlineOf({ ...received, state: "triaged" }, DEFAULT_SETTINGS, new Date("2026-05-31T08:00:01Z"))?.state).toBe("missed");
  });

  it("keeps the days the report was promised, whatever the settings say now", () => {
    const settings = { ...DEFAULT_SETTINGS, advisories: { ...DEFAULT_SETTINGS.advisories, disclosureDeadlineDays: 10 } };
    expect(disclosureDeadlineOf({ ...received, state: "new" }, settings, new Date("2026-03-20T00:00:00Z"))?.dueAt).toBe("2026-05-31T08:00:00.000Z");
  });

  it("is met by a disclosure in time and missed by a late one; none for closed reports and support", () => {
    expect(disclosureDeadlineOf({ ...received, state: "disclosed", disclosedAt: "2026-05-30T00:00:00.000Z" }, DEFAULT_SETTINGS, new Date("2026-09-01T00:00:00Z"))?.state).toBe("met");
    expect(disclosureDeadlineOf({ ...received, state: "disclosed", disclosedAt: "2026-06-30T00:00:00.000Z" }, DEFAULT_SETTINGS, new Date("2026-09-01T00:00:00Z"))).toMatchObject({ state: "missed", stoppedAt: "2026-06-30T00:00:00.000Z" });
    expect(disclosureDeadlineOf({ ...received, state: "duplicate" }, DEFAULT_SETTINGS, new Date("2026-09-01T00:00:00Z"))).toBeNull();
    expect(disclosureDeadlineOf({ ...received, channel: "support", serviceTerms: null, state: "new" }, DEFAULT_SETTINGS, new Date("2026-09-01T00:00:00Z"))).toBeNull();
  });
});
