import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readMarkdownBlocks } from "../../platform/markdown/markdown.js";
import { DomainError } from "../../shared/errors.js";
import { checkHallOfFameEntry, describeHallOfFameEntry, findHallOfFameItems, normaliseEntryForKey, readHallOfFameItem } from "./hall-of-fame.js";

const SEED = fs.readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/seed-policy.md"), "utf8");

const read = (source: string) => findHallOfFameItems(readMarkdownBlocks(source)).map(readHallOfFameItem);

describe("reading a hall of fame list", () => {
  const seed = read(SEED);
  const byName = (name: string) => seed.find((r) => r.entry.name === name)?.entry;

  it("finds the 86 entries of the seed's Thanks section, 64 of them with a link", () => {
    expect(seed).toHaveLength(86);
    expect(seed.filter((r) => r.entry.url !== null)).toHaveLength(64);
    expect(seed.every((r) => r.refusedUrl === null)).toBe(true);
  });

  it("keeps the seed's order, from its first line to its last", () => {
    expect(seed[0]).toEqual({ line: 37, entry: { name: "Brett Hardin", url: null, affiliation: null }, refusedUrl: null });
    expect(seed.at(-1)!.entry).toEqual({ name: "Bram Gagliardi (securibee)", url: "https://securib.ee/", affiliation: null });
  });

  it("does not take the other list of the page (what happens after a report)", () => {
    expect(seed.some((r) => r.entry.name.startsWith("We’ll"))).toBe(false);
  });

  it("resolves backslash escapes the way the page renders them", () => {
    expect(byName("Abhinav Karnawat / w4rri0r /")).toEqual({ name: "Abhinav Karnawat / w4rri0r /", url: "http://www.w4rri0r.com", affiliation: null });
    expect(byName("Nakul Mohan (@Anonymous_India)")?.url).toBe("https://www.facebook.com/nakul.cia");
    expect(seed.some((r) => r.entry.name.includes("\\"))).toBe(false);
  });

  it("keeps several people named in one item as one entry, as written", () => {
    expect(byName("Shivam Kumar Agarwal, Nithish Varghese, and Sahil Srivastava")).toEqual({
      name: "Shivam Kumar Agarwal, Nithish Varghese, and Sahil Srivastava",
      url: "https://twitter.com/netanalysts",
      affiliation: null,
    });
  });

  it("keeps names with parentheses, handles and companies exactly as they read", () => {
    expect(byName("Harsha Vardhan Boppana (Login Security Solution (P) Limited)")?.url).toBeNull();
    expect(byName("Chris Raethke (Bugcrowd)")?.url).toBe("https://bugcrowd.com");
    expect(byName("Daniel Alvear(MaztoR IN-Security)")?.url).toBe("https://twitter.com/mazt0r");
    expect(byName("Ali Hassan Ghori (@alihasanghauri)")?.url).toBe("http://alihassanpenetrationtester.blogspot.com/");
    expect(byName("Rakan Alotaibi @hxteam")?.url).toBe("https://twitter.com/hxteam");
    expect(byName("M.R. Vignesh Kumar")?.url).toBe("https://twitter.com/vigneshkumarmr");
    expect(byName("Rodolfo Godalle Jr.")?.url).toBe("https://www.facebook.com/junior.ns1de");
  });

  it("keeps accented names intact", () => {
    expect(byName("Óscar Repáraz")?.url).toBe("http://www.reparaz.net");
    expect(byName("Frans Rosén")?.url).toBe("https://www.detectify.com");
    expect(byName("Jovan Šikanja")?.url).toBe("http://www.e-sigurnost.net");
  });

  it("reads a file that is only a list, with emphasis and escapes resolved", () => {
    const entries = read("* **Ada** \\*Lovelace\\*\n* [Grace \\_Hopper\\_](https://grace.example/)\n- Alan & Co\n");
    expect(entries.map((r) => r.entry)).toEqual([
      { name: "Ada *Lovelace*", url: null, affiliation: null },
      { name: "Grace _Hopper_", url: "https://grace.example/", affiliation: null },
      { name: "Alan & Co", url: null, affiliation: null },
    ]);
  });

  it("keeps the name but not a link that is not http(s)", () => {
    const [entry] = read("* [Eve](mailto:eve@example.org)\n* [Mallory](javascript:alert(1))");
    expect(entry).toMatchObject({ entry: { name: "Eve", url: null }, refusedUrl: "mailto:eve@example.org" });
  });

  it("takes the list under the usual headings, or else the first list in the file", () => {
    const names = (source: string) => read(source).map((r) => r.entry.name);
    expect(names("# Hall of fame\n\nThank you all.\n\n* Ada\n* Grace\n")).toEqual(["Ada", "Grace"]);
    expect(names("# Security\n\n* not this\n\n## Acknowledgements\n\n1. Alan\n")).toEqual(["Alan"]);
    expect(names("# Credits\n\n- Linus\n")).toEqual(["Linus"]);
    expect(names("# Researchers we thank\n\n* Barbara\n")).toEqual(["Barbara"]);
    expect(names("Our people, in order.\n\n* Edsger\n* Tony\n\nMore text.\n\n* other list\n")).toEqual(["Edsger", "Tony"]);
  });

  it("reads a URL in parentheses as the link and a year in parentheses as the year", () => {
    expect(read("* Jane Doe (https://janedoe.example)\n* Peggy (2023)\n* Ken (https://ken.example/) (2021)\n* Dennis (Bell Labs)\n").map((r) => r.entry)).toEqual([
      { name: "Jane Doe", url: "https://janedoe.example", affiliation: null },
      { name: "Peggy", url: null, affiliation: null, year: 2023 },
      { name: "Ken", url: "https://ken.example/", affiliation: null, year: 2021 },
      { name: "Dennis (Bell Labs)", url: null, affiliation: null },
    ]);
  });

  it("refuses a file that is neither a list nor has a Thanks section", () => {
    expect(() => read("# Security\n\nJust text.")).toThrow(/Found no list to import/);
    expect(() => read("# Security\n\n## Thanks\n\nNo list here.\n\n## Other\n\n* not this")).toThrow(/has no list under it/);
  });
});

describe("hall of fame entries", () => {
  it("refuse an empty or overlong name, control characters and links that are not http(s)", () => {
    expect(() => checkHallOfFameEntry({ name: " ", url: null, affiliation: null })).toThrow(/needs a name/);
    expect(() => checkHallOfFameEntry({ name: "x".repeat(301), url: null, affiliation: null })).toThrow(/at most 300/);
    expect(() => checkHallOfFameEntry({ name: "a\u202eb", url: null, affiliation: null })).toThrow(/control/);
    expect(() => checkHallOfFameEntry({ name: "a", url: "javascript:alert(1)", affiliation: null })).toThrow(/http/);
    for (const hidden of ["\r\n", "\u0000", "\t"]) {
      expect(() => checkHallOfFameEntry({ name: "a", url: `https://a.example/${hidden}x`, affiliation: null })).toThrow(/control characters/);
    }
  });

  it("read as the name with the affiliation in parentheses", () => {
    expect(describeHallOfFameEntry({ name: "Ada", url: null, affiliation: "Analytical Engines" })).toBe("Ada (Analytical Engines)");
  });

  it("are the same regardless of case, Unicode form, spacing and a trailing slash", () => {
    const a = normaliseEntryForKey({ name: "Óscar  Repáraz", url: "http://www.reparaz.net/", affiliation: null });
    const b = normaliseEntryForKey({ name: "o\u0301scar repa\u0301raz", url: "HTTP://www.reparaz.net", affiliation: null });
    expect(a).toBe(b);
    expect(normaliseEntryForKey({ name: "Óscar Repáraz", url: null, affiliation: null })).not.toBe(a);
  });
});
