import { describe, expect, it } from "vitest";
import { checkEscalation, creditFor, describeEscalation, escalationRecipients, stateAfterReporterReply } from "./portal.js";

const due = "2026-03-02T11:00:00.000Z";
const at = (iso: string) => new Date(iso);

describe("escalation by the reporter", () => {
  it("is allowed only after the promised first response has passed on a report nobody answered", () => {
    expect(checkEscalation({ state: "new" }, { firstResponse: due }, null, at("2026-03-02T10:59:59.999Z"))).toMatchObject({ ok: false, code: "not_due", availableAt: due });
    expect(checkEscalation({ state: "new" }, { firstResponse: due }, null, at(due))).toEqual({ ok: true });
  });

  it("is refused once a person has answered, or when nothing was promised", () => {
    expect(checkEscalation({ state: "acknowledged" }, { firstResponse: due }, null, at("2026-03-03T00:00:00Z"))).toMatchObject({ ok: false, code: "answered" });
    expect(checkEscalation({ state: "spam" }, { firstResponse: due }, null, at("2026-03-03T00:00:00Z"))).toMatchObject({ ok: false, code: "answered" });
    expect(checkEscalation({ state: "new" }, { firstResponse: null }, null, at("2026-03-03T00:00:00Z"))).toMatchObject({ ok: false, code: "no_promise" });
  });

  it("waits 12 hours between two escalations", () => {
    const last = "2026-03-02T12:00:00.000Z";
    expect(checkEscalation({ state: "new" }, { firstResponse: due }, last, at("2026-03-02T23:59:59.999Z"))).toMatchObject({
      ok: false,
      code: "cooling_down",
      availableAt: "2026-03-03T00:00:00.000Z",
    });
    expect(checkEscalation({ state: "new" }, { firstResponse: due }, last, at("2026-03-03T00:00:00.000Z"))).toEqual({ ok: true });
  });
});

describe("the escalation page to the team", () => {
  const report = { id: 7, channel: "account_attack" as const, title: "Locked out", receivedAt: "2026-03-02T09:00:00.000Z" };

  it("links to the report's desk page, writes times in the settings' time zone with the zone named, and counts in agreeing nouns", () => {
    const page = describeEscalation(report, due, "2026-03-02T11:01:00.000Z", "https://security.example.test", "Europe/Berlin");
    expect(page.text).toContain("Answer the reporter and acknowledge the report: https://security.example.test/desk/reports/7");
    expect(page.text).toContain("Received: Mon 2 Mar 2026, 10:00 CET (Europe/Berlin)");
    expect(page.text).toContain("Promised first response by: Mon 2 Mar 2026, 12:00 CET (Europe/Berlin) (overdue by 1 minute)");
    expect(page.webhookText).toContain("(1 minute ago)");
    expect(page.webhookText).toContain("https://security.example.test/desk/reports/7");
    expect(page.text).not.toContain("/api/");
    expect(describeEscalation(report, due, "2026-03-03T11:00:00.000Z", "https://s.example", "UTC").text).toContain("Mon 2 Mar 2026, 11:00 UTC (overdue by 24 hours)");
    expect(describeEscalation(report, due, "2026-03-05T11:00:00.000Z", "https://s.example", "UTC").text).toContain("(overdue by 3 days)");
  });
});

describe("the reporter's answer", () => {
  it("returns a report waiting for information to the state it came from", () => {
    expect(stateAfterReporterReply({ state: "needs_info", stateBeforeNeedsInfo: "triaged" })).toBe("triaged");
    expect(stateAfterReporterReply({ state: "needs_info", stateBeforeNeedsInfo: "acknowledged" })).toBe("acknowledged");
    expect(stateAfterReporterReply({ state: "acknowledged", stateBeforeNeedsInfo: null })).toBeNull();
    expect(stateAfterReporterReply({ state: "new", stateBeforeNeedsInfo: null })).toBeNull();
  });
});

describe("credit", () => {
  it("follows the submission's rule: anonymous or nothing given means no credit, a link alone credits the reporter's name", () => {
    expect(creditFor("Ada", undefined)).toEqual({ creditName: null, creditUrl: null });
    expect(creditFor("Ada", { name: "A. L.", anonymous: true })).toEqual({ creditName: null, creditUrl: null });
    expect(creditFor("Ada", { url: "https://ada.example" })).toEqual({ creditName: "Ada", creditUrl: "https://ada.example" });
    expect(creditFor("Ada", { name: "A. L." })).toEqual({ creditName: "A. L.", creditUrl: null });
  });
});

describe("who is paged", () => {
  const member = (email: string, role: string, disabledAt: string | null = null) => ({ email, role, disabledAt });
  it("pages enabled admins and triagers, not viewers", () => {
    expect(escalationRecipients([member("a@x", "admin"), member("t@x", "triager"), member("v@x", "viewer"), member("d@x", "admin", "2026-01-01")], "sec@x")).toEqual(["a@x", "t@x"]);
  });
  it("falls back to the security address without a team", () => {
    expect(escalationRecipients([member("v@x", "viewer")], "sec@x")).toEqual(["sec@x"]);
  });
});
