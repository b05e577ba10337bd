import type { Logger } from "pino";
import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import { CHANNELS, OPEN_STATES, TRACKED_CHANNELS } from "../reports/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import { serviceLevelBasisOf } from "../sla/index.js";
import { readPausesOf } from "../reports/index.js";
import { MetricsTally, metricsWindowStart, type MetricsSummary } from "./metrics.js";
import { claimMetricsRefresh, countJobsByState, countReportsByStateAndChannel, pagesOfReportsReceivedSince, readMetricsSnapshot, storeMetricsSnapshot } from "./metrics.repository.js";
import type { OperationalCounts } from "./prometheus.js";

const JOB_STATES = ["pending", "running", "done", "dead"] as const;
const PAGE_SIZE = 500;

/**
 * The service-level figures of the last 90 days, worked out now: every report received in
 * the window is read, a page at a time with requests answered in between. Reports that
 * waited for their reporter get their pauses from their audited state changes, as the
 * periodic check does.
 */
export async function summariseServiceLevels(db: Db, settings: SettingsReader, clock: Clock): Promise<MetricsSummary> {
  return summariseWith(db, await settings.get(), clock.now());
}

async function summariseWith(db: Db, settings: Settings, now: Date): Promise<MetricsSummary> {
  const tally = new MetricsTally(settings, now);
  for await (const reports of pagesOfReportsReceivedSince(db, metricsWindowStart(now).toISOString(), now.toISOString(), TRACKED_CHANNELS, PAGE_SIZE)) {
    tally.add(reports, await readPausesOf(db, reports));
  }
  return tally.summary();
}

const SNAPSHOT = "service_levels";

export interface ServiceLevelMetricsOptions {
  /** Figures younger than this are shown as they are. */
  freshMs: number;
  /** Older figures, up to this age, are shown while newer ones are worked out in the background; beyond it the caller waits for new ones. */
  staleMs: number;
  /** How long one process may take to work out new figures before another may try. */
  claimMs: number;
}

export const SERVICE_LEVEL_METRICS_DEFAULTS: ServiceLevelMetricsOptions = { freshMs: 60_000, staleMs: 15 * 60_000, claimMs: 5 * 60_000 };

/**
 * The service-level figures as the metrics page and `/metrics` show them: worked out at
 * most once a minute, stored in the database for every process, and shown with the time
 * they were worked out (`summary.to`). Working them out reads every report of 90 days
 * (178,000 reports: about 2.5 s of work), which a Prometheus scrape every 15 s must not
 * repeat. A caller never waits for new figures while the stored ones are younger than
 * `staleMs` and the targets they were worked out with are still the targets.
 */
export class ServiceLevelMetrics {
  private inProgress: { basis: string; summary: Promise<MetricsSummary> } | undefined;

  constructor(
    private readonly db: Db,
    private readonly settings: SettingsReader,
    private readonly clock: Clock,
    private readonly log?: Logger,
    private readonly options: ServiceLevelMetricsOptions = SERVICE_LEVEL_METRICS_DEFAULTS,
  ) {}

  async current(): Promise<MetricsSummary> {
    // Taken before the settings are read: figures worked out with older targets are then
    // always older, and never replace newer ones in the store.
    const now = this.clock.now();
    const settings = await this.settings.get();
    const basis = serviceLevelBasisOf(settings);
    const stored = await readMetricsSnapshot(this.db, SNAPSHOT);
    if (stored && stored.basis === basis) {
      // Figures stamped ahead of this clock (another process's clock runs ahead) count as fresh.
      const age = now.getTime() - Date.parse(stored.computedAt);
      if (age <= this.options.freshMs) return JSON.parse(stored.body) as MetricsSummary;
      if (age <= this.options.staleMs) {
        const until = new Date(now.getTime() + this.options.claimMs).toISOString();
        if (!this.inProgress && (await claimMetricsRefresh(this.db, SNAPSHOT, stored.computedAt, now.toISOString(), until))) {
          this.refresh(settings, basis, now).catch((error) => this.log?.error({ err: error }, "the service-level figures could not be worked out"));
        }
        return JSON.parse(stored.body) as MetricsSummary;
      }
    }
    return this.refresh(settings, basis, now);
  }

  /** Waits for a refresh in progress (the process is stopping; its database is about to close). */
  async settle(): Promise<void> {
    await this.inProgress?.summary.catch(() => {});
  }

  /** Works out new figures and stores them; callers in this process share a run in progress with the same targets. */
  private refresh(settings: Settings, basis: string, now: Date): Promise<MetricsSummary> {
    if (this.inProgress?.basis === basis) return this.inProgress.summary;
    const run = {
      basis,
      summary: (async () => {
        const summary = await summariseWith(this.db, settings, now);
        await storeMetricsSnapshot(this.db, SNAPSHOT, { basis, computedAt: now.toISOString(), body: JSON.stringify(summary) });
        return summary;
      })().finally(() => {
        if (this.inProgress === run) this.inProgress = undefined;
      }),
    };
    this.inProgress = run;
    return run.summary;
  }
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
