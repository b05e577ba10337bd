import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { actorOf, hasPermission, memberOf, requireTeam } from "../people/index.js";
import type { SettingsReader } from "../settings/index.js";
import type { Advisory } from "./advisory.js";
import {
  advisoryListView,
  advisoryParams,
  advisoryView,
  createAdvisoryBody,
  listAdvisoriesQuery,
  patchAdvisoryBody,
  publishAdvisoryBody,
  scheduleAdvisoryBody,
} from "./advisory.schemas.js";
import {
  createAdvisory,
  listAdvisories,
  publishAdvisory,
  readAdvisoryAsTeam,
  scheduleAdvisory,
  unscheduleAdvisory,
  updateAdvisory,
  type AdvisoryCaller,
  type AdvisoryDeps,
} from "./advisory.service.js";
import { presentAdvisory } from "./advisory.presenter.js";

export interface AdvisoryRouteDeps extends AdvisoryDeps {
  settings: SettingsReader;
  /** Wakes the worker: publication enqueues the reporters' mail. */
  onChanged: () => void;
}

const errorView = z.object({ error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.string()).optional() }) });

/** `/api/v1/advisories`: write, schedule and publish advisories (the disclosure guard answers 409 `disclosure_guard`). */
export function registerAdvisoryRoutes(app: HttpApp, deps: AdvisoryRouteDeps): void {
  const { db, clock } = deps;
  const canRead = requireTeam(db, clock, "reports:read");
  const canWrite = requireTeam(db, clock, "reports:write");
  const security = [{ bearer: [] }];
  const tags = ["advisories"];
  const callerOf = (request: Parameters<typeof memberOf>[0]): AdvisoryCaller => {
    const member = memberOf(request);
    return { actor: actorOf(member), mayOverride: hasPermission(member.role, "admin") };
  };
  const present = (advisory: Advisory) => presentAdvisory(advisory, deps.baseUrl());

  app.get(
    "/api/v1/advisories",
    { preHandler: canRead, schema: { summary: "List advisories, newest first", tags, security, querystring: listAdvisoriesQuery, response: { 200: advisoryListView } } },
    async (request) => ({ advisories: (await listAdvisories(db, { state: request.query.state })).map(present) }),
  );

  app.post(
    "/api/v1/advisories",
    {
      preHandler: canWrite,
      schema: {
        summary: "Write a new draft advisory from one or more reports",
        description: "Severity (CVSS 3.1 / 4.0) and CWE not given are taken from the linked reports. The id is the program's prefix, the year and a sequence number.",
        tags,
        security,
        body: createAdvisoryBody,
        response: { 201: advisoryView, 400: errorView },
      },
    },
    async (request, reply) => {
      const advisory = await createAdvisory(db, clock, await deps.settings.get(), actorOf(memberOf(request)), request.body);
      return reply.code(201).send(present(advisory));
    },
  );

  app.get(
    "/api/v1/advisories/:id",
    { preHandler: canRead, schema: { summary: "Read one advisory", tags, security, params: advisoryParams, response: { 200: advisoryView, 404: errorView } } },
    async (request) => present(await readAdvisoryAsTeam(db, request.params.id)),
  );

  app.get(
    "/api/v1/advisories/:id/revisions/:number",
    {
      preHandler: canRead,
      schema: {
        summary: "Read a published revision as the public read it",
        tags,
        security,
        params: advisoryParams.extend({ number: z.coerce.number().int().positive() }),
        response: { 200: z.object({ number: z.number(), summary: z.string(), publishedAt: z.string(), content: advisoryView.shape.content }), 404: errorView },
      },
    },
    async (request, reply) => {
      const advisory = await readAdvisoryAsTeam(db, request.params.id);
      const revision = advisory.revisions.find((r) => r.number === request.params.number);
      if (!revision) return reply.code(404).send({ error: { code: "revision_not_found", message: `Advisory ${advisory.publicId} has no revision ${request.params.number}.` } });
      return revision;
    },
  );

  app.patch(
    "/api/v1/advisories/:id",
    {
      preHandler: canWrite,
      schema: {
        summary: "Change an advisory",
        description: "A draft or scheduled advisory is edited; a published one gets a new numbered revision and needs `revisionSummary`.",
        tags,
        security,
        params: advisoryParams,
        body: patchAdvisoryBody,
        response: { 200: advisoryView, 400: errorView, 404: errorView, 409: errorView },
      },
    },
    async (request) => present(await updateAdvisory(db, clock, actorOf(memberOf(request)), request.params.id, request.body)),
  );

  app.post(
    "/api/v1/advisories/:id/publish",
    {
      preHandler: canWrite,
      schema: {
        summary: "Publish an advisory now",
        description:
          "Refused with 409 `disclosure_guard` and the reason while a linked report is not resolved or an upstream embargo on one has not passed; an admin may override with `overrideReason` (audited). On publication every linked report becomes `disclosed` and its reporter is mailed the advisory's link.",
        tags,
        security,
        params: advisoryParams,
        body: publishAdvisoryBody,
        response: { 200: advisoryView, 403: errorView, 404: errorView, 409: errorView },
      },
    },
    async (request) => {
      const advisory = await publishAdvisory(deps, callerOf(request), request.params.id, request.body.overrideReason);
      deps.onChanged();
      return present(advisory);
    },
  );

  app.post(
    "/api/v1/advisories/:id/schedule",
    {
      preHandler: canWrite,
      schema: {
        summary: "Schedule publication",
        description: "The disclosure guard is checked now and again by the job at the time given; an admin's override (with `overrideReason`) holds for the job too.",
        tags,
        security,
        params: advisoryParams,
        body: scheduleAdvisoryBody,
        response: { 200: advisoryView, 400: errorView, 403: errorView, 404: errorView, 409: errorView },
      },
    },
    async (request) => present(await scheduleAdvisory(deps, callerOf(request), request.params.id, request.body)),
  );

  app.post(
    "/api/v1/advisories/:id/unschedule",
    { preHandler: canWrite, schema: { summary: "Take a scheduled advisory back to draft", tags, security, params: advisoryParams, response: { 200: advisoryView, 404: errorView, 409: errorView } } },
    async (request) => present(await unscheduleAdvisory(deps, actorOf(memberOf(request)), request.params.id)),
  );
}
