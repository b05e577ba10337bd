import { z } from "zod";
import { countOf } from "../../shared/human-time.js";
import { webUrl } from "../../shared/web-url.js";

/**
 * Program settings: what the company running Shield decides, kept in the database and
 * editable while Shield runs (unlike the environment, which is the operator's).
 * Durations are in minutes. Defaults are those of PRODUCT.md.
 */
const minutes = z.number().int().positive().nullable();

const channelTargets = z.object({
  firstResponse: minutes,
  triage: minutes,
});

/** True when `Intl` knows the IANA time zone (Node ships the full time-zone database). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-4]):[0-5]\d$/, "must be a time of day HH:MM between 00:00 and 24:00")
  .refine((v) => v <= "24:00", "must be a time of day HH:MM between 00:00 and 24:00");
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be an ISO date YYYY-MM-DD")
  .refine((v) => {
    const date = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(v);
  }, "must be a real calendar date");

/**
 * Business hours of one channel: its clocks run only on working days between
 * `opensAt` and `closesAt` local time in `timeZone`, except on `holidays` (local dates).
 */
export const businessCalendarSchema = z
  .object({
    timeZone: z.string().refine(isValidTimeZone, "must be an IANA time zone such as Europe/Berlin"),
    workingDays: z
      .array(z.enum(WEEKDAYS))
      .min(1, "needs at least one working day")
      .refine((days) => new Set(days).size === days.length, "must not repeat a day"),
    opensAt: clockTime,
    closesAt: clockTime,
    holidays: z.array(isoDate).max(1000),
  })
  .refine((c) => c.opensAt < c.closesAt, { message: "must close after it opens", path: ["closesAt"] });
export type BusinessCalendar = z.infer<typeof businessCalendarSchema>;

export const settingsSchema = z.object({
  programName: z.string().min(1).max(200),
  companyName: z.string().min(1).max(200),
  securityEmail: z.email(),
  supportEmail: z.email(),
  supportUrl: webUrl().nullable(),
  targets: z.object({
    account_attack: channelTargets,
    vulnerability: channelTargets,
    sensitive: channelTargets,
  }),
  /** Resolution targets by severity, for every tracked channel. */
  resolutionTargets: z.object({ critical: minutes, high: minutes, medium: minutes, low: minutes, none: minutes }),
  /** What the reporter is told when a report is closed without another message. */
  cannedResponses: z.object({
    duplicate: z.string().min(1),
    informative: z.string().min(1),
    not_applicable: z.string().min(1),
    spam: z.string().min(1),
    routed_to_support: z.string().min(1),
  }),
  /** Accent colour of the public pages, `#rrggbb`; served in the site stylesheet (/assets/site/<version>.css), darkened where needed for AA contrast. */
  brandColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be a hex colour like #1f5fbf"),
  /** Products, domains or components a reporter can pick on the form ("Other" is always offered). */
  assets: z
    .array(z.string().trim().min(1).max(200))
    .max(200)
    .refine((list) => new Set(list).size === list.length, "must not repeat an asset"),
  /** The IANA time zone in which mails to the team write times ("Europe/Berlin"); each time names it. */
  timeZone: z.string().refine(isValidTimeZone, "must be an IANA time zone such as Europe/Berlin"),
  /** Where escalations are also posted as Slack-compatible JSON `{"text": …}`; null: e-mail only. */
  webhookUrl: webUrl().nullable(),
  /** Business hours per tracked channel; null: its clocks run around the clock. */
  calendars: z.object({
    account_attack: businessCalendarSchema.nullable(),
    vulnerability: businessCalendarSchema.nullable(),
    sensitive: businessCalendarSchema.nullable(),
  }),
  /** The channel of reports e-mailed to `securityEmail` (the policy's "urgent or sensitive reports by e-mail"). */
  securityEmailChannel: z.enum(["account_attack", "vulnerability", "sensitive"]),
  /** Further addresses Shield takes mail for (its SMTP listener and IMAP poller), each with the channel of its reports. */
  inboundAddresses: z
    .array(z.object({ address: z.email("must be an e-mail address").max(254), channel: z.enum(["account_attack", "vulnerability", "sensitive"]) }).strict())
    .max(50)
    .refine((list) => new Set(list.map((a) => a.address.toLowerCase())).size === list.length, "must not repeat an address"),
  /** Bounty amounts suggested to the triager by severity, in `currency` (ISO 4217); the amount awarded is set per report. */
  bountyTable: z.object({
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 currency code such as USD"),
    critical: z.number().nonnegative().max(1_000_000_000),
    high: z.number().nonnegative().max(1_000_000_000),
    medium: z.number().nonnegative().max(1_000_000_000),
    low: z.number().nonnegative().max(1_000_000_000),
  }),
  /** Advisories: the id prefix (`EXA` gives EXA-2026-001), the disclosure deadline promised from receipt, the CNA's identity for CVE records. */
  advisories: z.object({
    idPrefix: z.string().regex(/^[A-Z][A-Z0-9]{0,15}$/, "must be capital letters and digits, starting with a letter, at most 16"),
    disclosureDeadlineDays: z.number().int().positive().max(3650),
    cveOrgId: z.uuid("must be the CNA's organisation UUID").nullable(),
    cveShortName: z.string().regex(/^[A-Za-z0-9_-]{2,32}$/, "must be the CNA's short name").nullable(),
  }),
  /** Whether /security/stats shows the public the program's aggregate service-level figures (no report content); off unless an admin opts in. */
  publicStats: z.boolean(),
});

export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

const HOUR = 60;
const DAY = 24 * HOUR;

export const DEFAULT_SETTINGS: Settings = {
  programName: "Security Response",
  companyName: "Example Inc.",
  securityEmail: "security@example.com",
  supportEmail: "support@example.com",
  supportUrl: null,
  targets: {
    account_attack: { firstResponse: 2 * HOUR, triage: 4 * HOUR },
    vulnerability: { firstResponse: 72 * HOUR, triage: 10 * DAY },
    sensitive: { firstResponse: 24 * HOUR, triage: 5 * DAY },
  },
  resolutionTargets: { critical: 7 * DAY, high: 30 * DAY, medium: 90 * DAY, low: 180 * DAY, none: null },
  cannedResponses: {
    duplicate: "Thank you for your report. The issue you describe was already reported to us and is being handled under an earlier report.",
    informative: "Thank you for your report. We reviewed it and found no security impact that needs a fix, but the information is useful to us.",
    not_applicable: "Thank you for your report. After review we concluded that it does not describe a security issue in our products.",
    spam: "This report was closed as spam.",
    routed_to_support: "Thank you for writing. This is not a security issue, so we forwarded your message to our support team, who will answer you.",
  },
  brandColor: "#1f5fbf",
  assets: [],
  webhookUrl: null,
  timeZone: "UTC",
  // PRODUCT.md: business-hours calendars are optional; account_attack stays 24/7.
  calendars: { account_attack: null, vulnerability: null, sensitive: null },
  bountyTable: { currency: "USD", critical: 5000, high: 2000, medium: 500, low: 100 },
  advisories: { idPrefix: "SEC", disclosureDeadlineDays: 90, cveOrgId: null, cveShortName: null },
  securityEmailChannel: "sensitive",
  inboundAddresses: [],
  publicStats: false,
};

/** "72 hours", "2 hours", "5 days": how a target reads on a page or in a receipt. */
export function describeDuration(totalMinutes: number): string {
  if (totalMinutes % DAY === 0 && totalMinutes > 72 * HOUR) return countOf(totalMinutes / DAY, "day");
  if (totalMinutes % HOUR === 0) return countOf(totalMinutes / HOUR, "hour");
  return countOf(totalMinutes, "minute");
}
