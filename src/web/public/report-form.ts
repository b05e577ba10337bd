import type { z } from "zod";
import { submitReportBody, type SubmitReportBody } from "../../modules/intake/index.js";
import { reporterText } from "../../modules/reports/index.js";

/**
 * The web form's fields and their mapping onto the API's submission, validated by the
 * very same zod schema (`submitReportBody`), so the form and the API cannot drift.
 */
export const REPORT_FORM_FIELDS = [
  "channel",
  "title",
  "description",
  "steps",
  "impact",
  "asset",
  "assetOther",
  "reporterName",
  "reporterEmail",
  "reporterPgpKey",
  "creditName",
  "creditUrl",
  "creditAnonymous",
  "aiUsed",
] as const;
export type ReportFormField = (typeof REPORT_FORM_FIELDS)[number];
export type ReportFormValues = Record<ReportFormField, string>;

/** How each field is named in the error summary: the visible label. */
export const REPORT_FIELD_LABELS: Record<ReportFormField | "attachments", string> = {
  channel: "What kind of report is this?",
  title: "Title",
  description: "Description",
  steps: "Steps to reproduce",
  impact: "Impact",
  asset: "Affected asset",
  assetOther: "Other asset",
  reporterName: "Your name",
  reporterEmail: "Your e-mail address",
  reporterPgpKey: "Your OpenPGP public key",
  creditName: "Name to credit",
  creditUrl: "Link to credit",
  creditAnonymous: "Do not credit me publicly",
  aiUsed: "Did you use AI tools?",
  attachments: "Attachments",
};

/**
 * The report's own text: sent as bytes that are not valid UTF-8, it is stored with U+FFFD
 * where they could not be read and the bytes are kept with the report as a file (decision
 * 0010). Other fields (addresses, keys, links, the credit) are refused instead.
 */
export const TEXT_KEPT_AS_SENT: readonly ReportFormField[] = ["title", "description", "steps", "impact", "assetOther", "reporterName"];

/** Where a schema path shows up in the form. */
const FIELD_OF_PATH: Record<string, ReportFormField> = {
  channel: "channel",
  title: "title",
  description: "description",
  steps: "steps",
  impact: "impact",
  asset: "asset",
  reporter: "reporterName",
  "reporter.name": "reporterName",
  "reporter.email": "reporterEmail",
  "reporter.pgpKey": "reporterPgpKey",
  credit: "creditName",
  "credit.name": "creditName",
  "credit.url": "creditUrl",
  "credit.anonymous": "creditAnonymous",
  aiUsed: "aiUsed",
};

export function emptyReportForm(): ReportFormValues {
  return Object.fromEntries(REPORT_FORM_FIELDS.map((f) => [f, ""])) as ReportFormValues;
}

export function readReportForm(fields: Map<string, string>): ReportFormValues {
  const values = emptyReportForm();
  for (const field of REPORT_FORM_FIELDS) values[field] = fields.get(field) ?? "";
  return values;
}

const optional = (value: string): string | undefined => (value === "" ? undefined : value);

export type FormErrors = Partial<Record<ReportFormField | "attachments", string>>;

/** Whether the typed "other asset" is the report's asset: chosen, or no list to choose from. */
export function isOtherAssetChosen(values: Pick<ReportFormValues, "asset">, assets: readonly string[]): boolean {
  return assets.length === 0 || values.asset === "other";
}

/**
 * Turns the form into the API's submission, or says per field what is wrong.
 * Optional fields left empty are absent; text is otherwise passed on exactly as typed.
 */
export function toSubmission(values: ReportFormValues, assets: readonly string[]): { ok: true; body: SubmitReportBody } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {};

  let asset: string | undefined;
  const otherChosen = isOtherAssetChosen(values, assets);
  if (otherChosen) asset = optional(values.assetOther);
  else if (values.asset === "") asset = undefined;
  else if (assets.includes(values.asset)) asset = values.asset;
  else errors.asset = "choose one of the listed assets, or Other";

  let aiUsed: boolean | undefined;
  if (values.aiUsed === "yes") aiUsed = true;
  else if (values.aiUsed === "no") aiUsed = false;
  else if (values.aiUsed !== "") errors.aiUsed = "choose yes, no, or leave it unanswered";

  const credit = {
    ...(optional(values.creditName) !== undefined ? { name: values.creditName } : {}),
    ...(optional(values.creditUrl) !== undefined ? { url: values.creditUrl } : {}),
    ...(values.creditAnonymous !== "" ? { anonymous: true } : {}),
  };
  const candidate = {
    channel: values.channel,
    title: values.title,
    description: values.description,
    ...(optional(values.steps) !== undefined ? { steps: values.steps } : {}),
    ...(optional(values.impact) !== undefined ? { impact: values.impact } : {}),
    ...(asset !== undefined ? { asset } : {}),
    reporter: {
      name: values.reporterName,
      email: values.reporterEmail,
      ...(optional(values.reporterPgpKey) !== undefined ? { pgpKey: values.reporterPgpKey } : {}),
    },
    ...(Object.keys(credit).length ? { credit } : {}),
    ...(aiUsed !== undefined ? { aiUsed } : {}),
  };

  const parsed = submitReportBody.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      let field = FIELD_OF_PATH[issue.path.join(".")] ?? FIELD_OF_PATH[String(issue.path[0])];
      if (!field) continue;
      if (field === "asset" && otherChosen) field = "assetOther";
      errors[field] ??= field === "channel" ? "choose what kind of report this is" : issue.message;
    }
  }
  if (Object.keys(errors).length || !parsed.success) return { ok: false, errors };
  return { ok: true, body: parsed.data };
}

/** The reporter's answer on the tracking page: the same text rules as a description. */
export const replyText = reporterText(50_000).refine((s) => s.trim().length > 0, "is required");

/** The credit form on the tracking page, checked by the submission's own credit schema. */
export function toCredit(fields: { creditName: string; creditUrl: string; creditAnonymous: string }):
  | { ok: true; credit: NonNullable<SubmitReportBody["credit"]> | undefined }
  | { ok: false; errors: Partial<Record<"creditName" | "creditUrl", string>> } {
  const candidate = {
    ...(fields.creditName !== "" ? { name: fields.creditName } : {}),
    ...(fields.creditUrl !== "" ? { url: fields.creditUrl } : {}),
    ...(fields.creditAnonymous !== "" ? { anonymous: true } : {}),
  };
  const schema = submitReportBody.shape.credit as z.ZodType<SubmitReportBody["credit"]>;
  const parsed = schema.safeParse(candidate);
  if (parsed.success) return { ok: true, credit: parsed.data };
  const errors: Partial<Record<"creditName" | "creditUrl", string>> = {};
  for (const issue of parsed.error.issues) {
    const key = issue.path[0] === "url" ? "creditUrl" : "creditName";
    errors[key] ??= issue.message;
  }
  return { ok: false, errors };
}
