import { parseDocument } from "yaml";
import { readMarkdownLinks } from "../../platform/markdown/markdown.js";
import { DomainError } from "../../shared/errors.js";

/**
 * The policy page's source format, as pure rules: Markdown with YAML front matter
 * (`title`, `description`) and `{{ site.NAME }}` variables. No storage, no rendering.
 */

/** A policy page is a few pages of text; anything larger is a mistake (or an attack on the renderer). */
export const MAX_POLICY_CHARS = 256 * 1024;
const MAX_FRONT_MATTER_CHARS = 4096;
export const MAX_VARIABLE_NAME = 64;
export const MAX_VARIABLE_VALUE = 1000;

export const InvalidPolicyError = (message: string, fields: Record<string, string> = {}) =>
  new DomainError("invalid_policy", "invalid", message, fields);

export const UnknownPolicyVariablesError = (unknown: VariableUse[]) =>
  new DomainError(
    "unknown_policy_variables",
    "invalid",
    `The policy uses ${unknown.length === 1 ? "a variable that is" : "variables that are"} not defined: ${unknown
      .map((u) => `{{ site.${u.name} }} on line ${u.line}`)
      .join(", ")}. Nothing was stored. Define ${unknown.length === 1 ? "it" : "them"} with \`shield policy set-var NAME VALUE\` (see \`shield policy vars\`), or fix the name.`,
    Object.fromEntries(groupLines(unknown).map(([name, lines]) => [`site.${name}`, `unknown variable, line${lines.length > 1 ? "s" : ""} ${lines.join(", ")}`])),
  );

export const InvalidPolicyVariableError = (message: string, fields: Record<string, string>) =>
  new DomainError("invalid_policy_variable", "invalid", message, fields);

function groupLines(uses: VariableUse[]): [string, number[]][] {
  const byName = new Map<string, number[]>();
  for (const use of uses) byName.set(use.name, [...(byName.get(use.name) ?? []), use.line]);
  return [...byName];
}

export interface PolicyFrontMatter {
  title: string;
  description: string | null;
}

export interface ParsedPolicy {
  frontMatter: PolicyFrontMatter;
  /** The Markdown after the front matter. */
  body: string;
  /** 1-based line of the source on which `body` starts, to report body positions as file lines. */
  bodyStartLine: number;
}

/** LF line ends and no byte-order mark: the form in which a policy is stored and parsed. */
export function normalisePolicySource(source: string): string {
  return source.replace(/^\ufeff/, "").replace(/\r\n?/g, "\n");
}

const FRONT_MATTER_HELP = "A policy starts with YAML front matter: a line `---`, then `title: …` and optionally `description: …`, then a line `---`.";

/**
 * Splits and checks the front matter. Only `title` (required, text) and `description`
 * (optional, text) are accepted, so a typo (`titel:`) is an error instead of a page
 * without a title.
 * @throws InvalidPolicyError naming the line and the problem
 */
export function parsePolicySource(raw: string): ParsedPolicy {
  const source = normalisePolicySource(raw);
  if (source.length > MAX_POLICY_CHARS) {
    throw InvalidPolicyError(`The policy is ${source.length} characters long; at most ${MAX_POLICY_CHARS} are accepted.`);
  }
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(source)) {
    throw InvalidPolicyError("The policy contains control characters; is it a text file?");
  }
  const lines = source.split("\n");
  if (lines[0]?.trimEnd() !== "---") return withTitleFromFirstHeading(source, lines);
  const close = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (close < 0) throw InvalidPolicyError(`The front matter is not closed. ${FRONT_MATTER_HELP}`);
  const yamlText = lines.slice(1, close).join("\n");
  if (yamlText.length > MAX_FRONT_MATTER_CHARS) throw InvalidPolicyError(`The front matter is longer than ${MAX_FRONT_MATTER_CHARS} characters.`);

  const document = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: false, strict: true });
  const problem = document.errors[0];
  if (problem) {
    // The file has the opening `---` before the YAML.
    const line = lineAt(yamlText, problem.pos[0]) + 1;
    throw InvalidPolicyError(`The front matter is not valid YAML (line ${line}): ${problem.message.split("\n")[0]}`);
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 0 });
  } catch {
    throw InvalidPolicyError("The front matter uses YAML aliases (`&name`, `*name`); write the values out instead.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw InvalidPolicyError(`The front matter must be a set of \`key: value\` lines. ${FRONT_MATTER_HELP}`);
  }
  const fields = value as Record<string, unknown>;
  const unknownKeys = Object.keys(fields).filter((key) => key !== "title" && key !== "description");
  if (unknownKeys.length) {
    throw InvalidPolicyError(`The front matter may only hold \`title\` and \`description\`; found ${unknownKeys.map((k) => `\`${k}\``).join(", ")}.`, Object.fromEntries(unknownKeys.map((k) => [k, "is not a known field"])));
  }
  const title = fields.title;
  if (typeof title !== "string" || title.trim() === "") throw InvalidPolicyError("The front matter needs a `title` (text): it becomes the page's title.", { title: "is required" });
  if (title.length > 200) throw InvalidPolicyError("The title is longer than 200 characters.", { title: "at most 200 characters" });
  const description = fields.description;
  if (description !== undefined && description !== null && typeof description !== "string") {
    throw InvalidPolicyError("The `description` must be text.", { description: "must be text" });
  }
  if (typeof description === "string" && description.length > 500) throw InvalidPolicyError("The description is longer than 500 characters.", { description: "at most 500 characters" });

  return {
    frontMatter: { title: title.trim(), description: typeof description === "string" && description.trim() ? description.trim() : null },
    body: lines.slice(close + 1).join("\n"),
    bodyStartLine: close + 2,
  };
}

/**
 * A policy without front matter, as most SECURITY.md files are: its title is the text of
 * its first heading (`# Security Policy`), and the whole file is the page.
 * @throws InvalidPolicyError when it has no heading
 */
function withTitleFromFirstHeading(source: string, lines: string[]): ParsedPolicy {
  let fence: string | null = null;
  for (const line of lines) {
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch) {
      if (fence === null) fence = fenceMatch[1]!;
      else if (fenceMatch[1]!.startsWith(fence)) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    const title = heading?.[1]?.replace(/[*_`]/g, "").trim();
    if (title) {
      if (title.length > 200) throw InvalidPolicyError("The first heading, the page's title, is longer than 200 characters.", { title: "at most 200 characters" });
      return { frontMatter: { title, description: null }, body: source, bodyStartLine: 1 };
    }
  }
  throw InvalidPolicyError(`The policy has no title: start it with a heading (\`# Security policy\`), or with front matter. ${FRONT_MATTER_HELP}`, { title: "is required" });
}

export interface VariableUse {
  name: string;
  line: number;
}

/** `{{ site.NAME }}` with optional spaces; NAME is checked separately so that a bad one is named, not ignored. */
const VARIABLE = /\{\{\s*site\.([^{}\s]*)\s*\}\}/g;
const VARIABLE_NAME = /^[a-z0-9_]+$/;

export function isValidVariableName(name: string): boolean {
  return VARIABLE_NAME.test(name) && name.length <= MAX_VARIABLE_NAME;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/**
 * Every `{{ site.* }}` in the source with its 1-based line, front matter included.
 * @throws InvalidPolicyError when a variable's name is not `[a-z0-9_]+`
 */
export function findPolicyVariables(raw: string): VariableUse[] {
  const source = normalisePolicySource(raw);
  const uses: VariableUse[] = [];
  const bad: VariableUse[] = [];
  for (const match of source.matchAll(VARIABLE)) {
    const use = { name: match[1]!, line: lineAt(source, match.index) };
    (isValidVariableName(use.name) ? uses : bad).push(use);
  }
  if (bad.length) {
    throw InvalidPolicyError(
      `Variable names are lower-case letters, digits and _: ${bad.map((b) => `{{ site.${b.name} }} on line ${b.line}`).join(", ")}.`,
      Object.fromEntries(bad.map((b) => [`line ${b.line}`, `site.${b.name} is not a valid variable name`])),
    );
  }
  return uses;
}

export function findUnknownVariables(uses: VariableUse[], known: ReadonlySet<string>): VariableUse[] {
  return uses.filter((use) => !known.has(use.name));
}

/**
 * Variable values are text, not Markdown: the characters that could open a link, an
 * emphasis, code or an autolink are escaped, and line breaks flattened, so that a
 * company name can never change the page's structure. Backslash escapes also work in
 * link targets, so `[Security team]({{ site.email_security }})` stays a link.
 */
export function escapeMarkdownText(value: string): string {
  return value
    .replace(/\s*[\r\n]+\s*/g, " ")
    .replace(/[\\`*_[\]()<>&~|]/g, "\\$&")
    .replace(/^([#+\-=])/, "\\$1");
}

export interface FilledPolicy {
  markdown: string;
  /** Variables that had no value; shown on the page as `[site.NAME]`. */
  unknown: string[];
}

/**
 * Replaces `{{ site.NAME }}` in Markdown with escaped values. A variable without a
 * value (possible only if one disappeared after import) is shown in visible brackets
 * as `[site.NAME]`, never as an empty string, so that a reader notices and the team
 * can fix it; the caller logs it.
 */
export function fillPolicyVariables(markdown: string, values: Readonly<Record<string, string>>): FilledPolicy {
  const unknown = new Set<string>();
  const filled = markdown.replace(VARIABLE, (whole, name: string) => {
    if (isValidVariableName(name) && Object.hasOwn(values, name)) return escapeMarkdownText(values[name]!);
    unknown.add(name);
    return escapeMarkdownText(`[site.${name}]`);
  });
  return { markdown: filled, unknown: [...unknown] };
}

/** The same for plain text (front matter title and description): no Markdown, so no escaping. */
export function fillPlainText(text: string, values: Readonly<Record<string, string>>): { text: string; unknown: string[] } {
  const unknown = new Set<string>();
  const filled = text.replace(VARIABLE, (_whole, name: string) => {
    if (isValidVariableName(name) && Object.hasOwn(values, name)) return values[name]!.replace(/\s+/g, " ");
    unknown.add(name);
    return `[site.${name}]`;
  });
  return { text: filled, unknown: [...unknown] };
}

/**
 * Checks an admin-set variable.
 * @throws InvalidPolicyVariableError
 */
export function checkCustomVariable(name: string, value: string, builtIns: ReadonlySet<string>): void {
  if (!isValidVariableName(name)) {
    throw InvalidPolicyVariableError(`A variable name is lower-case letters, digits and _ (at most ${MAX_VARIABLE_NAME}): ${JSON.stringify(name)} is not.`, { name: "lower-case letters, digits and _" });
  }
  if (builtIns.has(name)) {
    throw InvalidPolicyVariableError(`site.${name} is built in: it comes from the program settings (\`shield settings set\`), not from set-var.`, { name: "is a built-in variable" });
  }
  if (value.trim() === "") throw InvalidPolicyVariableError("A variable's value may not be empty.", { value: "is required" });
  if (value.length > MAX_VARIABLE_VALUE) throw InvalidPolicyVariableError(`A variable's value is at most ${MAX_VARIABLE_VALUE} characters.`, { value: `at most ${MAX_VARIABLE_VALUE} characters` });
  if (/[\u0000-\u001f\u007f]/.test(value)) throw InvalidPolicyVariableError("A variable's value is one line of text, without control characters.", { value: "one line, no control characters" });
}

/** The public pages Shield serves; a link of the policy that stays on Shield's host should lead to one of them. */
export const PUBLIC_PAGES: readonly string[] = ["/security", "/security/report", "/security/thanks", "/security/advisories", "/security/advisories.atom", "/security/pgp-key.asc", "/.well-known/security.txt", "/security.txt"];

/** A link of the policy to a path on Shield's own host where Shield serves nothing. */
export interface LinkNotServed {
  line: number;
  /** As markdown-it reads it (percent-encoded where the source was not). */
  href: string;
  /** Where it leads from /security. */
  path: string;
}

/**
 * The policy's links that stay on Shield's host (relative ones, as /security resolves
 * them) but lead to no page Shield serves: a policy written for another site (the seed
 * links `../Basecamp-security.pub`) would send readers to a 404. Links built from
 * `{{ site.* }}` variables are left out: their targets are known only when shown.
 */
export function findLinksNotServed(raw: string): LinkNotServed[] {
  const base = new URL("https://shield.invalid/security");
  return readMarkdownLinks(normalisePolicySource(raw)).flatMap(({ line, href }) => {
    if (/\{\{|%7B%7B/i.test(href)) return [];
    let url: URL;
    try {
      url = new URL(href, base);
    } catch {
      return [];
    }
    if (url.origin !== base.origin) return [];
    // Exactly: Shield's router does not ignore a trailing slash (/security/report/ is a 404).
    const path = url.pathname;
    return PUBLIC_PAGES.includes(path) ? [] : [{ line, href, path }];
  });
}
