import { describe, expect, it } from "vitest";
import { DomainError } from "../../shared/errors.js";
import { assessmentForm, bountyForm, createUpstreamForm, messageForm, ownerForm, readForm, transitionForm } from "./report-forms.js";

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("the form was accepted");
}

describe("the report page's forms", () => {
  it("reads a reply and an internal note into the API's message body", () => {
    expect(readForm(messageForm, { _csrf: "x", kind: "reply", body: "Thanks" })).toEqual({ body: "Thanks", internal: false });
    expect(readForm(messageForm, { kind: "note", body: "Looks real" })).toEqual({ body: "Looks real", internal: true });
    const empty = refusal(() => readForm(messageForm, { kind: "note", body: "  " }));
    expect(empty.fields).toEqual({ body: "is required" });
    expect(empty.message).toBe("Please correct this field: body.");
    // Which of the two it is comes from the button pressed, never from a default.
    expect(refusal(() => readForm(messageForm, { body: "Which one?" })).fields).toEqual({ kind: "choose whether it goes to the reporter or stays an internal note" });
  });

  it("asks for the question when asking the reporter for information, and for the earlier report of a duplicate", () => {
    expect(refusal(() => readForm(transitionForm, { to: "needs_info", reason: "unclear", message: " " })).fields).toEqual({ message: "is required: the reporter is asked this" });
    expect(refusal(() => readForm(transitionForm, { to: "duplicate", reason: "seen it" })).fields).toEqual({ duplicateOf: "is required: the number of the earlier report" });
    expect(readForm(transitionForm, { to: "duplicate", reason: "seen it", duplicateOf: "other", duplicateOfOther: " #12 " })).toMatchObject({ to: "duplicate", duplicateOf: 12 });
    expect(readForm(transitionForm, { to: "duplicate", reason: "seen it", duplicateOf: "7" })).toMatchObject({ duplicateOf: 7 });
    expect(refusal(() => readForm(transitionForm, { to: "resolved" })).fields).toEqual({ reason: "is required: say why" });
  });

  it("refuses a bounty amount that is not a number and a date that is not one, by the form's field names", () => {
    const refused = refusal(() => readForm(bountyForm, { eligible: "yes", amount: "lots", awardedAt: "2026-13-40", paidAt: "" }));
    expect(refused.fields).toEqual({ amount: "must be a number, e.g. 500 or 250.50", awardedAt: "must be a date YYYY-MM-DD" });
    expect(refused.message).toBe("Please correct these fields: amount, awardedAt.");
    expect(refusal(() => readForm(bountyForm, { eligible: "yes", amount: "-5" })).fields).toEqual({ amount: "must not be negative" });
    expect(readForm(bountyForm, { eligible: "yes", amount: "1,500", awardedAt: "2026-03-02" })).toEqual({
      bounty: { eligible: true, reason: null, amount: 1500, awardedAt: "2026-03-02T00:00:00.000Z", paidAt: null },
    });
  });

  it("requires an owner where the API would take no change", () => {
    expect(refusal(() => readForm(ownerForm, { ownerEmail: " " })).fields).toEqual({ ownerEmail: "is required" });
    expect(readForm(ownerForm, { ownerEmail: " ann@example.org " })).toEqual({ ownerEmail: "ann@example.org" });
  });

  it("reads an absent or oversized field as empty, and empty as none", () => {
    expect(readForm(assessmentForm, { cvss31Vector: "x".repeat(501), severity: "", cwe: "CWE-79 Cross-site Scripting" })).toMatchObject({
      cvss31Vector: null,
      severity: null,
      cwe: "CWE-79",
      asset: null,
    });
    expect(readForm(createUpstreamForm, { project: "libfoo", status: "notified", embargoUntil: "" })).toMatchObject({ project: "libfoo", embargoUntil: null, status: "notified" });
    expect(refusal(() => readForm(createUpstreamForm, undefined)).fields).toMatchObject({ project: "is required" });
  });
});
