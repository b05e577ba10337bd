import type { Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { ReportUpstreamsTable } from "../../platform/db/schema.js";
import type { CvssDetails,CvssRatingName,ReportDetails,SeveritySource,Upstream,UpstreamStatus } from "./report-details.js";
import { type Severity } from "./report.js";

export function toUpstream(row: Selectable<ReportUpstreamsTable>): Upstream {
  return {
    id: row.id,
    reportId: row.report_id,
    project: row.project,
    contact: row.contact,
    reference: row.reference,
    status: row.status as UpstreamStatus,
    embargoUntil: row.embargo_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function cvssOf(vector: string | null, score: number | null, rating: string | null): CvssDetails | null {
  return vector == null || score == null || rating == null ? null : { vector, score: Number(score), rating: rating as CvssRatingName };
}

/** The triage fields of a report (severity, CWE, bounty, upstreams, owner's address), for the team's view. */
export async function findReportDetails(db: Executor, id: number): Promise<ReportDetails | undefined> {
  const row = await db
    .selectFrom("reports")
    .leftJoin("users", "users.id", "reports.owner_id")
    .selectAll("reports")
    .select("users.email as owner_email")
    .where("reports.id", "=", id)
    .executeTakeFirst();
  if (!row) return undefined;
  const upstreams = await db.selectFrom("report_upstreams").selectAll().where("report_id", "=", id).orderBy("id").execute();
  return {
    ownerEmail: row.owner_email ?? null,
    cvss31: cvssOf(row.cvss31_vector, row.cvss31_score, row.cvss31_rating),
    cvss40: cvssOf(row.cvss40_vector, row.cvss40_score, row.cvss40_rating),
    severity: row.severity as Severity | null,
    severitySource: row.severity == null ? null : (row.severity_source as SeveritySource | null),
    cwe: row.cwe_id && row.cwe_name != null ? { id: row.cwe_id, name: row.cwe_name } : null,
    affectedVersions: row.affected_versions,
    bounty: {
      eligible: row.bounty_eligible == null ? null : row.bounty_eligible === 1,
      reason: row.bounty_reason,
      amount: row.bounty_amount == null ? null : Number(row.bounty_amount),
      currency: row.bounty_currency,
      awardedAt: row.bounty_awarded_at,
      paidAt: row.bounty_paid_at,
    },
    upstreams: upstreams.map(toUpstream),
  };
}
