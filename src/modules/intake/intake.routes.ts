import type { HttpApp } from "../../platform/http/app.js";
import type { Db } from "../../platform/db/database.js";
import type { GroupCommit } from "../../platform/db/group-commit.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { submitReportBody, submitReportResponse } from "./intake.schemas.js";
import { describeDuration, type SettingsReader } from "../settings/index.js";
import { firstResponsePromise } from "../sla/index.js";
import { INTAKE_RATE_LIMIT_GROUP, submitReport, trackingUrlFor } from "./intake.service.js";

export interface IntakeRouteDeps {
  db: Db;
  clock: Clock;
  events: Events;
  reportCommits: GroupCommit;
  settings: SettingsReader;
  baseUrl: () => string;
  /** Called after the report committed, to send the receipt without waiting for the next poll. */
  onSubmitted: () => void;
  rateLimitPerMinute: number;
}

export function registerIntakeRoutes(app: HttpApp, deps: IntakeRouteDeps): void {
  app.post(
    "/api/v1/reports",
    {
      schema: {
        summary: "Submit a security report (public)",
        description: "Stores the report durably, then answers 201 with its tracking link. The receipt e-mail follows through the outbox.",
        tags: ["intake"],
        body: submitReportBody,
        response: { 201: submitReportResponse },
      },
      config: { rateLimit: { max: deps.rateLimitPerMinute, timeWindow: "1 minute", groupId: INTAKE_RATE_LIMIT_GROUP } },
    },
    async (request, reply) => {
      const { report, trackingToken } = await submitReport(deps, request.body, "api", { sender: request.ip });
      deps.onSubmitted();
      const settings = await deps.settings.get();
      const promise = firstResponsePromise(report, settings, deps.clock.now());
      request.log.info({ report: report.id, channel: report.channel }, "report received");
      return reply.code(201).send({
        id: report.id,
        trackingUrl: trackingUrlFor(deps.baseUrl(), trackingToken),
        state: report.state,
        channel: report.channel,
        receivedAt: report.receivedAt,
        firstResponseDue: promise.dueAt,
        firstResponseTarget: promise.minutes == null ? null : describeDuration(promise.minutes),
      });
    },
  );
}
