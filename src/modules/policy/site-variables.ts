import { describeDuration, type Settings } from "../settings/index.js";

/** What built-in variables are derived from: the program settings and Shield's public URL. */
export interface SiteContext {
  settings: Settings;
  baseUrl: string;
}

function within(minutes: number | null): string {
  return minutes == null ? "as soon as we can" : `within ${describeDuration(minutes)}`;
}

/**
 * The `{{ site.* }}` variables every policy can use, filled from the settings so that
 * the page keeps the promises the desk is configured to keep. The e-mail variables in
 * the `email_*` form are `mailto:` URLs (the seed page uses `{{ site.email_security }}`
 * as a link target); the `*_email` forms are the bare addresses, for link text.
 */
export const BUILT_IN_VARIABLES: Record<string, { describe: string; value: (site: SiteContext) => string }> = {
  program_name: { describe: "the program's name (setting programName)", value: ({ settings }) => settings.programName },
  company_name: { describe: "the company's name (setting companyName)", value: ({ settings }) => settings.companyName },
  email_security: { describe: "mailto: link to the security contact (setting securityEmail)", value: ({ settings }) => `mailto:${settings.securityEmail}` },
  email_support: { describe: "mailto: link to the support contact (setting supportEmail)", value: ({ settings }) => `mailto:${settings.supportEmail}` },
  security_email: { describe: "the security contact's address", value: ({ settings }) => settings.securityEmail },
  support_email: { describe: "the support contact's address", value: ({ settings }) => settings.supportEmail },
  support_url: { describe: "where support requests go: setting supportUrl, else a mailto: link to supportEmail", value: ({ settings }) => settings.supportUrl ?? `mailto:${settings.supportEmail}` },
  policy_url: { describe: "this page", value: ({ baseUrl }) => `${baseUrl}/security` },
  report_url: { describe: "the report form", value: ({ baseUrl }) => `${baseUrl}/security/report` },
  pgp_key_url: { describe: "the team's public OpenPGP key", value: ({ baseUrl }) => `${baseUrl}/security/pgp-key.asc` },
  thanks_url: { describe: "the hall of fame", value: ({ baseUrl }) => `${baseUrl}/security/thanks` },
  advisories_url: { describe: "the published security advisories", value: ({ baseUrl }) => `${baseUrl}/security/advisories` },
  first_response_account_attack: { describe: 'promised first response for an account under attack, e.g. "within 2 hours"', value: ({ settings }) => within(settings.targets.account_attack.firstResponse) },
  first_response_vulnerability: { describe: "promised first response for a vulnerability report", value: ({ settings }) => within(settings.targets.vulnerability.firstResponse) },
  first_response_sensitive: { describe: "promised first response for other urgent or sensitive reports", value: ({ settings }) => within(settings.targets.sensitive.firstResponse) },
  triage_account_attack: { describe: "promised triage time for an account under attack", value: ({ settings }) => within(settings.targets.account_attack.triage) },
  triage_vulnerability: { describe: 'promised triage time for a vulnerability report, e.g. "within 10 days"', value: ({ settings }) => within(settings.targets.vulnerability.triage) },
  triage_sensitive: { describe: "promised triage time for other urgent or sensitive reports", value: ({ settings }) => within(settings.targets.sensitive.triage) },
};

export const BUILT_IN_VARIABLE_NAMES: ReadonlySet<string> = new Set(Object.keys(BUILT_IN_VARIABLES));

export function computeBuiltInVariables(site: SiteContext): Record<string, string> {
  return Object.fromEntries(Object.entries(BUILT_IN_VARIABLES).map(([name, variable]) => [name, variable.value(site)]));
}
