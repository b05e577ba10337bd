import { z } from "zod";
import { createAdvisoryBody, CREDIT_TYPES, patchAdvisoryBody, publishAdvisoryBody, scheduleAdvisoryBody, type Advisory } from "../../modules/advisories/index.js";

/*
 * The advisory page's forms, each read into the body the team API takes and checked by the
 * API's own schema (like report-forms.ts): a form adds only what HTML forms need. Lists are
 * numbered fields (`products.0.vendor`, `products.0.ranges.1.fixed`, `credits.2.type`); the
 * page offers each list's rows and one empty row more, and empty rows are left out, so a
 * product, a range or a credit is added without JavaScript by filling the empty row and saving.
 */

/** At most this many rows of a list are read; the API allows 50 products, 50 ranges each, 100 credits. */
const MAX_ROWS = 100;

type Posted = Record<string, unknown>;

function str(body: Posted, name: string, max = 60_000): string {
  const value = body[name];
  return typeof value === "string" && value.length <= max ? value : "";
}

/** An optional form value: empty means "none". */
function orNull(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

/** The row numbers posted for a list (`prefix.N.…`), in order. */
function rowsOf(body: Posted, prefix: string): number[] {
  const rows = new Set<number>();
  const pattern = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d{1,3})\\.`);
  for (const name of Object.keys(body)) {
    const match = pattern.exec(name);
    if (match && Number(match[1]) < MAX_ROWS) rows.add(Number(match[1]));
  }
  return [...rows].sort((a, b) => a - b);
}

/** "12, #15 17": report numbers as typed; anything else is kept as text for the schema to refuse. */
function readReportIds(text: string): unknown[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim().replace(/^#/, ""))
    .filter(Boolean)
    .map((s) => (/^\d{1,12}$/.test(s) ? Number(s) : s));
}

/**
 * The fields of a posted advisory form as the API's body. Rows are renumbered without the
 * empty ones, so that an error's path (`products.1.vendor`) may differ from the posted row
 * when an empty row sat between; `rowNames` maps it back.
 */
function readContent(body: Posted): { fields: Record<string, unknown>; rowNames: Map<string, string> } {
  const rowNames = new Map<string, string>();
  const products: unknown[] = [];
  for (const p of rowsOf(body, "products")) {
    const at = (name: string, max = 300) => str(body, `products.${p}.${name}`, max);
    const ranges: unknown[] = [];
    for (const r of rowsOf(body, `products.${p}.ranges`)) {
      const introduced = at(`ranges.${r}.introduced`, 100).trim();
      const fixed = orNull(at(`ranges.${r}.fixed`, 100));
      const lastAffected = orNull(at(`ranges.${r}.lastAffected`, 100));
      if (!introduced && !fixed && !lastAffected) continue;
      rowNames.set(`products.${products.length}.ranges.${ranges.length}`, `products.${p}.ranges.${r}`);
      ranges.push({ ...(introduced ? { introduced } : {}), fixed, lastAffected });
    }
    const product = {
      vendor: at("vendor").trim(),
      product: at("product").trim(),
      ecosystem: orNull(at("ecosystem", 100)),
      packageName: orNull(at("packageName")),
      fixedVersion: orNull(at("fixedVersion", 100)),
    };
    if (!product.vendor && !product.product && !product.ecosystem && !product.packageName && !product.fixedVersion && ranges.length === 0) continue;
    rowNames.set(`products.${products.length}`, `products.${p}`);
    products.push({ ...product, ranges });
  }
  const credits: unknown[] = [];
  for (const c of rowsOf(body, "credits")) {
    const name = str(body, `credits.${c}.name`, 300).trim();
    const url = orNull(str(body, `credits.${c}.url`, 2000));
    if (!name && !url) continue;
    rowNames.set(`credits.${credits.length}`, `credits.${c}`);
    credits.push({ name, url, type: str(body, `credits.${c}.type`, 40) || "other" });
  }
  const cwe = str(body, "cwe", 200).replace(/\s.*$/s, "");
  return {
    rowNames,
    fields: {
      title: str(body, "title", 1000).trim(),
      summary: str(body, "summary"),
      products,
      cvss31Vector: orNull(str(body, "cvss31Vector", 500)),
      cvss40Vector: orNull(str(body, "cvss40Vector", 500)),
      cwe: orNull(cwe),
      cveId: orNull(str(body, "cveId", 40)),
      references: str(body, "references", 120_000)
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean),
      workarounds: orNull(str(body, "workarounds")),
      credits,
    },
  };
}

export interface ReadAdvisoryForm<T> {
  ok: boolean;
  value?: T;
  /** Field errors by the posted field names. */
  fields: Record<string, string>;
}

/** A path of the API's body as the form's field name. */
function formNameOf(path: PropertyKey[], rowNames: Map<string, string>): string {
  const parts = path.map(String);
  // List items of one field (a report number, a reference) belong to that field.
  if (parts[0] === "reportIds" || parts[0] === "references") return parts[0];
  for (let n = parts.length; n > 0; n--) {
    const prefix = parts.slice(0, n).join(".");
    const posted = rowNames.get(prefix);
    if (posted) return [posted, ...parts.slice(n)].join(".");
  }
  return parts.join(".") || "form";
}

/** Field errors of the API's names, by the form's names (the services' `ValidationError` fields too). */
export function formFieldsOf(fields: Record<string, string>, rowNames: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(fields)) out[formNameOf(path.split("."), rowNames)] ??= message;
  return out;
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown, rowNames: Map<string, string>): ReadAdvisoryForm<z.output<S>> & { rowNames: Map<string, string> } {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data, fields: {}, rowNames };
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) fields[formNameOf(issue.path, rowNames)] ??= issue.message;
  return { ok: false, fields, rowNames };
}

/** A new advisory: the linked reports and its content, checked by `POST /api/v1/advisories`' schema. */
export function readNewAdvisoryForm(body: unknown) {
  const posted = (body && typeof body === "object" ? body : {}) as Posted;
  const { fields, rowNames } = readContent(posted);
  return parseWith(createAdvisoryBody, { reportIds: readReportIds(str(posted, "reportIds", 2000)), ...fields }, rowNames);
}

/**
 * A change of an advisory, checked by `PATCH /api/v1/advisories/:id`' schema: every field as
 * the form shows it, the linked reports only while it is unpublished, and for a published
 * one the summary of the new revision.
 */
export function readAdvisoryChangeForm(body: unknown, advisory: Pick<Advisory, "state">) {
  const posted = (body && typeof body === "object" ? body : {}) as Posted;
  const { fields, rowNames } = readContent(posted);
  const published = advisory.state === "published";
  const revisionSummary = str(posted, "revisionSummary", 2000).trim();
  return parseWith(
    patchAdvisoryBody,
    { ...(published ? {} : { reportIds: readReportIds(str(posted, "reportIds", 2000)) }), ...fields, ...(published && revisionSummary ? { revisionSummary } : {}) },
    rowNames,
  );
}

/** Publish now: an admin's override reason, if given. */
export function readPublishForm(body: unknown) {
  const posted = (body && typeof body === "object" ? body : {}) as Posted;
  const reason = str(posted, "overrideReason", 5000).trim();
  return parseWith(publishAdvisoryBody, reason ? { overrideReason: reason } : {}, new Map());
}

/**
 * Schedule: a date and time typed in UTC (`datetime-local`, "2026-03-02T09:00") as the
 * instant the API takes, and an admin's override reason, if given.
 */
export function readScheduleForm(body: unknown) {
  const posted = (body && typeof body === "object" ? body : {}) as Posted;
  const typed = str(posted, "at", 40).trim();
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(typed) ? `${typed.length === 16 ? `${typed}:00` : typed}Z` : typed;
  const reason = str(posted, "overrideReason", 5000).trim();
  return parseWith(scheduleAdvisoryBody, { at, ...(reason ? { overrideReason: reason } : {}) }, new Map());
}

/** The form's fields showing an advisory's content (the values of an edit page). */
export function advisoryFormValues(advisory: Pick<Advisory, "content" | "reportIds">): Record<string, string> {
  const c = advisory.content;
  const values: Record<string, string> = {
    reportIds: advisory.reportIds.join(", "),
    title: c.title,
    summary: c.summary,
    cvss31Vector: c.cvss31?.vector ?? "",
    cvss40Vector: c.cvss40?.vector ?? "",
    cwe: c.cwe ? c.cwe.id : "",
    cveId: c.cveId ?? "",
    references: c.references.join("\n"),
    workarounds: c.workarounds ?? "",
  };
  c.products.forEach((p, i) => {
    values[`products.${i}.vendor`] = p.vendor;
    values[`products.${i}.product`] = p.product;
    values[`products.${i}.ecosystem`] = p.ecosystem ?? "";
    values[`products.${i}.packageName`] = p.packageName ?? "";
    values[`products.${i}.fixedVersion`] = p.fixedVersion ?? "";
    p.ranges.forEach((r, j) => {
      values[`products.${i}.ranges.${j}.introduced`] = r.introduced;
      values[`products.${i}.ranges.${j}.fixed`] = r.fixed ?? "";
      values[`products.${i}.ranges.${j}.lastAffected`] = r.lastAffected ?? "";
    });
  });
  c.credits
    .filter((credit) => credit.reportId === null)
    .forEach((credit, i) => {
      values[`credits.${i}.name`] = credit.name;
      values[`credits.${i}.url`] = credit.url ?? "";
      values[`credits.${i}.type`] = credit.type;
    });
  return values;
}

/** Only the string fields of a posted form, for keeping the input on a refused post. */
export function postedValues(body: unknown): Record<string, string> {
  const values: Record<string, string> = {};
  if (body && typeof body === "object") {
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (name !== "_csrf" && typeof value === "string") values[name] = value.slice(0, 60_000);
    }
  }
  return values;
}

/**
 * The rows the page shows for each list: every row that has a value, and one empty row more
 * (for a product, one empty range of its own too).
 */
export function formRows(values: Record<string, string>): { products: Array<{ index: number; ranges: number[] }>; credits: number[] } {
  // Rows that hold something; a row posted empty is left out like an unused one.
  const rowsIn = (prefix: string) => rowsOf(values, prefix).filter((row) => Object.entries(values).some(([name, value]) => name.startsWith(`${prefix}.${row}.`) && value.trim() !== "" && !name.endsWith(".type")));
  const next = (rows: number[]) => (rows.length ? Math.max(...rows) + 1 : 0);
  const productRows = rowsIn("products");
  const products = [...productRows, next(productRows)].map((index) => {
    const ranges = rowsIn(`products.${index}.ranges`);
    return { index, ranges: [...ranges, next(ranges)] };
  });
  const creditRows = rowsIn("credits");
  return { products, credits: [...creditRows, next(creditRows)] };
}

export { CREDIT_TYPES };
