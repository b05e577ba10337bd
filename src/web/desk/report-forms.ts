import { z } from "zod";
import { FieldsRefusedError } from "../../shared/errors.js";
import { transitionBody } from "../../modules/reports/index.js";
import { channelChangeBody, createUpstreamBody, messageBody, patchReportBody, patchUpstreamBody } from "../../modules/triage/index.js";

/*
 * The report page's forms, each read into the body the team API takes and checked by the
 * API's own schema: a form adds only what HTML forms need (strings for numbers and
 * booleans, empty for none, a date for an instant) and the few fields a form requires
 * where the API has a default.
 */

/** A posted field: a string of at most `max` characters; anything else reads as empty. */
const field = (max = 1000) => z.string().max(max).catch("");

/** An optional form value: empty means "none". */
function orNull(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

/** A date input (YYYY-MM-DD) as the instant the API stores: midnight UTC; empty is none. */
function dateToInstant(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === "" ? null : `${trimmed}T00:00:00Z`;
}

const isDateInput = (value: string) => value.trim() === "" || (/^\d{4}-\d{2}-\d{2}$/.test(value.trim()) && !Number.isNaN(Date.parse(`${value.trim()}T00:00:00Z`)));

/** A reply to the reporter (`kind=reply`) or an internal note (`kind=note`): the button pressed says which, never a default. */
export const messageForm = z
  .object({ kind: z.enum(["reply", "note"], "choose whether it goes to the reporter or stays an internal note"), body: field(60_000) })
  .transform((f): unknown => ({ body: f.body, internal: f.kind === "note" }))
  .pipe(messageBody);

/**
 * A change of state. The earlier report of a duplicate is chosen among the similar ones or
 * typed ("other"), with or without "#". Asking for information needs the question, and a
 * duplicate needs the report it repeats.
 */
export const transitionForm = z
  .object({ to: field(40), reason: field(5000), message: field(60_000), duplicateOf: field(20), duplicateOfOther: field(20), supportHandover: field(40), confirmDecryptedCopy: field(10) })
  .superRefine((f, ctx) => {
    // The API's choice is explicit by itself; on the desk, a decrypted copy also takes a ticked confirmation.
    if (f.supportHandover === "forward_decrypted" && f.confirmDecryptedCopy !== "yes") {
      ctx.addIssue({ code: "custom", path: ["confirmDecryptedCopy"], message: "tick to confirm that support gets the report in clear text" });
    }
  })
  .transform((f): unknown => {
    const chosen = f.duplicateOf.trim();
    const duplicateOf = (chosen === "other" || chosen === "" ? f.duplicateOfOther : chosen).trim().replace(/^#/, "");
    const message = f.message.trim();
    return {
      to: f.to,
      reason: f.reason,
      ...(message ? { message } : {}),
      ...(duplicateOf ? { duplicateOf: /^\d{1,12}$/.test(duplicateOf) ? Number(duplicateOf) : duplicateOf } : {}),
      ...(f.supportHandover ? { supportHandover: f.supportHandover } : {}),
    };
  })
  .pipe(transitionBody)
  .superRefine((input, ctx) => {
    if (input.to === "needs_info" && !input.message) ctx.addIssue({ code: "custom", path: ["message"], message: "is required: the reporter is asked this" });
    if (input.to === "duplicate" && input.duplicateOf === undefined) ctx.addIssue({ code: "custom", path: ["duplicateOf"], message: "is required: the number of the earlier report" });
  });

/** The assessment: vectors, severity (empty: follow the vectors), CWE (its name may follow the id), asset, versions. */
export const assessmentForm = z
  .object({ cvss31Vector: field(500), cvss40Vector: field(500), severity: field(20), cwe: field(200), asset: field(500), affectedVersions: field(2000) })
  .transform((f): unknown => ({
    cvss31Vector: orNull(f.cvss31Vector),
    cvss40Vector: orNull(f.cvss40Vector),
    severity: f.severity === "" ? null : f.severity,
    cwe: orNull(f.cwe.replace(/\s.*$/s, "")),
    asset: f.asset,
    affectedVersions: f.affectedVersions,
  }))
  .pipe(patchReportBody);

/** A new owner: required here, where the API would take "no change". */
export const ownerForm = z
  .object({ ownerEmail: field(254).transform((s) => s.trim()) })
  .refine((f) => f.ownerEmail !== "", { path: ["ownerEmail"], message: "is required" })
  .transform((f): unknown => f)
  .pipe(patchReportBody);

/** A move to another channel, with the reason. */
export const channelForm = z
  .object({ channel: field(40), reason: field(5000) })
  .transform((f): unknown => f)
  .pipe(channelChangeBody);

/** The bounty decision: eligible yes/no/undecided, an amount as typed ("1,500"), dates. */
export const bountyForm = z
  .object({ eligible: field(10), reason: field(5000), amount: field(30).transform((s) => s.trim().replace(/,/g, "")), awardedAt: field(20), paidAt: field(20) })
  .superRefine((f, ctx) => {
    if (f.amount !== "" && !Number.isFinite(Number(f.amount))) ctx.addIssue({ code: "custom", path: ["amount"], message: "must be a number, e.g. 500 or 250.50" });
    for (const name of ["awardedAt", "paidAt"] as const) {
      if (!isDateInput(f[name])) ctx.addIssue({ code: "custom", path: [name], message: "must be a date YYYY-MM-DD" });
    }
  })
  .transform((f): unknown => ({
    bounty: {
      eligible: f.eligible === "yes" ? true : f.eligible === "no" ? false : null,
      reason: f.reason,
      amount: f.amount === "" ? null : Number(f.amount),
      awardedAt: dateToInstant(f.awardedAt),
      paidAt: dateToInstant(f.paidAt),
    },
  }))
  .pipe(patchReportBody);

const upstreamFields = z
  .object({ project: field(300), contact: field(400), reference: field(600), status: field(40), embargoUntil: field(20) })
  .transform((f): unknown => ({ ...f, embargoUntil: orNull(f.embargoUntil) }));

/** An upstream project told about the report. */
export const createUpstreamForm = upstreamFields.pipe(createUpstreamBody);
export const changeUpstreamForm = upstreamFields.pipe(patchUpstreamBody);

/**
 * Reads a posted form with its schema.
 * @throws ValidationError naming the form's fields (`bounty.amount` is the form's `amount`)
 */
export function readForm<S extends z.ZodType>(form: S, body: unknown): z.output<S> {
  const result = form.safeParse(body && typeof body === "object" ? body : {});
  if (!result.success) throw FieldsRefusedError(fieldErrorsOf(result.error));
  return result.data;
}

/** Field errors of a parse by the form's field names: the first problem of each. */
function fieldErrorsOf(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const name = issue.path.join(".").replace(/^bounty\./, "");
    fields[name || "form"] ??= issue.message;
  }
  return fields;
}
