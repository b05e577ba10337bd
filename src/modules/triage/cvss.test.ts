import { describe, expect, it } from "vitest";
import { checkCvssVector, describeCvssVector, InvalidCvssVectorError, listCvssMetrics, rateCvssScore, scoreCvssVector } from "./cvss.js";

describe("CVSS 3.1 vectors", () => {
  it("scores the network, no-privilege, full-impact vector 9.8 Critical (FIRST calculator)", () => {
    expect(scoreCvssVector("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")).toEqual({
      version: "3.1",
      vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
      score: 9.8,
      rating: "critical",
    });
  });

  it("scores the specification's example vector 3.8 Low", () => {
    expect(scoreCvssVector("3.1", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:N")).toMatchObject({ score: 3.8, rating: "low" });
  });

  it("scores a reflected XSS with changed scope 6.1 Medium", () => {
    expect(scoreCvssVector("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")).toMatchObject({ score: 6.1, rating: "medium" });
  });

  it("uses the temporal score when temporal metrics are given (9.8 × 0.91 × 0.95 rounds up to 8.5)", () => {
    expect(scoreCvssVector("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C")).toMatchObject({ score: 8.5, rating: "high" });
  });

  it("accepts metrics in any order, as the 3.1 specification requires of readers", () => {
    expect(scoreCvssVector("3.1", "CVSS:3.1/S:U/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N").score).toBe(9.8);
  });

  it("rates a vector without impact None", () => {
    expect(scoreCvssVector("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N")).toMatchObject({ score: 0, rating: "none" });
  });

  it.each([
    ["a missing metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", /missing the mandatory metric A \(Availability\)/],
    ["a duplicate metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L", /A more than once/],
    ["an unknown value", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /AV:X.*takes N, A, L or P/],
    ["an unknown metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AT:N", /unknown metric "AT"/],
    ["a lower-case metric", "CVSS:3.1/av:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /unknown metric "av"/],
    ["the wrong prefix", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /must start with "CVSS:3\.1\/"/],
    ["no prefix", "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /must start with/],
    ["a 4.0 vector", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", /is a CVSS 4\.0 vector/],
    ["trailing junk", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H junk", /spaces/],
    ["a trailing slash", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", /must not end with "\/"/],
    ["a trailing newline", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n", /spaces or line breaks/],
    ["a metric without value", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:", /where a metric like "AV:N" belongs/],
    ["text appended to a value", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Hx", /A:Hx/],
  ])("refuses %s", (_what, vector, problem) => {
    const check = checkCvssVector("3.1", vector);
    expect(check.ok).toBe(false);
    expect(check.ok ? "" : check.problem).toMatch(problem);
    expect(() => scoreCvssVector("3.1", vector)).toThrow(InvalidCvssVectorError);
  });
});

describe("CVSS 4.0 vectors", () => {
  it("scores the network, no-privilege vector with high impact on the vulnerable system 9.3 Critical (FIRST calculator)", () => {
    expect(scoreCvssVector("4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")).toMatchObject({ score: 9.3, rating: "critical" });
  });

  it("scores low impact on all three 6.9 Medium", () => {
    expect(scoreCvssVector("4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N")).toMatchObject({ score: 6.9, rating: "medium" });
  });

  it("lowers the score for an unreported exploit (threat metric E:U)", () => {
    expect(scoreCvssVector("4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U")).toMatchObject({ score: 8.1, rating: "high" });
  });

  it("accepts the specification's sample vectors with threat, environmental and supplemental metrics", () => {
    for (const vector of [
      "CVSS:4.0/AV:A/AC:H/AT:P/PR:L/UI:P/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:P",
      "CVSS:4.0/AV:L/AC:H/AT:N/PR:N/UI:A/VC:N/VI:N/VA:L/SC:H/SI:H/SA:H/CR:H/IR:H/AR:M/MAV:N/MAC:L/MAT:P/MPR:L/MUI:A/MVC:N/MVI:H/MVA:L/MSC:L/MSI:S/MSA:H",
      "CVSS:4.0/AV:P/AC:H/AT:P/PR:L/UI:P/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:A/S:P/AU:Y/R:A/V:D/RE:L/U:Red",
    ]) {
      expect(checkCvssVector("4.0", vector)).toEqual({ ok: true });
    }
  });

  it.each([
    ["a missing metric (the specification's example)", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/SC:N/SI:N/SA:N", /missing the mandatory metric VA/],
    ["a repeated metric (the specification's example)", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/E:A/E:X", /E more than once/],
    ["an invalid value (the specification's example)", "CVSS:4.0/AV:F/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N", /AV:F/],
    ["a lower-case metric (the specification's example)", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/ui:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N", /unknown metric "ui"/],
    ["metrics out of the specification's order", "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", /lists AV after AC/],
    ["a supplemental metric before a threat metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:N/E:A", /lists E after S/],
    ["a 3.1 metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/RL:O", /unknown metric "RL"/],
    ["the 3.1 prefix", "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", /is a CVSS 3\.1 vector/],
    ["trailing junk", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N;", /SA:N;/],
    ["a double slash", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H//SC:N/SI:N/SA:N", /empty metric/],
    ["a provider urgency in lower case", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red", /U:red/],
  ])("refuses %s", (_what, vector, problem) => {
    const check = checkCvssVector("4.0", vector);
    expect(check.ok).toBe(false);
    expect(check.ok ? "" : check.problem).toMatch(problem);
  });
});

describe("the qualitative rating", () => {
  it("follows the bands shared by CVSS 3.1 and 4.0", () => {
    expect([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(rateCvssScore)).toEqual(["none", "low", "low", "medium", "medium", "high", "high", "critical", "critical"]);
  });
});

describe("a vector in words", () => {
  it("names each metric and value as the specification does, in the vector's order", () => {
    expect(describeCvssVector("3.1", "CVSS:3.1/AV:A/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:H/E:P").map((w) => `${w.name}: ${w.valueName}`)).toEqual([
      "Attack Vector: Adjacent",
      "Attack Complexity: High",
      "Privileges Required: Low",
      "User Interaction: Required",
      "Scope: Changed",
      "Confidentiality: Low",
      "Integrity: None",
      "Availability: High",
      "Exploit Code Maturity: Proof-of-Concept",
    ]);
    expect(describeCvssVector("4.0", "CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:A/VC:H/VI:L/VA:N/SC:N/SI:N/SA:N").slice(2, 5).map((w) => w.valueName)).toEqual(["Present", "None", "Active"]);
  });

  it("leaves out what is no metric of the version, and labels every calculator value in words", () => {
    expect(describeCvssVector("3.1", "CVSS:3.1/AV:N/XX:Y/AC")).toEqual([{ metric: "AV", name: "Attack Vector", value: "N", valueName: "Network" }]);
    for (const version of ["3.1", "4.0"] as const) {
      for (const m of listCvssMetrics(version).filter((m) => m.mandatory)) for (const v of m.values) expect(m.valueNames[v], `${version} ${m.abbr}:${v}`).not.toBe(v);
    }
  });
});
