import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { LINK_REL, renderMarkdown } from "../../platform/markdown/markdown.js";
import { DomainError, ValidationError } from "../../shared/errors.js";
import {
  advisoryPageUrl,
  checkGuardOf,
  createAdvisory,
  CREDIT_TYPES,
  listAdvisories,
  mergeCredits,
  publishAdvisory,
  readAdvisoryAsTeam,
  scheduleAdvisory,
  unscheduleAdvisory,
  updateAdvisory,
  type Advisory,
  type AdvisoryCaller,
  type AdvisoryContent,
  type GuardBlocker,
} from "../../modules/advisories/index.js";
import { requireSession, sessionOf } from "../../modules/auth/index.js";
import { actorOf, hasPermission, type TeamMember } from "../../modules/people/index.js";
import { findReport, findReportDetails, type Report } from "../../modules/reports/index.js";
import { exportContextOf, presentAdvisoryRevision } from "../public/advisory-view.js";
import { sendPage } from "../team/team-pages.js";
import type { DeskContext } from "./desk-context.js";
import { ADVISORY_STATE_LABELS, STATE_LABELS } from "./desk-view.js";
import {
  advisoryFormValues,
  formFieldsOf,
  formRows,
  postedValues,
  readAdvisoryChangeForm,
  readNewAdvisoryForm,
  readPublishForm,
  readScheduleForm,
} from "./advisory-forms.js";

const advisoryIdParams = z.object({ id: z.string().regex(/^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{3,6}$/) });

/** What a successful action says at the top of the advisory page (`?done=…`). */
const NOTICES: Record<string, string> = {
  created: "The draft is saved. Nothing is public until it is published.",
  saved: "The changes are saved.",
  revised: "The new revision is published.",
  published: "The advisory is published. Its linked reports are disclosed and their reporters are being mailed the link.",
  scheduled: "Publication is scheduled. The disclosure guard is checked again at that time.",
  unscheduled: "Publication is no longer scheduled; the advisory is a draft again.",
};

/** A refused form, or a preview asked for: the page again with the input kept. */
interface PageState {
  form?: string;
  fields?: Record<string, string>;
  message?: string;
  values?: Record<string, string>;
  preview?: { summaryHtml: string; workaroundsHtml: string | null } | null;
  status?: number;
}

interface LinkedReportView {
  id: number;
  title: string;
  state: string;
  stateLabel: string;
}

async function linkedReportsOf(ctx: DeskContext, ids: number[]): Promise<{ views: LinkedReportView[]; reports: Report[] }> {
  const reports: Report[] = [];
  for (const id of ids) {
    const report = await findReport(ctx.db, id);
    if (report) reports.push(report);
  }
  return { reports, views: reports.map((r) => ({ id: r.id, title: r.title, state: r.state, stateLabel: STATE_LABELS[r.state] })) };
}

/** The guard's reasons in the desk's words, each naming its report and what is still to do. */
function presentBlockers(blockers: GuardBlocker[]): Array<{ reportId: number; text: string }> {
  return blockers.map((b) => ({
    reportId: b.reportId,
    text:
      b.reason === "not_resolved"
        ? `Report #${b.reportId} is ${STATE_LABELS[b.state as Report["state"]] ?? b.state}, not fixed: mark it Resolved once the fix is released.`
        : `Report #${b.reportId} is under an upstream embargo until ${b.embargoUntil}.`,
  }));
}

/**
 * The desk's advisories: the list (`/desk/advisories`), a new draft (from a report:
 * `/desk/advisories/new?report=N`), each advisory's page with its edit form, a preview of
 * the Markdown on the page and one as the public will see it, and publication now or at a
 * time through the disclosure guard, which an admin may override with a reason (audited).
 * Forms are read by advisory-forms.ts into the team API's bodies; every post is CSRF-checked
 * and needs `reports:write` whatever the page showed.
 */
export function registerAdvisoryPages(app: HttpApp, ctx: DeskContext): void {
  const { db, clock } = ctx;
  const reader = requireSession(ctx.auth, "reports:read");
  const writer = requireSession(ctx.auth, "reports:write");
  const posting = (params?: z.ZodType) => ({ schema: { hide: true, ...(params ? { params } : {}) }, preHandler: [app.csrfProtection, writer] });
  const callerOf = (member: TeamMember): AdvisoryCaller => ({ actor: actorOf(member), mayOverride: hasPermission(member.role, "admin") });
  const deps = { db, clock, baseUrl: ctx.baseUrl, events: ctx.events, settings: ctx.settings };

  app.get("/desk/advisories", { schema: { hide: true }, preHandler: reader }, async (request, reply) => {
    const { member } = sessionOf(request);
    const advisories = await listAdvisories(db);
    return sendPage(reply, "desk-advisories", {
      title: "Advisories",
      csrf: reply.csrfToken(),
      canWrite: hasPermission(member.role, "reports:write"),
      advisories: advisories.map((a) => ({
        id: a.publicId,
        title: a.content.title,
        state: a.state,
        stateLabel: ADVISORY_STATE_LABELS[a.state],
        reportIds: a.reportIds,
        scheduledAt: a.scheduledAt,
        publishedAt: a.publishedAt,
        revisions: a.revisions.length,
      })),
    });
  });

  app.get("/desk/advisories/new", { schema: { hide: true }, preHandler: writer }, async (request, reply) => {
    const asked = (request.query as Record<string, unknown> | undefined)?.report;
    const reportId = typeof asked === "string" && /^\d{1,12}$/.test(asked) ? Number(asked) : null;
    const report = reportId === null ? undefined : await findReport(db, reportId);
    const values: Record<string, string> = { reportIds: report ? String(report.id) : "" };
    if (report) {
      // What the API would take from the report, shown so that what is saved is what was seen.
      const details = await findReportDetails(db, report.id);
      values.title = report.title;
      values.cvss31Vector = details?.cvss31?.vector ?? "";
      values.cvss40Vector = details?.cvss40?.vector ?? "";
      values.cwe = details?.cwe?.id ?? "";
      if (report.asset) values["products.0.product"] = report.asset;
    }
    return sendNewAdvisoryPage(request, reply, { values });
  });

  app.post("/desk/advisories", posting(), async (request, reply) => {
    const { member } = sessionOf(request);
    const read = readNewAdvisoryForm(request.body);
    const values = postedValues(request.body);
    const wantsPreview = isPreview(request.body);
    if (!read.ok) return sendNewAdvisoryPage(request, reply, { form: "advisory", fields: read.fields, values, message: "The advisory is not saved: correct the fields marked below.", status: 400 });
    if (wantsPreview) return sendNewAdvisoryPage(request, reply, { values, preview: previewOf(read.value!) });
    try {
      const advisory = await createAdvisory(db, clock, await ctx.settings.get(), actorOf(member), read.value!);
      return redirectTo(reply, advisory.publicId, "created");
    } catch (error) {
      if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict")) {
        return sendNewAdvisoryPage(request, reply, { form: "advisory", fields: formFieldsOf(error.fields ?? {}, read.rowNames), values, message: error.message, status: error.kind === "invalid" ? 400 : 409 });
      }
      throw error;
    }
  });

  app.get("/desk/advisories/:id", { schema: { hide: true, params: advisoryIdParams }, preHandler: reader }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof advisoryIdParams>;
    return sendAdvisoryPage(request, reply, await readAdvisoryAsTeam(db, id), {});
  });

  /** The draft as the public will see it once published: the public page's template, marked as a preview. */
  app.get("/desk/advisories/:id/preview", { schema: { hide: true, params: advisoryIdParams }, preHandler: reader }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof advisoryIdParams>;
    const advisory = await readAdvisoryAsTeam(db, id);
    const settings = await ctx.settings.get();
    const { reports } = await linkedReportsOf(ctx, advisory.reportIds);
    const now = clock.now().toISOString();
    // Published: its latest revision; otherwise what publication would make revision 1 of.
    const revision = advisory.revisions.at(-1) ?? { number: 1, summary: "Initial publication.", publishedAt: now, content: { ...advisory.content, credits: mergeCredits(advisory.content.credits, reports) } };
    const shown = advisory.revisions.length ? advisory : { ...advisory, revisions: [revision] };
    const view = presentAdvisoryRevision(shown, revision, exportContextOf(settings, ctx.baseUrl()));
    return sendPage(reply, "advisory", {
      title: `Preview of ${advisory.publicId}: ${view.title}`,
      advisory: view,
      rel: LINK_REL,
      preview: { state: ADVISORY_STATE_LABELS[advisory.state], back: `/desk/advisories/${advisory.publicId}`, published: advisory.state === "published" },
    });
  });

  app.post("/desk/advisories/:id", posting(advisoryIdParams), async (request, reply) => {
    const { id } = request.params as z.infer<typeof advisoryIdParams>;
    const { member } = sessionOf(request);
    const advisory = await readAdvisoryAsTeam(db, id);
    const read = readAdvisoryChangeForm(request.body, advisory);
    const values = postedValues(request.body);
    if (!read.ok) return sendAdvisoryPage(request, reply, advisory, { form: "advisory", fields: read.fields, values, message: "Nothing is saved: correct the fields marked below.", status: 400 });
    if (isPreview(request.body)) return sendAdvisoryPage(request, reply, advisory, { values, preview: previewOf(read.value!) });
    try {
      await updateAdvisory(db, clock, actorOf(member), id, read.value!);
      if (advisory.state === "published") ctx.onChanged();
      return redirectTo(reply, id, advisory.state === "published" ? "revised" : "saved");
    } catch (error) {
      if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict")) {
        return sendAdvisoryPage(request, reply, advisory, { form: "advisory", fields: formFieldsOf(error.fields ?? {}, read.rowNames), values, message: error.message, status: error.kind === "invalid" ? 400 : 409 });
      }
      throw error;
    }
  });

  /** Runs a publication action: back to the page on success; a refusal (the guard's above all) shown on the page at its status. */
  const publication = async (request: FastifyRequest, reply: FastifyReply, form: string, run: (advisory: Advisory, member: TeamMember) => Promise<string>) => {
    const { id } = request.params as z.infer<typeof advisoryIdParams>;
    const { member } = sessionOf(request);
    const advisory = await readAdvisoryAsTeam(db, id);
    try {
      const done = await run(advisory, member);
      ctx.onChanged();
      return redirectTo(reply, id, done);
    } catch (error) {
      if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict")) {
        return sendAdvisoryPage(request, reply, await readAdvisoryAsTeam(db, id), {
          form,
          fields: error.fields ?? {},
          values: postedValues(request.body),
          message: error.code === "disclosure_guard" ? "Not published: the disclosure guard holds this advisory back." : error.message,
          status: error.kind === "invalid" ? 400 : 409,
        });
      }
      throw error;
    }
  };

  app.post("/desk/advisories/:id/publish", posting(advisoryIdParams), async (request, reply) =>
    publication(request, reply, "publish", async (advisory, member) => {
      const read = readPublishForm(request.body);
      if (!read.ok) throw ValidationError("The override reason is not valid.", read.fields);
      await publishAdvisory(deps, callerOf(member), advisory.publicId, read.value!.overrideReason);
      return "published";
    }),
  );

  app.post("/desk/advisories/:id/schedule", posting(advisoryIdParams), async (request, reply) =>
    publication(request, reply, "schedule", async (advisory, member) => {
      const read = readScheduleForm(request.body);
      if (!read.ok) throw ValidationError("Publication is not scheduled: correct the time.", read.fields);
      await scheduleAdvisory(deps, callerOf(member), advisory.publicId, read.value!);
      return "scheduled";
    }),
  );

  app.post("/desk/advisories/:id/unschedule", posting(advisoryIdParams), async (request, reply) =>
    publication(request, reply, "unschedule", async (advisory, member) => {
      await unscheduleAdvisory(deps, actorOf(member), advisory.publicId);
      return "unscheduled";
    }),
  );

  function redirectTo(reply: FastifyReply, publicId: string, done: string): FastifyReply {
    return reply.code(303).header("cache-control", "no-store").redirect(`/desk/advisories/${publicId}?done=${done}`);
  }

  async function sendNewAdvisoryPage(request: FastifyRequest, reply: FastifyReply, state: PageState): Promise<FastifyReply> {
    const { member } = sessionOf(request);
    const values = state.values ?? {};
    const ids = (values.reportIds ?? "").split(/[\s,;#]+/).filter((s) => /^\d{1,12}$/.test(s)).map(Number);
    const { views, reports } = await linkedReportsOf(ctx, ids);
    return sendPage(
      reply,
      "desk-advisory",
      {
        title: "New advisory",
        csrf: reply.csrfToken(),
        isNew: true,
        canWrite: true,
        isAdmin: hasPermission(member.role, "admin"),
        advisory: null,
        linked: views,
        reporterCredits: reporterCreditsOf(reports),
        values,
        rows: formRows(values),
        creditTypes: CREDIT_TYPES,
        problem: state.message ? { form: state.form ?? "advisory", message: state.message, fields: state.fields ?? {} } : null,
        preview: state.preview ?? null,
        guard: null,
      },
      state.status ?? 200,
    );
  }

  async function sendAdvisoryPage(request: FastifyRequest, reply: FastifyReply, advisory: Advisory, state: PageState): Promise<FastifyReply> {
    const { member } = sessionOf(request);
    const values = state.values && state.form !== "publish" && state.form !== "schedule" && state.form !== "unschedule" ? state.values : advisoryFormValues(advisory);
    const { views, reports } = await linkedReportsOf(ctx, advisory.reportIds);
    const now = clock.now();
    const guard = advisory.state === "published" ? null : await checkGuardOf(db, advisory, now);
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    return sendPage(
      reply,
      "desk-advisory",
      {
        title: `${advisory.publicId}: ${advisory.content.title}`,
        csrf: reply.csrfToken(),
        isNew: false,
        canWrite: hasPermission(member.role, "reports:write"),
        isAdmin: hasPermission(member.role, "admin"),
        notice: typeof done === "string" ? NOTICES[done] : undefined,
        advisory: {
          id: advisory.publicId,
          state: advisory.state,
          stateLabel: ADVISORY_STATE_LABELS[advisory.state],
          scheduledAt: advisory.scheduledAt,
          publishedAt: advisory.publishedAt,
          guardOverride: advisory.guardOverride,
          publicUrl: advisory.state === "published" ? advisoryPageUrl({ baseUrl: ctx.baseUrl() }, advisory) : null,
          revisions: advisory.revisions.map((r) => ({ number: r.number, summary: r.summary, publishedAt: r.publishedAt })),
        },
        linked: views,
        reporterCredits: reporterCreditsOf(reports),
        values,
        rows: formRows(values),
        creditTypes: CREDIT_TYPES,
        problem: state.message ? { form: state.form ?? "advisory", message: state.message, fields: state.fields ?? {} } : null,
        preview: state.preview ?? null,
        guard: guard ? { ok: guard.ok, blockers: guard.ok ? [] : presentBlockers(guard.blockers), why: guard.ok ? null : guard.why } : null,
        scheduleAt: (state.form === "schedule" ? state.values?.at : undefined) ?? advisory.scheduledAt?.slice(0, 16) ?? "",
      },
      state.status ?? 200,
    );
  }
}

/** Which submit button was pressed: "Preview" shows the rendered Markdown and saves nothing. */
function isPreview(body: unknown): boolean {
  return Boolean(body && typeof body === "object" && (body as Record<string, unknown>).action === "preview");
}

/** The summary and workarounds rendered as the public page renders them (markdown-it without raw HTML, sanitised). */
function previewOf(content: { summary?: string; workarounds?: string | null }): { summaryHtml: string; workaroundsHtml: string | null } {
  return { summaryHtml: renderMarkdown(content.summary ?? ""), workaroundsHtml: content.workarounds ? renderMarkdown(content.workarounds) : null };
}

/** The credits the linked reports' reporters chose on their tracking pages (as publication will add them). */
function reporterCreditsOf(reports: Report[]): Array<{ reportId: number; name: string; url: string | null; type: AdvisoryContent["credits"][number]["type"] }> {
  return mergeCredits([], reports).map((c) => ({ reportId: c.reportId!, name: c.name, url: c.url, type: c.type }));
}
