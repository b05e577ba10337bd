import { WEEKDAYS, settingsSchema, type Settings } from "../../modules/settings/index.js";
import { CLOSING_STATES, TRACKED_CHANNELS } from "../../modules/reports/index.js";

/**
 * The admin settings page as data: which forms it has, their fields (named after the
 * setting path they edit, e.g. `targets.vulnerability.firstResponse`), how a setting is
 * shown in a field and how a posted form becomes setting values. Pure. Validation is the
 * settings module's zod schema; only the units of the page (hours, days, one item per
 * line) are handled here, so that an error names the field a person typed into.
 */
export type FieldType = "text" | "email" | "url" | "number" | "textarea" | "checkbox" | "days" | "time" | "colour";

export interface FieldSpec {
  name: string;
  label: string;
  type: FieldType;
  hint?: string;
}

export interface FieldGroup {
  legend: string;
  fields: FieldSpec[];
}

export interface SectionSpec {
  id: SectionId;
  title: string;
  intro: string;
  groups: FieldGroup[];
}

export const SECTION_IDS = ["program", "targets", "resolution", "calendars", "bounty", "canned", "assets", "disclosure"] as const;
export type SectionId = (typeof SECTION_IDS)[number];
type SettingKey = keyof Settings;

/** Which settings each form saves. */
const KEYS_OF: Record<SectionId, SettingKey[]> = {
  program: ["programName", "companyName", "securityEmail", "supportEmail", "supportUrl", "brandColor", "webhookUrl", "timeZone"],
  targets: ["targets"],
  resolution: ["resolutionTargets"],
  calendars: ["calendars"],
  bounty: ["bountyTable"],
  canned: ["cannedResponses"],
  assets: ["assets"],
  disclosure: ["advisories", "publicStats"],
};

export const CHANNEL_LABELS: Record<string, string> = { account_attack: "Account under attack", vulnerability: "Vulnerability", sensitive: "Sensitive" };
const SEVERITY_LABELS = { critical: "Critical", high: "High", medium: "Medium", low: "Low", none: "None" } as const;
const CANNED_LABELS: Record<string, string> = {
  duplicate: "Duplicate",
  informative: "Informative",
  not_applicable: "Not applicable",
  spam: "Spam",
  routed_to_support: "Routed to support",
};
export const WEEKDAY_LABELS: Record<string, string> = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };

export const SECTIONS: SectionSpec[] = [
  {
    id: "program",
    title: "Program and contacts",
    intro: "Shown on the public pages, in security.txt and in mail to reporters.",
    groups: [
      {
        legend: "Program",
        fields: [
          { name: "programName", label: "Program name", type: "text" },
          { name: "companyName", label: "Company name", type: "text" },
          { name: "brandColor", label: "Brand colour", type: "colour", hint: "A hex colour like #1f5fbf; darkened on the pages where needed for contrast." },
        ],
      },
      {
        legend: "Contacts",
        fields: [
          { name: "securityEmail", label: "Security e-mail", type: "email" },
          { name: "supportEmail", label: "Support e-mail", type: "email" },
          { name: "supportUrl", label: "Support URL", type: "url", hint: "Optional." },
          { name: "webhookUrl", label: "Webhook URL", type: "url", hint: "Optional. Escalations and missed targets are also posted here as Slack-compatible JSON." },
          { name: "timeZone", label: "Time zone of team mail", type: "text", hint: "An IANA time zone such as Europe/Berlin: times in mail to the team are written in it, with its name." },
        ],
      },
    ],
  },
  {
    id: "targets",
    title: "Response targets",
    intro: "Hours from receipt; leave a field empty for no target. Business hours below apply. A change applies to reports received after it: what a report was promised when it arrived stays its deadline.",
    groups: TRACKED_CHANNELS.map((ch) => ({
      legend: CHANNEL_LABELS[ch]!,
      fields: [
        { name: `targets.${ch}.firstResponse`, label: "First response (hours)", type: "number" as const },
        { name: `targets.${ch}.triage`, label: "Triage (hours)", type: "number" as const },
      ],
    })),
  },
  {
    id: "resolution",
    title: "Resolution targets",
    intro: "Days from receipt to a fix, by severity; leave a field empty for no target. A change applies to reports received after it: what a report was promised when it arrived stays its deadline.",
    groups: [
      {
        legend: "By severity",
        fields: (Object.keys(SEVERITY_LABELS) as Array<keyof typeof SEVERITY_LABELS>).map((s) => ({ name: `resolutionTargets.${s}`, label: `${SEVERITY_LABELS[s]} (days)`, type: "number" as const })),
      },
    ],
  },
  {
    id: "calendars",
    title: "Business hours",
    intro: "A channel with business hours counts only open hours towards its targets; without, its clocks run around the clock. A change applies to reports received after it: what a report was promised when it arrived stays its deadline.",
    groups: TRACKED_CHANNELS.map((ch) => ({
      legend: CHANNEL_LABELS[ch]!,
      fields: [
        { name: `calendars.${ch}.enabled`, label: "Use business hours", type: "checkbox" as const },
        { name: `calendars.${ch}.timeZone`, label: "Time zone", type: "text" as const, hint: "An IANA time zone such as Europe/Berlin." },
        { name: `calendars.${ch}.workingDays`, label: "Working days", type: "days" as const },
        { name: `calendars.${ch}.opensAt`, label: "Opens at", type: "time" as const },
        { name: `calendars.${ch}.closesAt`, label: "Closes at", type: "time" as const },
        { name: `calendars.${ch}.holidays`, label: "Holidays", type: "textarea" as const, hint: "One date per line, YYYY-MM-DD." },
      ],
    })),
  },
  {
    id: "bounty",
    title: "Bounty table",
    intro: "Amounts suggested to the triager by severity; the amount awarded is set per report.",
    groups: [
      {
        legend: "Amounts",
        fields: [
          { name: "bountyTable.currency", label: "Currency", type: "text", hint: "ISO 4217 code, such as USD or EUR." },
          ...(["critical", "high", "medium", "low"] as const).map((s) => ({ name: `bountyTable.${s}`, label: SEVERITY_LABELS[s], type: "number" as const })),
        ],
      },
    ],
  },
  {
    id: "canned",
    title: "Canned responses",
    intro: "What the reporter is told when a report is closed without another message.",
    groups: [{ legend: "Closing messages", fields: CLOSING_STATES.map((s) => ({ name: `cannedResponses.${s}`, label: CANNED_LABELS[s]!, type: "textarea" as const })) }],
  },
  {
    id: "assets",
    title: "Assets",
    intro: "Products, domains or components a reporter can pick on the form (“Other” is always offered).",
    groups: [{ legend: "Assets", fields: [{ name: "assets", label: "Assets", type: "textarea", hint: "One per line." }] }],
  },
  {
    id: "disclosure",
    title: "Disclosure and public statistics",
    intro: "How advisories are numbered and credited in CVE records, the disclosure deadline the desk shows, and whether the public may see the program's figures. A change of the deadline applies to reports received after it.",
    groups: [
      {
        legend: "Advisories",
        fields: [
          { name: "advisories.idPrefix", label: "Advisory id prefix", type: "text", hint: "Capital letters and digits: EXA gives EXA-2026-001." },
          { name: "advisories.disclosureDeadlineDays", label: "Disclosure deadline (days from receipt)", type: "number" },
          { name: "advisories.cveOrgId", label: "CNA organisation id (UUID)", type: "text", hint: "Optional: needed for the CVE JSON 5 export." },
          { name: "advisories.cveShortName", label: "CNA short name", type: "text", hint: "Optional." },
        ],
      },
      {
        legend: "Public statistics",
        fields: [
          {
            name: "publicStats",
            label: "Publish the program's statistics at /security/stats",
            type: "checkbox",
            hint: "Off by default. When on, anyone can read the 90-day median and 90th-percentile time to first response per channel and the share of promises kept; never anything of a report.",
          },
        ],
      },
    ],
  },
];

export type FormValues = Record<string, string | string[]>;

const hoursText = (minutes: number | null) => (minutes == null ? "" : String(Math.round((minutes / 60) * 100) / 100));
const daysText = (minutes: number | null) => (minutes == null ? "" : String(Math.round((minutes / 1440) * 100) / 100));

/** Every field's value as the page shows it. */
export function settingsFormValues(settings: Settings): FormValues {
  const v: FormValues = {
    programName: settings.programName,
    companyName: settings.companyName,
    brandColor: settings.brandColor,
    securityEmail: settings.securityEmail,
    supportEmail: settings.supportEmail,
    supportUrl: settings.supportUrl ?? "",
    webhookUrl: settings.webhookUrl ?? "",
    timeZone: settings.timeZone,
    "bountyTable.currency": settings.bountyTable.currency,
    assets: settings.assets.join("\n"),
    "advisories.idPrefix": settings.advisories.idPrefix,
    "advisories.disclosureDeadlineDays": String(settings.advisories.disclosureDeadlineDays),
    "advisories.cveOrgId": settings.advisories.cveOrgId ?? "",
    "advisories.cveShortName": settings.advisories.cveShortName ?? "",
    publicStats: settings.publicStats ? "on" : "",
  };
  for (const ch of TRACKED_CHANNELS) {
    v[`targets.${ch}.firstResponse`] = hoursText(settings.targets[ch].firstResponse);
    v[`targets.${ch}.triage`] = hoursText(settings.targets[ch].triage);
    const calendar = settings.calendars[ch];
    v[`calendars.${ch}.enabled`] = calendar ? "on" : "";
    v[`calendars.${ch}.timeZone`] = calendar?.timeZone ?? "UTC";
    v[`calendars.${ch}.workingDays`] = calendar?.workingDays ?? ["mon", "tue", "wed", "thu", "fri"];
    v[`calendars.${ch}.opensAt`] = calendar?.opensAt ?? "09:00";
    v[`calendars.${ch}.closesAt`] = calendar?.closesAt ?? "17:00";
    v[`calendars.${ch}.holidays`] = (calendar?.holidays ?? []).join("\n");
  }
  for (const s of Object.keys(settings.resolutionTargets) as Array<keyof Settings["resolutionTargets"]>) v[`resolutionTargets.${s}`] = daysText(settings.resolutionTargets[s]);
  for (const s of ["critical", "high", "medium", "low"] as const) v[`bountyTable.${s}`] = String(settings.bountyTable[s]);
  for (const s of CLOSING_STATES) v[`cannedResponses.${s}`] = settings.cannedResponses[s];
  return v;
}

/** The posted fields of one form, as strings (or lists for the day checkboxes), each bounded. */
export function readPostedValues(section: SectionSpec, body: unknown): FormValues {
  const raw = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const out: FormValues = {};
  for (const group of section.groups) {
    for (const field of group.fields) {
      const value = raw[field.name];
      if (field.type === "days") {
        const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
        out[field.name] = list.filter((d): d is string => typeof d === "string" && d.length <= 10).slice(0, 7);
      } else {
        out[field.name] = typeof value === "string" ? value.slice(0, 20_000) : "";
      }
    }
  }
  return out;
}

export interface ParsedSection {
  /** The new value of each setting of the form, when every field is valid. */
  updates: Partial<Record<SettingKey, unknown>>;
  /** Field name → what is wrong, written to sit next to the field. */
  errors: Record<string, string>;
}

const text = (values: FormValues, name: string) => String(values[name] ?? "").trim();
const lines = (values: FormValues, name: string) =>
  String(values[name] ?? "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** Hours or days to minutes; empty is "no target". */
function durationField(values: FormValues, name: string, unitMinutes: number, unit: string, errors: Record<string, string>): number | null {
  const raw = text(values, name);
  if (raw === "") return null;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    errors[name] = `must be a positive number of ${unit}, or empty for no target`;
    return null;
  }
  return Math.max(1, Math.round(n * unitMinutes));
}

function amountField(values: FormValues, name: string, errors: Record<string, string>): number {
  const raw = text(values, name);
  const n = raw === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(n)) errors[name] = "must be an amount such as 500";
  return n;
}

/** A posted form as setting values; each is checked against the settings schema, and each problem is named by its field. */
export function parseSettingsSection(id: SectionId, values: FormValues): ParsedSection {
  const errors: Record<string, string> = {};
  const candidate: Partial<Record<SettingKey, unknown>> = {};
  switch (id) {
    case "program":
      for (const key of KEYS_OF.program) {
        const value = text(values, key);
        candidate[key] = (key === "supportUrl" || key === "webhookUrl") && value === "" ? null : value;
      }
      break;
    case "targets":
      candidate.targets = Object.fromEntries(
        TRACKED_CHANNELS.map((ch) => [
          ch,
          { firstResponse: durationField(values, `targets.${ch}.firstResponse`, 60, "hours", errors), triage: durationField(values, `targets.${ch}.triage`, 60, "hours", errors) },
        ]),
      );
      break;
    case "resolution":
      candidate.resolutionTargets = Object.fromEntries(
        (["critical", "high", "medium", "low", "none"] as const).map((s) => [s, durationField(values, `resolutionTargets.${s}`, 1440, "days", errors)]),
      );
      break;
    case "calendars":
      candidate.calendars = Object.fromEntries(
        TRACKED_CHANNELS.map((ch) => {
          if (text(values, `calendars.${ch}.enabled`) === "") return [ch, null];
          const days = values[`calendars.${ch}.workingDays`];
          return [
            ch,
            {
              timeZone: text(values, `calendars.${ch}.timeZone`),
              workingDays: (Array.isArray(days) ? days : []).filter((d) => (WEEKDAYS as readonly string[]).includes(d)),
              opensAt: text(values, `calendars.${ch}.opensAt`),
              closesAt: text(values, `calendars.${ch}.closesAt`),
              holidays: lines(values, `calendars.${ch}.holidays`),
            },
          ];
        }),
      );
      break;
    case "bounty":
      candidate.bountyTable = {
        currency: text(values, "bountyTable.currency").toUpperCase(),
        critical: amountField(values, "bountyTable.critical", errors),
        high: amountField(values, "bountyTable.high", errors),
        medium: amountField(values, "bountyTable.medium", errors),
        low: amountField(values, "bountyTable.low", errors),
      };
      break;
    case "canned":
      candidate.cannedResponses = Object.fromEntries(CLOSING_STATES.map((s) => [s, text(values, `cannedResponses.${s}`)]));
      break;
    case "assets":
      candidate.assets = lines(values, "assets");
      break;
    case "disclosure": {
      const days = text(values, "advisories.disclosureDeadlineDays");
      candidate.advisories = {
        idPrefix: text(values, "advisories.idPrefix").toUpperCase(),
        disclosureDeadlineDays: /^\d{1,6}$/.test(days) ? Number(days) : Number.NaN,
        cveOrgId: text(values, "advisories.cveOrgId") || null,
        cveShortName: text(values, "advisories.cveShortName") || null,
      };
      if (!/^\d{1,6}$/.test(days)) errors["advisories.disclosureDeadlineDays"] = "must be a whole number of days, such as 90";
      candidate.publicStats = text(values, "publicStats") !== "";
      break;
    }
  }
  const updates: Partial<Record<SettingKey, unknown>> = {};
  for (const key of KEYS_OF[id]) {
    const parsed = settingsSchema.shape[key].safeParse(candidate[key]);
    if (parsed.success) {
      updates[key] = parsed.data;
      continue;
    }
    for (const issue of parsed.error.issues) {
      // Path segments that index a list (a holiday, an asset) point at the one textarea.
      const field = [key, ...issue.path.filter((p) => typeof p === "string")].join(".");
      errors[field] ??= readableMessage(issue);
    }
  }
  return Object.keys(errors).length ? { updates: {}, errors: attachToFields(errors) } : { updates, errors };
}

/** An error on a path that is not a field (a calendar as a whole) goes to the first field under it. */
function attachToFields(errors: Record<string, string>): Record<string, string> {
  const names = SECTIONS.flatMap((s) => s.groups.flatMap((g) => g.fields.map((f) => f.name)));
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(errors)) {
    const field = names.includes(path) ? path : (names.find((n) => n.startsWith(`${path}.`)) ?? path);
    out[field] ??= message;
  }
  return out;
}

/** zod's words where they read badly next to a field. */
function readableMessage(issue: { code: string; message: string; origin?: string; minimum?: unknown; format?: string }): string {
  if (issue.code === "too_small" && issue.origin === "string" && Number(issue.minimum) === 1) return "is required";
  if (issue.code === "invalid_format" && issue.format === "email" && issue.message.startsWith("Invalid")) return "must be an e-mail address such as security@example.com";
  if (issue.code === "invalid_format" && issue.format === "url" && issue.message.startsWith("Invalid")) return "must be a URL such as https://example.com/help";
  return issue.message;
}

export function sectionById(id: string): SectionSpec | undefined {
  return SECTIONS.find((s) => s.id === id);
}
