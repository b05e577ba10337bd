/**
 * The words of a report that every part of Shield speaks: its channels, states and
 * severities. The rules about them live with their owners (the lifecycle in
 * modules/reports, the clocks in modules/sla); here are only the words, so that the
 * clocks need not import the reports module that shows them.
 */
export const CHANNELS = ["account_attack", "vulnerability", "sensitive", "support"] as const;
export type Channel = (typeof CHANNELS)[number];
/** Channels whose reports are tracked as security work; `support` only points elsewhere. */
export const TRACKED_CHANNELS = ["account_attack", "vulnerability", "sensitive"] as const;
export type TrackedChannel = (typeof TRACKED_CHANNELS)[number];

export const CLOSING_STATES = ["duplicate", "informative", "not_applicable", "spam", "routed_to_support"] as const;
export type ClosingState = (typeof CLOSING_STATES)[number];

export const REPORT_STATES = ["new", "acknowledged", "needs_info", "triaged", "resolved", "disclosed", ...CLOSING_STATES] as const;
export type ReportState = (typeof REPORT_STATES)[number];

export const SEVERITIES = ["critical", "high", "medium", "low", "none"] as const;
export type Severity = (typeof SEVERITIES)[number];
