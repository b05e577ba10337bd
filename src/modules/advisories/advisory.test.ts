import { describe, expect, it } from "vitest";
import { baseVectorOf, checkDisclosureGuard, checkProducts, formatAdvisoryId, mergeCredits } from "./advisory.js";

describe("the disclosure guard", () => {
  const at = new Date("2026-11-10T00:00:00Z");

  it("lets an advisory out when every linked report is resolved (or disclosed) and no embargo holds", () => {
    expect(checkDisclosureGuard([{ id: 1, state: "resolved", embargoes: [] }, { id: 2, state: "disclosed", embargoes: ["2026-11-10"] }], at)).toEqual({ ok: true });
  });

  it("names every report that is not resolved and every embargo not yet passed", () => {
    const check = checkDisclosureGuard([{ id: 1, state: "triaged", embargoes: [] }, { id: 2, state: "resolved", embargoes: ["2026-11-11", "2026-11-01"] }], at);
    expect(check).toMatchObject({ ok: false, why: "report #1 is triaged, not resolved. report #2 is under an upstream embargo until 2026-11-11." });
    expect(check.ok ? [] : check.blockers).toEqual([
      { reportId: 1, reason: "not_resolved", state: "triaged", embargoUntil: null, text: "report #1 is triaged, not resolved." },
      { reportId: 2, reason: "embargoed", state: "resolved", embargoUntil: "2026-11-11", text: "report #2 is under an upstream embargo until 2026-11-11." },
    ]);
  });

  it("lifts an embargo at the start of its day (UTC), not a moment before", () => {
    const report = { id: 3, state: "resolved", embargoes: ["2026-11-10"] };
    expect(checkDisclosureGuard([report], new Date("2026-11-09T23:59:59.999Z")).ok).toBe(false);
    expect(checkDisclosureGuard([report], new Date("2026-11-10T00:00:00Z")).ok).toBe(true);
  });

  it("refuses an advisory that links no report", () => {
    expect(checkDisclosureGuard([], at)).toEqual({ ok: false, why: "the advisory links no report.", blockers: [] });
  });
});

describe("advisory rules", () => {
  it("numbers advisories with the prefix, the year and three digits at least", () => {
    expect(formatAdvisoryId("EXA", 2026, 1)).toBe("EXA-2026-001");
    expect(formatAdvisoryId("EXA", 2026, 1234)).toBe("EXA-2026-1234");
  });

  it("credits each reporter as they chose, never an anonymous one, and the team's credits after them, each once", () => {
    const credits = mergeCredits(
      [
        { name: "Upstream maintainers", url: null, type: "remediation developer", reportId: null },
        { name: "Ada", url: "https://ada.example", type: "finder", reportId: null },
      ],
      [
        { id: 1, creditName: "Ada", creditUrl: "https://ada.example" },
        { id: 2, creditName: null, creditUrl: null },
      ],
    );
    expect(credits).toEqual([
      { name: "Ada", url: "https://ada.example", type: "finder", reportId: 1 },
      { name: "Upstream maintainers", url: null, type: "remediation developer", reportId: null },
    ]);
  });

  it("credits a reporter whose link was stored before links were checked strictly without that link", () => {
    const credits = mergeCredits([], [{ id: 3, creditName: "Eve", creditUrl: "https://eve.example/\r\nSet-Cookie: x=1" }]);
    expect(credits).toEqual([{ name: "Eve", url: null, type: "finder", reportId: 3 }]);
  });

  it("refuses a range with both a fixed and a last affected version", () => {
    const product = { vendor: "V", product: "P", ecosystem: null, packageName: null, fixedVersion: null };
    expect(checkProducts([{ ...product, ranges: [{ introduced: "0", fixed: "2", lastAffected: null }, { introduced: "3", fixed: "4", lastAffected: "3.9" }] }])).toEqual({
      "products.0.ranges.1": "give either fixed or lastAffected, not both",
    });
  });

  it("keeps only the base metrics of a vector for its base score", () => {
    expect(baseVectorOf("3.1", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N/E:P/RL:O")).toBe("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N");
    expect(baseVectorOf("4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A")).toBe("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N");
  });
});
