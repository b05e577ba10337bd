import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../shared/errors.js";
import { DEFAULT_SETTINGS } from "../settings/index.js";
import {
  findLinksNotServed,
  checkCustomVariable,
  escapeMarkdownText,
  fillPlainText,
  fillPolicyVariables,
  findPolicyVariables,
  findUnknownVariables,
  parsePolicySource,
} from "./policy.js";
import { readDefaultPolicySource } from "./policy.service.js";
import { BUILT_IN_VARIABLE_NAMES, computeBuiltInVariables } from "./site-variables.js";

const SEED = fs.readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/seed-policy.md"), "utf8");

function errorOf(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("parsePolicySource", () => {
  it("reads the seed's title and description and where its body starts", () => {
    const parsed = parsePolicySource(SEED);
    expect(parsed.frontMatter).toEqual({
      title: "Security Response",
      description: "Have you discovered a web security flaw that might impact one of our products? Here’s how you can report it.",
    });
    expect(parsed.bodyStartLine).toBe(5);
    expect(parsed.body.trimStart().startsWith("# Security response")).toBe(true);
  });

  it("accepts Windows line ends and a byte-order mark", () => {
    expect(parsePolicySource(`\ufeff---\r\ntitle: Hi\r\n---\r\nBody`).frontMatter).toEqual({ title: "Hi", description: null });
  });

  it("takes the title of a file without front matter from its first heading, and keeps the whole file as the page", () => {
    const source = "Intro line before any heading.\n\n```md\n# not a heading, code\n```\n\n## Security *Policy* ##\n\nReport to {{ site.email_security }}.\n";
    expect(parsePolicySource(source)).toEqual({ frontMatter: { title: "Security Policy", description: null }, body: source, bodyStartLine: 1 });
  });

  it("refuses a file with neither front matter nor a heading, saying what is expected", () => {
    const error = errorOf(() => parsePolicySource("Just text.\n\n```\n# in code\n```\n"));
    expect(error.code).toBe("invalid_policy");
    expect(error.message).toMatch(/no title: start it with a heading .*front matter/);
  });

  it("refuses front matter that is never closed", () => {
    expect(errorOf(() => parsePolicySource("---\ntitle: x\n# Body")).message).toMatch(/not closed/);
  });

  it("refuses fields other than title and description, naming them", () => {
    const error = errorOf(() => parsePolicySource("---\ntitle: x\nlayout: page\npermalink: /security\n---\n"));
    expect(error.message).toMatch(/`layout`, `permalink`/);
    expect(error.fields).toEqual({ layout: "is not a known field", permalink: "is not a known field" });
  });

  it("refuses a missing or non-text title and a non-text description", () => {
    expect(errorOf(() => parsePolicySource("---\ndescription: x\n---\n")).fields).toEqual({ title: "is required" });
    expect(errorOf(() => parsePolicySource("---\ntitle: [a, b]\n---\n")).fields).toEqual({ title: "is required" });
    expect(errorOf(() => parsePolicySource("---\ntitle: x\ndescription: 3\n---\n")).fields).toEqual({ description: "must be text" });
  });

  it("refuses invalid YAML with its line in the file", () => {
    const error = errorOf(() => parsePolicySource("---\ntitle: x\ntitle: y\n---\n"));
    expect(error.message).toMatch(/not valid YAML \(line 3\)/);
    expect(errorOf(() => parsePolicySource("---\ntitle: 'unclosed\n---\n")).message).toMatch(/not valid YAML/);
  });

  it("refuses YAML aliases instead of expanding them", () => {
    expect(errorOf(() => parsePolicySource("---\ntitle: &a x\ndescription: *a\n---\n")).code).toBe("invalid_policy");
  });

  it("refuses a source larger than the limit and binary content", () => {
    expect(errorOf(() => parsePolicySource(`---\ntitle: x\n---\n${"a".repeat(300_000)}`)).message).toMatch(/at most/);
    expect(errorOf(() => parsePolicySource("---\ntitle: x\n---\n\u0000\u0001")).message).toMatch(/control characters/);
  });
});

describe("findPolicyVariables", () => {
  it("finds the seed's two uses of site.email_security with their lines", () => {
    expect(findPolicyVariables(SEED)).toEqual([
      { name: "email_security", line: 16 },
      { name: "email_security", line: 18 },
    ]);
  });

  it("allows optional spaces inside the braces", () => {
    expect(findPolicyVariables("---\ntitle: x\n---\n{{site.a}} {{  site.b_2  }} {{ site.c }}").map((u) => u.name)).toEqual(["a", "b_2", "c"]);
  });

  it("refuses a variable name outside [a-z0-9_], naming it and its line", () => {
    const error = errorOf(() => findPolicyVariables("---\ntitle: x\n---\n\nWrite to {{ site.Email-Security }}."));
    expect(error.message).toMatch(/\{\{ site\.Email-Security \}\} on line 5/);
  });

  it("names every unknown variable and line", () => {
    const uses = findPolicyVariables("---\ntitle: x\n---\n{{ site.email_security }}\n{{ site.bounty_table }}\n\n{{ site.bounty_table }} {{ site.nope }}");
    expect(findUnknownVariables(uses, BUILT_IN_VARIABLE_NAMES)).toEqual([
      { name: "bounty_table", line: 5 },
      { name: "bounty_table", line: 7 },
      { name: "nope", line: 7 },
    ]);
  });
});

describe("fillPolicyVariables", () => {
  it("puts values in as text, so a value cannot add a link, emphasis or HTML", () => {
    const { markdown } = fillPolicyVariables("We are {{ site.company_name }}.", { company_name: "*Evil* [x](javascript:alert(1)) <b>&amp;" });
    expect(markdown).toBe("We are \\*Evil\\* \\[x\\]\\(javascript:alert\\(1\\)\\) \\<b\\>\\&amp;.");
  });

  it("keeps a value usable as a link target", () => {
    expect(fillPolicyVariables("[Security team]({{ site.email_security }})", { email_security: "mailto:first_last@example.com" }).markdown).toBe(
      "[Security team](mailto:first\\_last@example.com)",
    );
  });

  it("shows a variable without a value in visible brackets and reports it", () => {
    const filled = fillPolicyVariables("Ask {{ site.gone }}.", {});
    expect(filled.markdown).toBe("Ask \\[site.gone\\].");
    expect(filled.unknown).toEqual(["gone"]);
    expect(fillPlainText("{{ site.gone }} page", {})).toEqual({ text: "[site.gone] page", unknown: ["gone"] });
  });

  it("flattens line breaks in values so that a value cannot start a new block", () => {
    expect(escapeMarkdownText("a\n\n# b")).toBe("a # b");
    expect(escapeMarkdownText("# b")).toBe("\\# b");
  });
});

describe("checkCustomVariable", () => {
  it("refuses built-in names, bad names, empty and multi-line values", () => {
    expect(errorOf(() => checkCustomVariable("email_security", "x", BUILT_IN_VARIABLE_NAMES)).fields).toEqual({ name: "is a built-in variable" });
    expect(errorOf(() => checkCustomVariable("Bounty", "x", BUILT_IN_VARIABLE_NAMES)).fields).toEqual({ name: "lower-case letters, digits and _" });
    expect(errorOf(() => checkCustomVariable("bounty", " ", BUILT_IN_VARIABLE_NAMES)).fields).toEqual({ value: "is required" });
    expect(errorOf(() => checkCustomVariable("bounty", "a\nb", BUILT_IN_VARIABLE_NAMES)).fields).toEqual({ value: "one line, no control characters" });
    expect(() => checkCustomVariable("bounty_url", "https://hackerone.com/example", BUILT_IN_VARIABLE_NAMES)).not.toThrow();
  });
});

describe("the default policy", () => {
  it("is a valid policy that uses only built-in variables", () => {
    const source = readDefaultPolicySource();
    expect(() => parsePolicySource(source)).not.toThrow();
    expect(findUnknownVariables(findPolicyVariables(source), BUILT_IN_VARIABLE_NAMES)).toEqual([]);
  });

  it("states the promised response times from the settings", () => {
    const values = computeBuiltInVariables({ settings: DEFAULT_SETTINGS, baseUrl: "https://s.example" });
    const { markdown, unknown } = fillPolicyVariables(parsePolicySource(readDefaultPolicySource()).body, values);
    expect(unknown).toEqual([]);
    expect(markdown).toContain("We respond within 2 hours");
    expect(markdown).toContain("get back to you within 72 hours");
    expect(markdown).toContain("We respond within 24 hours");
    expect(markdown).toContain("triage your report within 10 days");
  });
});

describe("findLinksNotServed", () => {
  it("names the links that stay on Shield's host but lead to no page it serves, with their lines", () => {
    // Relative links resolve from /security, as a browser resolves them there.
    const source = [
      "---",
      "title: T",
      "---",
      "Write to [us](mailto:security@example.com) or use [the form](security/report) or [the form again](/security/report/).",
      "",
      "Our [key](security/pgp-key.asc), [security.txt](/.well-known/security.txt), [thanks](./security/thanks) and [this page](#top).",
      "",
      "The old key: [key](../Company-security.pub). Elsewhere: [docs](https://example.com/security) and ![logo](/logo.png).",
      "",
      "A [form](report) written for a page one level down.",
      "From settings: [report]({{site.report_url}}), on the paragraph's second line: [x](/nowhere).",
    ].join("\n");
    expect(findLinksNotServed(source)).toEqual([
      { line: 4, href: "/security/report/", path: "/security/report/" },
      { line: 8, href: "../Company-security.pub", path: "/Company-security.pub" },
      { line: 8, href: "/logo.png", path: "/logo.png" },
      { line: 10, href: "report", path: "/report" },
      { line: 11, href: "/nowhere", path: "/nowhere" },
    ]);
  });

  it("finds nothing to say about Shield's own default policy", () => {
    expect(findLinksNotServed(readDefaultPolicySource())).toEqual([]);
  });
});
