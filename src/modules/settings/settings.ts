import { z } from "zod";

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

export const settingsSchema = z.object({
  programName: z.string().min(1).max(200),
  companyName: z.string().min(1).max(200),
  securityEmail: z.email(),
  supportEmail: z.email(),
  supportUrl: z.url().nullable(),
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
};

/** "72 hours", "2 hours", "5 days": how a target reads on a page or in a receipt. */
export function describeDuration(totalMinutes: number): string {
  if (totalMinutes % DAY === 0 && totalMinutes > 72 * HOUR) return plural(totalMinutes / DAY, "day");
  if (totalMinutes % HOUR === 0) return plural(totalMinutes / HOUR, "hour");
  return plural(totalMinutes, "minute");
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}
