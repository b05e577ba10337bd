import type { Settings } from "../settings/index.js";
import { evaluateServiceLevels, type PauseInterval, type SlaReport } from "../sla/index.js";
import { isOpen } from "./report.js";

/**
 * The soonest service-level deadline the team still has to meet on a report: the queue
 * order of `GET /api/v1/reports?sort=deadline`. Pure. A missed deadline stays (it is in
 * the past, so the report sorts first); a report waiting for its reporter has none while
 * its clocks are paused, nor has a closed or resolved report or a support request.
 * It is stored in `reports.next_deadline_at` and refreshed on every change of a report
 * and when the service-level settings change. `pauses`: the report's ended pauses
 * (readPauses), which business-hours clocks need placed in time.
 */
export function computeNextDeadline(report: SlaReport, settings: Settings, now: Date, pauses?: readonly PauseInterval[]): string | null {
  if (!isOpen(report.state) || report.state === "needs_info") return null;
  let next: string | null = null;
  for (const status of evaluateServiceLevels(report, settings, now, pauses)) {
    if (status.stoppedAt || !status.dueAt) continue;
    if (next === null || status.dueAt < next) next = status.dueAt;
  }
  return next;
}

/** What the stored deadlines depend on; when it changes, they are computed again. */
export { serviceLevelBasisOf as deadlineBasisOf } from "../sla/index.js";
