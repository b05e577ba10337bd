import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { actorOf, memberOf, requireTeam } from "../people/index.js";
import type { SettingsReader } from "../settings/index.js";
import type { TeamKeyring } from "../keys/index.js";
import { readPausesOf } from "./report-pauses.repository.js";
import { presentReportSummary } from "./report.presenter.js";
import { getReportForTeam } from "./report-view.service.js";
import { listReportsQuery, reportIdParams, reportListView, reportView, transitionBody } from "./report.schemas.js";
import { searchWords } from "./report-search.js";
import { listReportsForTeam, resolveOwnerFilter, transitionReport } from "./report.service.js";

export interface ReportRouteDeps {
  db: Db;
  clock: Clock;
  events: Events;
  settings: SettingsReader;
  onChanged: () => void;
  /** Decrypts reports encrypted in the reporter's browser for the team. */
  keyring?: TeamKeyring;
}

const errorView = z.object({ error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.string()).optional() }) });

export function registerReportRoutes(app: HttpApp, deps: ReportRouteDeps): void {
  const { db, clock } = deps;
  const canRead = requireTeam(db, clock, "reports:read");
  const canWrite = requireTeam(db, clock, "reports:write");
  const security = [{ bearer: [] }];

  app.get(
    "/api/v1/reports",
    { preHandler: canRead, schema: { summary: "List reports", tags: ["reports"], security, querystring: listReportsQuery, response: { 200: reportListView, 400: errorView } } },
    async (request) => {
      const { state, channel, owner, severity, q, sort, limit, offset, before } = request.query;
      const settings = await deps.settings.get();
      const ownerId = await resolveOwnerFilter(db, actorOf(memberOf(request)), owner);
      const words = q === undefined ? undefined : searchWords(q);
      const { reports, total, totalIsExact } = await listReportsForTeam(db, { states: state, channels: channel, ownerId, severities: severity, words, sort, limit, offset, ...(before !== undefined ? { beforeId: before } : {}) });
      const pauses = await readPausesOf(db, reports);
      return { reports: reports.map((r) => presentReportSummary(r, settings, clock.now(), pauses.get(r.id))), total, totalIsExact, limit, offset };
    },
  );

  app.get(
    "/api/v1/reports/:id",
    { preHandler: canRead, schema: { summary: "Read one report with its thread (audited)", tags: ["reports"], security, params: reportIdParams, response: { 200: reportView, 404: errorView } } },
    async (request) => {
      return getReportForTeam(deps, actorOf(memberOf(request)), request.params.id, { read: true });
    },
  );

  app.post(
    "/api/v1/reports/:id/transitions",
    {
      preHandler: canWrite,
      schema: {
        summary: "Move a report along its lifecycle",
        description: "An illegal move answers 409 `illegal_transition` with the reason.",
        tags: ["reports"],
        security,
        params: reportIdParams,
        body: transitionBody,
        response: { 200: reportView, 409: errorView },
      },
    },
    async (request) => {
      const actor = actorOf(memberOf(request));
      const settings = await deps.settings.get();
      await transitionReport(deps, settings, actor, request.params.id, request.body);
      deps.onChanged();
      return getReportForTeam(deps, actor, request.params.id, { read: false });
    },
  );
}
