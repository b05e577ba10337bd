import { describe, expect, it } from "vitest";
import { cweNumber, lookUpCwe, searchCwe } from "./cwe.js";

describe("the CWE dictionary", () => {
  it("finds a weakness by its identifier, with its official name", () => {
    const found = lookUpCwe("CWE-79");
    expect(found.ok && found.entry).toMatchObject({ id: "CWE-79", name: "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')" });
    expect(lookUpCwe("cwe-352").ok).toBe(true);
    expect(lookUpCwe("89").ok && lookUpCwe("89")).toMatchObject({ entry: { id: "CWE-89" } });
  });

  it("refuses identifiers that are not weaknesses of CWE 4.15, and deprecated ones", () => {
    expect(lookUpCwe("CWE-999999")).toEqual({ ok: false, problem: expect.stringMatching(/not a weakness in the CWE 4\.15 dictionary/) });
    expect(lookUpCwe("CWE-71")).toEqual({ ok: false, problem: expect.stringMatching(/deprecated/) });
    expect(lookUpCwe("XSS")).toEqual({ ok: false, problem: expect.stringMatching(/CWE identifier/) });
    expect(cweNumber("CWE-79 ")).toBe(79);
    expect(cweNumber("CWE-79; drop table")).toBeUndefined();
  });

  it("searches by number: the exact weakness first, then those whose number starts with it", () => {
    const ids = searchCwe("79").map((e) => e.id);
    expect(ids[0]).toBe("CWE-79");
    expect(ids.every((id) => id.startsWith("CWE-79"))).toBe(true);
  });

  it("searches by words in the name and by other names, the last word as a prefix", () => {
    expect(searchCwe("cross-site scripting").map((e) => e.id)).toContain("CWE-79");
    expect(searchCwe("XSS").map((e) => e.id)).toContain("CWE-79");
    expect(searchCwe("sql inject")[0]?.id).toBe("CWE-89");
    expect(searchCwe("request forgery").map((e) => e.id)).toContain("CWE-352");
    expect(searchCwe("zzzz nothing like this")).toEqual([]);
    expect(searchCwe("injection").length).toBe(20);
  });
});
