import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import { CHANNELS, TRACKED_CHANNELS } from "../reports/index.js";
import { loadSettings } from "../settings/index.js";
import { readPausesOf } from "../sla/index.js";
import { metricsWindowStart, summariseMetrics, type MetricsSummary } from "./metrics.js";
import { countJobsByState, countReportsByStateAndChannel, listReportsReceivedSince } from "./metrics.repository.js";
import type { OperationalCounts } from "./prometheus.js";

const OPEN_STATES = ["new", "acknowledged", "needs_info", "triaged"] as const;
const JOB_STATES = ["pending", "running", "done", "dead"] as const;

/**
 * The service-level figures of the last 90 days. Settings are read from the database
 * (not a cache) so that every process shows the same. Reports that waited for their
 * reporter get their pauses from their audited state changes, as the periodic check does.
 */
export async function summariseServiceLevels(db: Db, clock: Clock): Promise<MetricsSummary> {
  const now = clock.now();
  const settings = await loadSettings(db);
  const reports = await listReportsReceivedSince(db, metricsWindowStart(now).toISOString(), TRACKED_CHANNELS);
  const pauses = await readPausesOf(db, reports);
  return summariseMetrics(reports, settings, now, pauses);
}

/** Open reports by state and channel, outbox jobs by state; every combination, zero included, so series never vanish. */
export async function countOperationalFigures(db: Db): Promise<OperationalCounts> {
  const open = await countReportsByStateAndChannel(db, OPEN_STATES);
  const jobs = await countJobsByState(db);
  return {
    openReports: OPEN_STATES.flatMap((state) =>
      CHANNELS.map((channel) => ({ state, channel, count: open.find((o) => o.state === state && o.channel === channel)?.count ?? 0 })),
    ),
    jobs: [...new Set([...JOB_STATES, ...jobs.map((j) => j.state)])].map((state) => ({ state, count: jobs.find((j) => j.state === state)?.count ?? 0 })),
  };
}
