import type { Severity } from "./report.js";

/**
 * What triage adds to a report, as the team API shows it. The fields live on the report
 * row and in `report_upstreams`; the triage module validates and writes them.
 */
export type CvssRatingName = "none" | "low" | "medium" | "high" | "critical";

export interface CvssDetails {
  vector: string;
  score: number;
  rating: CvssRatingName;
}

export const UPSTREAM_STATUSES = ["not_notified", "notified", "acknowledged", "fixed", "published", "declined"] as const;
export type UpstreamStatus = (typeof UPSTREAM_STATUSES)[number];

export interface Upstream {
  id: number;
  reportId: number;
  project: string;
  contact: string | null;
  reference: string | null;
  status: UpstreamStatus;
  /** YYYY-MM-DD */
  embargoUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

export const SEVERITY_SOURCES = ["explicit", "cvss31", "cvss40"] as const;
export type SeveritySource = (typeof SEVERITY_SOURCES)[number];

export interface ReportDetails {
  ownerEmail: string | null;
  cvss31: CvssDetails | null;
  cvss40: CvssDetails | null;
  severity: Severity | null;
  /** Where the severity came from; null when it was set by a transition or is unset. */
  severitySource: SeveritySource | null;
  cwe: { id: string; name: string } | null;
  affectedVersions: string | null;
  bounty: {
    /** null: not decided yet */
    eligible: boolean | null;
    reason: string | null;
    amount: number | null;
    currency: string | null;
    awardedAt: string | null;
    paidAt: string | null;
  };
  upstreams: Upstream[];
}
