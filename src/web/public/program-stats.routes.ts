import type { HttpApp } from "../../platform/http/app.js";
import { describeSeconds, describeShare, type MetricsSummary, type ServiceLevelMetrics } from "../../modules/metrics/index.js";
import { CHANNEL_LABELS } from "../../modules/reports/index.js";
import { describeDuration, type SettingsReader } from "../../modules/settings/index.js";
import { renderPage } from "../render.js";
import { dateText } from "./advisory-view.js";

export interface ProgramStatsDeps {
  settings: SettingsReader;
  /** The stored service-level figures the desk's metrics page shows (worked out at most once a minute). */
  serviceLevels: ServiceLevelMetrics;
}

/**
 * The public side of the program's figures, per tracked channel over 90 days: how soon
 * reporters heard back (median and 90th percentile of the time to first response), and
 * the share of the promised times that were kept. Aggregates only: no report's title,
 * text, reporter or date appears.
 */
export function presentProgramStats(summary: MetricsSummary) {
  let met = 0;
  let decided = 0;
  const channels = summary.channels.map((c) => {
    const firstResponse = c.figures.find((f) => f.metric === "time_to_first_response")!;
    for (const f of c.figures) {
      met += f.met;
      decided += f.met + f.missed;
    }
    return {
      label: CHANNEL_LABELS[c.channel],
      received: c.received,
      answered: firstResponse.reached,
      median: describeSeconds(firstResponse.medianSeconds),
      percentile90: describeSeconds(firstResponse.percentile90Seconds ?? null),
      target: firstResponse.targetMinutes == null ? "none" : describeDuration(firstResponse.targetMinutes),
      kept: describeShare(firstResponse.shareWithinTarget),
      keptOf: firstResponse.met + firstResponse.missed,
    };
  });
  return {
    from: dateText(summary.from),
    to: dateText(summary.to),
    toIso: summary.to,
    windowDays: summary.windowDays,
    channels,
    promisesKept: decided === 0 ? null : { share: describeShare(met / decided), met, decided },
  };
}

/**
 * `/security/stats`, when an admin has opted in (`publicStats`, off by default); otherwise
 * it answers like a page that does not exist.
 */
export function registerProgramStatsPage(app: HttpApp, deps: ProgramStatsDeps): void {
  app.get("/security/stats", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    if (!settings.publicStats) {
      return reply
        .code(404)
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .send(renderPage(reply.request, "message", { title: "Not found", message: "This program does not publish its statistics.", link: { href: "/security", text: "The security policy" } }));
    }
    const stats = presentProgramStats(await deps.serviceLevels.current());
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(renderPage(reply.request, "program-stats", { title: "Program statistics", description: `How quickly ${settings.companyName} answers security reports, and how often it keeps its promised times.`, companyName: settings.companyName, stats }));
  });
}
