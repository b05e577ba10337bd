import { describe, expect, it } from "vitest";
import { checkEscalation, creditFor, stateAfterReporterReply } from "./reporter-side.js";

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
