import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { actorOf, memberOf, requireTeam } from "../people/index.js";
import { getReportForTeam, reportIdParams, reportView } from "../reports/index.js";
import type { TeamKeyring } from "../keys/index.js";
import type { SettingsReader } from "../settings/index.js";
import { CWE_VERSION, searchCwe } from "./cwe.js";
import { channelChangeBody, cweListView, cweQuery, createUpstreamBody, messageBody, patchReportBody, patchUpstreamBody, similarReportsView, upstreamParams } from "./triage.schemas.js";
import { addUpstream, changeReportChannel, changeUpstream, findSimilarReports, postTeamMessage, removeUpstream, updateReportTriage } from "./triage.service.js";

export interface TriageRouteDeps {
  db: Db;
  clock: Clock;
  events: Events;
  settings: SettingsReader;
  /** Decrypts reports encrypted in the reporter's browser, for the view answered after a change. */
  keyring?: TeamKeyring;
  /** Wakes the outbox worker after a reply was queued for the reporter. */
  onChanged: () => void;
}

const errorView = z.object({ error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.string()).optional() }) });

/** Triage calls of the team API: severity, ownership, bounty, upstreams, replies, similar reports, CWE search. */
export function registerTriageRoutes(app: HttpApp, deps: TriageRouteDeps): void {
  const { db, clock } = deps;
  const canRead = requireTeam(db, clock, "reports:read");
  const canWrite = requireTeam(db, clock, "reports:write");
  const security = [{ bearer: [] }];
  const tags = ["triage"];

  /** The report as the team sees it after a change: the same view as a read, not recorded as one. */
  const presentAfterChange = (actor: ReturnType<typeof actorOf>, id: number) => getReportForTeam(deps, actor, id, { read: false });

  app.patch(
    "/api/v1/reports/:id",
    {
      preHandler: canWrite,
      schema: {
        summary: "Triage a report: CVSS, severity, CWE, owner, asset, affected versions, bounty",
        description:
          "Send only the fields to change; `null` clears one. CVSS vectors are checked against the CVSS 3.1 and 4.0 specifications and scored; " +
          "a malformed one is refused with a field error saying what is wrong. Without an explicit severity, the severity follows the rating of " +
          "the CVSS 4.0 vector, else the 3.1 one. Every change is audited with each changed field before and after.",
        tags,
        security,
        params: reportIdParams,
        body: patchReportBody,
        response: { 200: reportView, 400: errorView, 404: errorView },
      },
    },
    async (request) => {
      const actor = actorOf(memberOf(request));
      await updateReportTriage(deps, await deps.settings.get(), actor, request.params.id, request.body);
      return presentAfterChange(actor, request.params.id);
    },
  );

  app.post(
    "/api/v1/reports/:id/channel",
    {
      preHandler: canWrite,
      schema: {
        summary: "Move a report to another channel; its clocks follow the new channel",
        description:
          "The report takes the new channel's service levels from today's settings, counted from its receipt, so a first response may be due at once. " +
          "Moving a report to account_attack pages the team as a new one would. A closed report keeps its channel (409), and support is reached by " +
          "the routed_to_support transition. Audited with both channels and the reason.",
        tags,
        security,
        params: reportIdParams,
        body: channelChangeBody,
        response: { 200: reportView, 400: errorView, 404: errorView, 409: errorView },
      },
    },
    async (request) => {
      const actor = actorOf(memberOf(request));
      await changeReportChannel(deps, await deps.settings.get(), actor, request.params.id, request.body);
      deps.onChanged();
      return presentAfterChange(actor, request.params.id);
    },
  );

  app.post(
    "/api/v1/reports/:id/messages",
    {
      preHandler: canWrite,
      schema: {
        summary: "Reply to the reporter, or add an internal note",
        description:
          "A reply (`internal: false`) is e-mailed to the reporter; the first reply to a `new` report acknowledges it (the first human answer " +
          "stops the first-response clock) and makes you its owner if it has none. An internal note is never shown or sent to the reporter.",
        tags,
        security,
        params: reportIdParams,
        body: messageBody,
        response: { 201: reportView, 400: errorView, 404: errorView },
      },
    },
    async (request, reply) => {
      const actor = actorOf(memberOf(request));
      const { message } = await postTeamMessage(deps, actor, request.params.id, request.body);
      if (!message.internal) deps.onChanged();
      return reply.code(201).send(await presentAfterChange(actor, request.params.id));
    },
  );

  app.post(
    "/api/v1/reports/:id/upstreams",
    {
      preHandler: canWrite,
      schema: {
        summary: "Record an upstream project the issue concerns",
        tags,
        security,
        params: reportIdParams,
        body: createUpstreamBody,
        response: { 201: reportView, 400: errorView, 404: errorView },
      },
    },
    async (request, reply) => {
      const actor = actorOf(memberOf(request));
      await addUpstream(db, clock, actor, request.params.id, request.body);
      return reply.code(201).send(await presentAfterChange(actor, request.params.id));
    },
  );

  app.patch(
    "/api/v1/reports/:id/upstreams/:upstreamId",
    {
      preHandler: canWrite,
      schema: {
        summary: "Change an upstream's contact, reference, status or embargo",
        tags,
        security,
        params: upstreamParams,
        body: patchUpstreamBody,
        response: { 200: reportView, 400: errorView, 404: errorView },
      },
    },
    async (request) => {
      const actor = actorOf(memberOf(request));
      await changeUpstream(db, clock, actor, request.params.id, request.params.upstreamId, request.body);
      return presentAfterChange(actor, request.params.id);
    },
  );

  app.delete(
    "/api/v1/reports/:id/upstreams/:upstreamId",
    {
      preHandler: canWrite,
      schema: { summary: "Remove an upstream from a report", tags, security, params: upstreamParams, response: { 200: reportView, 404: errorView } },
    },
    async (request) => {
      const actor = actorOf(memberOf(request));
      await removeUpstream(db, clock, actor, request.params.id, request.params.upstreamId);
      return presentAfterChange(actor, request.params.id);
    },
  );

  app.get(
    "/api/v1/reports/:id/similar",
    {
      preHandler: canRead,
      schema: {
        summary: "The five reports most like this one, for marking it a duplicate",
        description: "Candidates share words of the title or description; the score adds a bonus for the same asset and the same CWE.",
        tags,
        security,
        params: reportIdParams,
        response: { 200: similarReportsView, 404: errorView },
      },
    },
    async (request) => ({ reportId: request.params.id, similar: await findSimilarReports(db, request.params.id) }),
  );

  app.get(
    "/api/v1/cwe",
    {
      preHandler: canRead,
      schema: {
        summary: "Search the CWE dictionary by identifier or words (top 20)",
        tags,
        security,
        querystring: cweQuery,
        response: { 200: cweListView, 400: errorView },
      },
    },
    async (request) => ({
      version: CWE_VERSION,
      weaknesses: searchCwe(request.query.q, 20).map(({ id, name, abstraction, status, usage, alternateTerms }) => ({ id, name, abstraction, status, usage, alternateTerms })),
    }),
  );
}
