import fs from "node:fs";
import path from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { MarkdownRenderCache, renderMarkdown } from "../../platform/markdown/markdown.js";
import type { Clock } from "../../shared/clock.js";
import { DomainError } from "../../shared/errors.js";
import { listAttachmentsOfReport, openAttachmentAsTeam, sendOpenedAttachment, describeBytes } from "../../modules/attachments/index.js";
import { decryptedFilename, decryptReportForTeam } from "../../modules/browser-encryption/index.js";
import type { TeamKeyring } from "../../modules/keys/index.js";
import { listAuditEventsFor, listLatestAuditEventsFor } from "../../modules/audit/index.js";
import { requireSession, sessionOf, type AuthContext } from "../../modules/auth/index.js";
import { actorOf, hasPermission, listUsers, type TeamMember } from "../../modules/people/index.js";
import {
  CHANNEL_LABELS,
  CHANNELS,
  CLOSING_STATES,
  REPORT_STATES,
  SEVERITIES,
  TRANSITIONS,
  UPSTREAM_STATUSES,
  listReportsForTeam,
  readReportAsTeam,
  resolveOwnerFilter,
  searchWords,
  suggestBounty,
  transitionBody,
  transitionReport,
  type ReportState,
} from "../../modules/reports/index.js";
import { readPauses, readPausesOf } from "../../modules/sla/index.js";
import type { SettingsCache } from "../../modules/settings/index.js";
import {
  CWE_VERSION,
  addUpstream,
  changeUpstream,
  createUpstreamBody,
  findSimilarReports,
  listCvssMetrics,
  messageBody,
  patchReportBody,
  patchUpstreamBody,
  postTeamMessage,
  removeUpstream,
  searchCwe,
  updateReportTriage,
} from "../../modules/triage/index.js";
import { views, WEB_ROOT } from "../render.js";
import { formField, pageErrorHandler, sendPage } from "../team/team-pages.js";
import {
  QUEUE_PAGE_SIZE,
  STATE_LABELS,
  TARGET_LABELS,
  UPSTREAM_STATUS_LABELS,
  dateToInstant,
  fieldErrorsOf,
  orNull,
  parseQueueQuery,
  presentAuditEvent,
  presentClocks,
  presentQueueRow,
  queueHref,
} from "./desk-view.js";

export interface DeskRouteDeps {
  db: Db;
  clock: Clock;
  settings: SettingsCache;
  auth: AuthContext;
  blobs: BlobStore;
  /** Decrypts what reporters encrypted in their browser (the description, steps, impact and files). */
  keyring?: TeamKeyring;
  /** Wakes the outbox worker after a change that mails the reporter. */
  onChanged: () => void;
}

/** The header a page's script sends to get only the queue's results, not the whole page. */
export const RESULTS_FRAGMENT_HEADER = "x-desk-fragment";

const idParams = z.object({ id: z.coerce.number().int().positive() });
const attachmentParams = idParams.extend({ attachmentId: z.coerce.number().int().positive() });
const upstreamParams = idParams.extend({ upstreamId: z.coerce.number().int().positive() });

const NOTICES: Record<string, string> = {
  reply: "Your reply is saved and on its way to the reporter.",
  note: "Your internal note is saved. The reporter does not see it.",
  transition: "The report's state is changed.",
  assessment: "The assessment is saved.",
  owner: "The owner is changed.",
  bounty: "The bounty is saved.",
  upstream: "The upstream is saved.",
  "upstream-removed": "The upstream is removed.",
};

/** Where each form sits on the report page: a successful post returns there. */
const ANCHORS: Record<string, string> = {
  reply: "messages",
  note: "messages",
  transition: "actions",
  assessment: "assessment",
  owner: "assessment",
  bounty: "bounty",
  upstream: "upstreams",
  "upstream-removed": "upstreams",
};

interface FormProblem {
  /** Which form on the page failed: its errors and kept input are shown there. */
  form: string;
  fields: Record<string, string>;
  message: string;
  values: Record<string, string>;
  status: number;
}

/** Only the string fields of a posted form, for keeping the input on a refused post. */
function formValues(body: unknown): Record<string, string> {
  const values: Record<string, string> = {};
  if (body && typeof body === "object") {
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (name !== "_csrf" && typeof value === "string") values[name] = value.slice(0, 60_000);
    }
  }
  return values;
}

/**
 * The team's desk: the queue (`/desk`) and the report page (`/desk/reports/:id`) with
 * its actions. Pages answer HTML in their own error scope; every form is CSRF-checked,
 * every action needs `reports:write` on the server whatever the page showed, and a
 * successful post redirects back to the page (POST-redirect-GET).
 */
export async function registerDeskPages(app: HttpApp, deps: DeskRouteDeps): Promise<void> {
  const css = fs.readFileSync(path.join(WEB_ROOT, "assets", "desk.css"));
  app.get("/assets/desk.css", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=300").send(css),
  );
  await app.register(async (scope) => {
    scope.setErrorHandler(pageErrorHandler);
    registerDeskRoutes(scope as HttpApp, deps);
  });
}

/** Audit events shown on a report page unless all are asked for. */
const AUDIT_TRAIL_SHOWN = 100;

function registerDeskRoutes(app: HttpApp, deps: DeskRouteDeps): void {
  const { db, clock, auth } = deps;
  const rendered = new MarkdownRenderCache();
  const csrf = app.csrfProtection;
  const reader = requireSession(auth, "reports:read");
  const writer = requireSession(auth, "reports:write");

  const teamMembers = async () => {
    const members = await listUsers(db);
    return { all: new Map(members.map((m) => [m.id, m])), owners: members.filter((m) => m.disabledAt === null && m.role !== "viewer") };
  };

  // ---- the queue ----------------------------------------------------------------------

  app.get("/desk", { schema: { hide: true }, preHandler: reader }, async (request, reply) => {
    const { member } = sessionOf(request);
    const parsed = parseQueueQuery(request.query);
    const settings = await deps.settings.get();
    const members = await teamMembers();
    const errors = { ...parsed.errors };
    let ownerId: number | null | undefined;
    try {
      ownerId = await resolveOwnerFilter(db, actorOf(member), parsed.owner);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== "owner_not_found") throw error;
      errors.owner = "is not a team member";
    }
    const words = parsed.q === undefined ? undefined : searchWords(parsed.q);
    const offset = (parsed.values.page - 1) * QUEUE_PAGE_SIZE;
    const { reports, total, totalIsExact } = await listReportsForTeam(db, {
      states: parsed.states,
      channels: parsed.channels,
      ownerId,
      severities: parsed.severities,
      words: words?.length ? words : undefined,
      sort: "deadline",
      limit: QUEUE_PAGE_SIZE,
      offset,
    });
    const now = clock.now();
    const pauses = await readPausesOf(db, reports);
    const data = {
      title: "Report desk",
      rows: reports.map((r) => presentQueueRow(r, settings, now, members.all, pauses.get(r.id))),
      total: totalIsExact ? String(total) : `more than ${total}`,
      from: total === 0 ? 0 : offset + 1,
      to: offset + reports.length,
      previous: parsed.values.page > 1 ? queueHref(parsed.values, { page: parsed.values.page - 1 }) : null,
      next: offset + reports.length < total ? queueHref(parsed.values, { page: parsed.values.page + 1 }) : null,
      targetLabels: Object.values(TARGET_LABELS),
      now: now.toISOString(),
    };
    reply.header("vary", RESULTS_FRAGMENT_HEADER);
    if (request.headers[RESULTS_FRAGMENT_HEADER] === "results") {
      return reply.code(200).header("cache-control", "no-store").type("text/html; charset=utf-8").send(views.render("desk-results", data));
    }
    return sendPage(reply, "desk-queue", {
      ...data,
      csrf: reply.generateCsrf(),
      member,
      values: parsed.values,
      errors,
      stateOptions: [
        { value: "", label: "Open (new to triaged)" },
        ...REPORT_STATES.map((s) => ({ value: s, label: STATE_LABELS[s] })),
        { value: "all", label: "All" },
      ],
      channelOptions: CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c] })),
      severityOptions: SEVERITIES,
      ownerOptions: members.owners.map((m) => ({ value: m.email, label: `${m.name} (${m.email})` })),
    });
  });

  // ---- the report page ------------------------------------------------------------------

  const reportPage = async (request: FastifyRequest, reply: FastifyReply, id: number, problem?: FormProblem) => {
    const { member } = sessionOf(request);
    const settings = await deps.settings.get();
    const { report, messages, details } = await readReportAsTeam(db, clock, actorOf(member), id);
    // Encrypted in the reporter's browser: shown decrypted with the team key (audited), or,
    // should that fail, as the ciphertext it is, with the reason.
    const encryption = deps.keyring ? await decryptReportForTeam(db, clock, deps.keyring, actorOf(member), report) : undefined;
    const readable = encryption?.decrypted ?? report;
    // Text decrypted for this view is rendered and forgotten; stored clear text is kept rendered.
    const markdownOfReport = (text: string) => (encryption?.decrypted ? renderMarkdown(text) : rendered.render(text));
    // The audit trail: the latest events, or all of them when asked (every view of the report is one).
    const wholeTrail = (request.query as Record<string, unknown> | undefined)?.audit === "all";
    const [attachments, trail, pauses, similar, members] = await Promise.all([
      listAttachmentsOfReport(db, id),
      wholeTrail
        ? listAuditEventsFor(db, "report", String(id)).then((events) => ({ events, total: events.length }))
        : listLatestAuditEventsFor(db, "report", String(id), AUDIT_TRAIL_SHOWN),
      readPauses(db, report),
      findSimilarReports(db, id),
      teamMembers(),
    ]);
    const now = clock.now();
    const clocks = presentClocks(report, settings, now, pauses);
    const canWrite = hasPermission(member.role, "reports:write");
    const allowed = new Set<ReportState>(TRANSITIONS[report.state]);
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    const authorOf = (m: (typeof messages)[number]) =>
      m.authorKind === "reporter" ? `${report.reporterName} (reporter)` : m.authorKind === "system" ? "Shield" : (members.all.get(m.authorUserId ?? -1)?.name ?? "Team");
    return sendPage(
      reply,
      "desk-report",
      {
        title: `Report ${report.id}`,
        csrf: reply.generateCsrf(),
        member,
        canWrite,
        notice: typeof done === "string" ? NOTICES[done] : undefined,
        problem: problem ?? null,
        report,
        stateLabel: STATE_LABELS[report.state],
        channelLabel: CHANNEL_LABELS[report.channel],
        details,
        ownerName: report.ownerId == null ? null : (members.all.get(report.ownerId)?.name ?? details.ownerEmail),
        encryption: encryption ?? null,
        html: {
          description: markdownOfReport(readable.description ?? ""),
          steps: readable.steps ? markdownOfReport(readable.steps) : null,
          impact: readable.impact ? markdownOfReport(readable.impact) : null,
        },
        messages: messages.map((m) => ({ ...m, author: authorOf(m), html: rendered.render(m.body) })),
        attachments: attachments.map((a) => ({
          ...a,
          sizeText: describeBytes(a.size),
          href: `/desk/reports/${id}/attachments/${a.id}`,
          decryptedHref: a.browserEncrypted && deps.keyring ? `/desk/reports/${id}/attachments/${a.id}?decrypted=1` : null,
          decryptedName: a.browserEncrypted ? decryptedFilename(a.filename) : null,
        })),
        clocks: [clocks.firstResponse, clocks.triage, clocks.resolution].filter((c) => c !== null),
        audit: trail.events.map(presentAuditEvent),
        auditTotal: trail.total,
        similar,
        owners: members.owners,
        canned: settings.cannedResponses,
        suggestedBounty: suggestBounty(report.severity, settings),
        bountyCurrency: details.bounty.currency ?? settings.bountyTable.currency,
        can: {
          acknowledge: allowed.has("acknowledged"),
          needsInfo: allowed.has("needs_info"),
          triage: allowed.has("triaged"),
          resolve: allowed.has("resolved"),
          duplicate: allowed.has("duplicate"),
          close: CLOSING_STATES.filter((s) => s !== "duplicate" && s !== "routed_to_support" && allowed.has(s)),
          routeToSupport: allowed.has("routed_to_support"),
        },
        closeLabels: STATE_LABELS,
        severities: SEVERITIES,
        upstreamStatuses: UPSTREAM_STATUSES.map((s) => ({ value: s, label: UPSTREAM_STATUS_LABELS[s] })),
        cvss: { "3.1": listCvssMetrics("3.1").filter((m) => m.mandatory), "4.0": listCvssMetrics("4.0").filter((m) => m.mandatory) },
        cweVersion: CWE_VERSION,
      },
      problem?.status ?? 200,
    );
  };

  app.get("/desk/reports/:id", { schema: { hide: true, params: idParams }, preHandler: reader }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    return reportPage(request, reply, id);
  });

  app.get("/desk/reports/:id/attachments/:attachmentId", { schema: { hide: true, params: attachmentParams }, preHandler: reader }, async (request, reply) => {
    const { id, attachmentId } = request.params as z.infer<typeof attachmentParams>;
    const decrypted = (request.query as Record<string, unknown> | undefined)?.decrypted === "1" && deps.keyring !== undefined;
    const opened = await openAttachmentAsTeam(db, clock, actorOf(sessionOf(request).member), deps.blobs, id, attachmentId, { decrypted });
    return sendOpenedAttachment(reply, opened, decrypted ? deps.keyring : undefined);
  });

  /** The CWE search of the triage form's script (JSON, same session as the page). */
  app.get("/desk/cwe", { schema: { hide: true }, preHandler: reader }, async (request, reply) => {
    const q = formField(request.query, "q", 200).trim();
    const weaknesses = q ? searchCwe(q, 20).map((w) => ({ id: w.id, name: w.name })) : [];
    return reply.header("cache-control", "no-store").send({ version: CWE_VERSION, weaknesses });
  });

  // ---- actions ----------------------------------------------------------------------------

  /**
   * Runs one action of the report page: on success back to the page (303), on a refusal
   * the page again with the errors next to the form's fields and the input kept.
   */
  const act = async (request: FastifyRequest, reply: FastifyReply, form: string, run: (id: number, member: TeamMember) => Promise<string>) => {
    const { id } = request.params as { id: number };
    const { member } = sessionOf(request);
    try {
      const done = await run(id, member);
      return reply.code(303).header("cache-control", "no-store").redirect(`/desk/reports/${id}?done=${done}#${ANCHORS[done] ?? "top"}`);
    } catch (error) {
      const values = formValues(request.body);
      if (error instanceof FormRefusal) return reportPage(request, reply, id, { form, fields: error.fields, message: error.message, values, status: 400 });
      if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict")) {
        // The services name bounty fields `bounty.amount`…; the form calls them `amount`.
        const fields = Object.fromEntries(Object.entries(error.fields ?? {}).map(([name, text]) => [name.replace(/^bounty\./, ""), text]));
        return reportPage(request, reply, id, { form, fields, message: error.message, values, status: error.kind === "invalid" ? 400 : 409 });
      }
      throw error;
    }
  };

  const parse = <T>(schema: z.ZodType<T>, input: unknown, rename: Record<string, string> = {}): T => {
    const result = schema.safeParse(input);
    if (!result.success) {
      const fields = fieldErrorsOf(result.error, rename);
      throw new FormRefusal(`Please correct ${Object.keys(fields).length === 1 ? "this field" : "these fields"}: ${Object.keys(fields).join(", ")}.`, fields);
    }
    return result.data;
  };

  const routeOptions = (params: z.ZodType = idParams) => ({ schema: { hide: true, params }, preHandler: [csrf, writer] });

  app.post("/desk/reports/:id/messages", routeOptions(), async (request, reply) => {
    const internal = formField(request.body, "kind") === "note";
    return act(request, reply, "message", async (id, member) => {
      const input = parse(messageBody, { body: formField(request.body, "body", 60_000), internal });
      await postTeamMessage(db, clock, actorOf(member), id, input);
      if (!internal) deps.onChanged();
      return internal ? "note" : "reply";
    });
  });

  app.post("/desk/reports/:id/transitions", routeOptions(), async (request, reply) => {
    const to = formField(request.body, "to", 40);
    return act(request, reply, `transition-${to}`, async (id, member) => {
      const chosen = formField(request.body, "duplicateOf", 20).trim();
      const duplicateOf = (chosen === "other" || chosen === "" ? formField(request.body, "duplicateOfOther", 20) : chosen).trim().replace(/^#/, "");
      const message = formField(request.body, "message", 60_000).trim();
      const input = parse(transitionBody, {
        to,
        reason: formField(request.body, "reason", 5000),
        ...(message ? { message } : {}),
        ...(duplicateOf ? { duplicateOf: /^\d{1,12}$/.test(duplicateOf) ? Number(duplicateOf) : duplicateOf } : {}),
      });
      if (to === "needs_info" && !input.message) throw new FormRefusal("Say what you need from the reporter.", { message: "is required: the reporter is asked this" });
      if (to === "duplicate" && input.duplicateOf === undefined) throw new FormRefusal("Name the report this one repeats.", { duplicateOf: "is required: the number of the earlier report" });
      await transitionReport(db, clock, await deps.settings.get(), actorOf(member), id, input);
      deps.onChanged();
      return "transition";
    });
  });

  app.post("/desk/reports/:id/assessment", routeOptions(), async (request, reply) =>
    act(request, reply, "assessment", async (id, member) => {
      const severity = formField(request.body, "severity", 20);
      const patch = parse(patchReportBody, {
        cvss31Vector: orNull(formField(request.body, "cvss31Vector", 500)),
        cvss40Vector: orNull(formField(request.body, "cvss40Vector", 500)),
        severity: severity === "" ? null : severity,
        cwe: orNull(formField(request.body, "cwe", 200).replace(/\s.*$/s, "")),
        asset: formField(request.body, "asset", 500),
        affectedVersions: formField(request.body, "affectedVersions", 2000),
      });
      const actor = actorOf(member);
      const settings = await deps.settings.get();
      await updateReportTriage(db, clock, settings, actor, id, patch);
      if (formField(request.body, "markTriaged") === "yes") {
        try {
          await transitionReport(db, clock, settings, actor, id, { to: "triaged", reason: formField(request.body, "reason", 5000).trim() || "Triaged on the desk" });
          deps.onChanged();
        } catch (error) {
          if (error instanceof DomainError && error.kind === "conflict") {
            throw new DomainError(error.code, "conflict", `The assessment is saved, but the report is not marked triaged. ${error.message}`);
          }
          throw error;
        }
      }
      return "assessment";
    }),
  );

  app.post("/desk/reports/:id/owner", routeOptions(), async (request, reply) =>
    act(request, reply, "owner", async (id, member) => {
      const ownerEmail = formField(request.body, "ownerEmail", 254).trim();
      if (!ownerEmail) throw new FormRefusal("Choose the new owner.", { ownerEmail: "is required" });
      const patch = parse(patchReportBody, { ownerEmail });
      await updateReportTriage(db, clock, await deps.settings.get(), actorOf(member), id, patch);
      return "owner";
    }),
  );

  app.post("/desk/reports/:id/bounty", routeOptions(), async (request, reply) =>
    act(request, reply, "bounty", async (id, member) => {
      const fields: Record<string, string> = {};
      const eligibleText = formField(request.body, "eligible", 10);
      const amountText = formField(request.body, "amount", 30).trim();
      const amount = amountText === "" ? null : Number(amountText.replace(/,/g, ""));
      if (amount !== null && !Number.isFinite(amount)) fields.amount = "must be a number, e.g. 500 or 250.50";
      const awardedAt = dateToInstant(formField(request.body, "awardedAt", 20));
      const paidAt = dateToInstant(formField(request.body, "paidAt", 20));
      if (awardedAt && typeof awardedAt === "object") fields.awardedAt = awardedAt.invalid;
      if (paidAt && typeof paidAt === "object") fields.paidAt = paidAt.invalid;
      if (Object.keys(fields).length) throw new FormRefusal(`Please correct ${Object.keys(fields).join(", ")}.`, fields);
      const patch = parse(
        patchReportBody,
        {
          bounty: {
            eligible: eligibleText === "yes" ? true : eligibleText === "no" ? false : null,
            reason: formField(request.body, "reason", 5000),
            amount,
            awardedAt,
            paidAt,
          },
        },
        { "bounty.eligible": "eligible", "bounty.reason": "reason", "bounty.amount": "amount", "bounty.awardedAt": "awardedAt", "bounty.paidAt": "paidAt" },
      );
      await updateReportTriage(db, clock, await deps.settings.get(), actorOf(member), id, patch);
      return "bounty";
    }),
  );

  const upstreamInput = (body: unknown) => ({
    project: formField(body, "project", 300),
    contact: formField(body, "contact", 400),
    reference: formField(body, "reference", 600),
    status: formField(body, "status", 40),
    embargoUntil: orNull(formField(body, "embargoUntil", 20)),
  });

  app.post("/desk/reports/:id/upstreams", routeOptions(), async (request, reply) =>
    act(request, reply, "upstream-new", async (id, member) => {
      const input = parse(createUpstreamBody, upstreamInput(request.body));
      await addUpstream(db, clock, actorOf(member), id, input);
      return "upstream";
    }),
  );

  app.post("/desk/reports/:id/upstreams/:upstreamId", routeOptions(upstreamParams), async (request, reply) => {
    const { upstreamId } = request.params as z.infer<typeof upstreamParams>;
    return act(request, reply, `upstream-${upstreamId}`, async (id, member) => {
      const input = parse(patchUpstreamBody, upstreamInput(request.body));
      await changeUpstream(db, clock, actorOf(member), id, upstreamId, input);
      return "upstream";
    });
  });

  app.post("/desk/reports/:id/upstreams/:upstreamId/delete", routeOptions(upstreamParams), async (request, reply) => {
    const { upstreamId } = request.params as z.infer<typeof upstreamParams>;
    return act(request, reply, `upstream-${upstreamId}`, async (id, member) => {
      await removeUpstream(db, clock, actorOf(member), id, upstreamId);
      return "upstream-removed";
    });
  });
}

/** A form the desk itself refused before any service saw it (a missing field, a bad number). */
class FormRefusal extends Error {
  constructor(
    message: string,
    readonly fields: Record<string, string>,
  ) {
    super(message);
  }
}
