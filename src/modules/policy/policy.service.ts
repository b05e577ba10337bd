import fs from "node:fs";
import path from "node:path";
import { sha256Hex } from "../../platform/crypto/secrets.js";
import type { Db, Executor } from "../../platform/db/database.js";
import { renderMarkdown } from "../../platform/markdown/markdown.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { appendAuditEvent, describeActor, type Actor } from "../audit/index.js";
import {
  checkCustomVariable,
  fillPlainText,
  fillPolicyVariables,
  findPolicyVariables,
  findLinksNotServed,
  findUnknownVariables,
  normalisePolicySource,
  parsePolicySource,
  UnknownPolicyVariablesError,
  type LinkNotServed,
  type VariableUse,
} from "./policy.js";
import { PACKAGE_ROOT } from "../../platform/package-root.js";
import { findCurrentPolicy, insertPolicyVersion, listCustomVariables, readCustomVariable, writeCustomVariable } from "./policy.repository.js";
import { BUILT_IN_VARIABLE_NAMES, BUILT_IN_VARIABLES, computeBuiltInVariables, type SiteContext } from "./site-variables.js";

/** The policy a fresh install shows. It ships in the source tree, next to this file, so that `dist/` needs no copy of it. */
export const DEFAULT_POLICY_FILE = path.join(PACKAGE_ROOT, "src", "modules", "policy", "default-policy.md");

let defaultPolicySource: string | undefined;

export function readDefaultPolicySource(): string {
  return (defaultPolicySource ??= normalisePolicySource(fs.readFileSync(DEFAULT_POLICY_FILE, "utf8")));
}

async function knownVariableNames(db: Executor): Promise<Set<string>> {
  const custom = await listCustomVariables(db);
  return new Set([...BUILT_IN_VARIABLE_NAMES, ...custom.map((v) => v.name)]);
}

export interface PolicyImport {
  id: number;
  title: string;
  description: string | null;
  characters: number;
  variables: string[];
  /** True when the source is the one already shown: nothing was stored. */
  unchanged: boolean;
  /** Links to paths on Shield's host where it serves nothing (imported anyway; the caller warns). */
  linksNotServed: LinkNotServed[];
}

/**
 * Stores a new version of the policy page, audited. The whole source is checked first:
 * front matter, variable names, and that every variable has a value today.
 * @throws InvalidPolicyError, UnknownPolicyVariablesError (naming each variable and line); nothing is stored then
 */
export async function importPolicy(db: Db, clock: Clock, actor: Actor, raw: string): Promise<PolicyImport> {
  const source = normalisePolicySource(raw);
  const { frontMatter } = parsePolicySource(source);
  const uses = findPolicyVariables(source);
  const variables = [...new Set(uses.map((u) => u.name))].sort();
  const sha256 = sha256Hex(source);
  return db.transaction().execute(async (tx) => {
    const unknown = findUnknownVariables(uses, await knownVariableNames(tx));
    if (unknown.length) throw UnknownPolicyVariablesError(unknown);
    const current = await findCurrentPolicy(tx);
    const summary = { title: frontMatter.title, description: frontMatter.description, characters: source.length, variables, linksNotServed: findLinksNotServed(source) };
    if (current?.sha256 === sha256) return { id: current.id, ...summary, unchanged: true };
    const at = isoNow(clock);
    const id = await insertPolicyVersion(tx, { source, title: frontMatter.title, description: frontMatter.description, sha256, imported_at: at, imported_by: describeActor(actor) });
    await appendAuditEvent(tx, actor, { action: "policy.imported", subjectType: "policy", subjectId: String(id), data: { title: frontMatter.title, sha256, characters: source.length, variables } }, at);
    return { id, ...summary, unchanged: false };
  });
}

/**
 * Sets an admin-defined `{{ site.NAME }}` variable, audited with its previous value.
 * @throws InvalidPolicyVariableError for a bad name or value, or a built-in name
 */
export async function setPolicyVariable(db: Db, clock: Clock, actor: Actor, name: string, value: string): Promise<{ name: string; value: string; previous: string | null }> {
  checkCustomVariable(name, value, BUILT_IN_VARIABLE_NAMES);
  return db.transaction().execute(async (tx) => {
    const previous = (await readCustomVariable(tx, name))?.value ?? null;
    const at = isoNow(clock);
    await writeCustomVariable(tx, name, value, at);
    await appendAuditEvent(tx, actor, { action: "policy.variable_set", subjectType: "policy_variable", subjectId: name, data: { value, previous } }, at);
    return { name, value, previous };
  });
}

export interface PolicyVariableList {
  builtIn: { name: string; value: string; describe: string }[];
  custom: { name: string; value: string; updatedAt: string }[];
  /** Variables the current policy uses that have no value (only after a variable disappeared). */
  unknownInPolicy: VariableUse[];
}

export async function listPolicyVariables(db: Db, site: SiteContext): Promise<PolicyVariableList> {
  const values = computeBuiltInVariables(site);
  const custom = await listCustomVariables(db);
  const current = await findCurrentPolicy(db);
  const known = new Set([...BUILT_IN_VARIABLE_NAMES, ...custom.map((v) => v.name)]);
  return {
    builtIn: Object.entries(BUILT_IN_VARIABLES).map(([name, variable]) => ({ name, value: values[name]!, describe: variable.describe })),
    custom: custom.map((v) => ({ name: v.name, value: v.value, updatedAt: v.updated_at })),
    unknownInPolicy: findUnknownVariables(findPolicyVariables(current?.source ?? readDefaultPolicySource()), known),
  };
}

export interface PolicyPage {
  title: string;
  description: string | null;
  /** Sanitized HTML of the policy's body. */
  html: string;
  /** True on a fresh install: the page is Shield's default policy. */
  isDefault: boolean;
  /** Variables without a value, shown as `[site.NAME]`; the caller logs them. */
  unknown: string[];
}

// Rendering goes through markdown-it, jsdom and DOMPurify; the page changes only when the
// source or a variable does, so the last result is kept.
let lastPage: { key: string; page: PolicyPage } | undefined;

/** The policy page as the public sees it: the newest imported policy, or the default one, with variables filled in. */
export async function presentPolicyPage(db: Db, site: SiteContext): Promise<PolicyPage> {
  const current = await findCurrentPolicy(db);
  const source = current?.source ?? readDefaultPolicySource();
  const custom = await listCustomVariables(db);
  const values: Record<string, string> = { ...Object.fromEntries(custom.map((v) => [v.name, v.value])), ...computeBuiltInVariables(site) };
  const key = sha256Hex(`${current?.id ?? "default"}\u0000${source}\u0000${JSON.stringify(values)}`);
  if (lastPage?.key === key) return lastPage.page;

  const { frontMatter, body } = parsePolicySource(source);
  const filled = fillPolicyVariables(body, values);
  const title = fillPlainText(frontMatter.title, values);
  const description = frontMatter.description === null ? null : fillPlainText(frontMatter.description, values);
  const page: PolicyPage = {
    title: title.text,
    description: description?.text ?? null,
    html: renderMarkdown(filled.markdown),
    isDefault: !current,
    unknown: [...new Set([...title.unknown, ...(description?.unknown ?? []), ...filled.unknown])],
  };
  lastPage = { key, page };
  return page;
}
