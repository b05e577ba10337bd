import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import { requireTeam } from "../people/index.js";
import { countOperationalFigures, type ServiceLevelMetrics } from "./metrics.service.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusMetrics } from "./prometheus.js";

export interface MetricsRouteDeps {
  db: Db;
  clock: Clock;
  serviceLevels: ServiceLevelMetrics;
}

/**
 * `GET /metrics` for Prometheus: the service-level figures as gauges, open reports and
 * outbox jobs. It needs a bearer token of a member who may read reports (a viewer's is
 * enough): give the scraper its own, e.g. `shield token create metrics@… --name prometheus`,
 * and set it as `authorization.credentials` of the scrape job.
 */
export function registerMetricsRoutes(app: HttpApp, deps: MetricsRouteDeps): void {
  const { db, clock, serviceLevels } = deps;
  app.get(
    "/metrics",
    {
      preHandler: requireTeam(db, clock, "reports:read"),
      schema: {
        summary: "Service-level metrics in the Prometheus text format 0.0.4",
        description: "Gauges with `channel` and `metric` labels over the reports received in the last 90 days, plus open reports by state and channel and outbox jobs by state. Needs `Authorization: Bearer <token>` of a team member.",
        tags: ["ops"],
        security: [{ bearer: [] }],
      },
    },
    async (_request, reply) => {
      const [summary, counts] = await Promise.all([serviceLevels.current(), countOperationalFigures(db)]);
      return reply.type(PROMETHEUS_CONTENT_TYPE).header("cache-control", "no-store").send(renderPrometheusMetrics(summary, counts));
    },
  );
}
