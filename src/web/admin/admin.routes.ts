import fs from "node:fs";
import path from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HttpApp } from "../../platform/http/app.js";
import { requireSession, sessionOf, type AuthContext } from "../../modules/auth/index.js";
import { describeSeconds, describeShare, METRIC_LABELS, renderShareChart, type ServiceLevelMetrics } from "../../modules/metrics/index.js";
import { changeHallOfFameEntry, listHallOfFameEntries, removeHallOfFameEntry } from "../../modules/hall-of-fame/index.js";
import { actorOf } from "../../modules/people/index.js";
import { DomainError } from "../../shared/errors.js";
import { describeDuration, updateSetting, type SettingsReader } from "../../modules/settings/index.js";
import { WEB_ROOT } from "../render.js";
import { formField, pageErrorHandler, sendPage } from "../team/team-pages.js";
import { CHANNEL_LABELS, parseSettingsSection, readPostedValues, SECTIONS, sectionById, settingsFormValues, WEEKDAY_LABELS, type FormValues, type SectionId } from "./settings-form.js";
import { refuseSubresourceRequests } from "../../platform/http/subresource-guard.js";

export interface AdminPageDeps {
  auth: AuthContext;
  settings: SettingsReader;
  /** The service-level figures the metrics page shows (stored, at most a minute old). */
  serviceLevels: ServiceLevelMetrics;
}

const SAVED: Record<string, string> = {
  program: "Program and contacts saved.",
  targets: "Response targets saved; the queue order follows them.",
  resolution: "Resolution targets saved.",
  calendars: "Business hours saved.",
  bounty: "Bounty table saved.",
  canned: "Canned responses saved.",
  assets: "Assets saved.",
};

interface SettingsPageState {
  /** The form that was refused, its posted values and errors. */
  section?: string;
  values?: FormValues;
  errors?: Record<string, string>;
  status?: number;
}

/**
 * The desk's pages for the whole team and for admins: `/desk/metrics` (any signed-in
 * member) and `/desk/settings` (admins: program settings, service levels, business hours,
 * bounty table, canned responses, assets; members are on /team/members). Every form is CSRF-checked,
 * works without JavaScript, saves through the audited services and shows what is wrong
 * next to the field that is wrong.
 */
export async function registerAdminPages(app: HttpApp, deps: AdminPageDeps): Promise<void> {
  const css = fs.readFileSync(path.join(WEB_ROOT, "assets", "admin.css"));
  app.get("/assets/admin.css", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(css),
  );
  await app.register(async (scope) => {
    scope.setErrorHandler(pageErrorHandler);
    scope.addHook("onRequest", refuseSubresourceRequests);
    registerRoutes(scope as HttpApp, deps);
  });
}

function registerRoutes(app: HttpApp, deps: AdminPageDeps): void {
  const { auth, serviceLevels } = deps;
  const csrf = app.csrfProtection;
  const member = requireSession(auth, "signed_in");
  const admin = requireSession(auth, "admin");

  app.get("/desk/metrics", { schema: { hide: true }, preHandler: member }, async (_request, reply) => {
    const summary = await serviceLevels.current();
    const channels = summary.channels.map((c) => ({
      channel: c.channel,
      label: CHANNEL_LABELS[c.channel] ?? c.channel,
      received: c.received,
      rows: c.figures.map((f) => ({
        label: METRIC_LABELS[f.metric],
        median: describeSeconds(f.medianSeconds),
        reached: f.reached,
        target: f.metric === "time_to_bounty" ? "none" : f.metric === "time_to_resolution" ? "by severity" : f.targetMinutes == null ? "none" : describeDuration(f.targetMinutes),
        share: f.metric === "time_to_bounty" ? "—" : describeShare(f.shareWithinTarget),
        decided: f.metric === "time_to_bounty" ? "" : `${f.met} met, ${f.missed} missed`,
      })),
    }));
    return sendPage(reply, "metrics", {
      title: "Metrics",
      from: summary.from.slice(0, 10),
      to: summary.to.slice(0, 10),
      computedAt: summary.to,
      computedAtText: `${summary.to.slice(0, 10)} ${summary.to.slice(11, 16)} UTC`,
      windowDays: summary.windowDays,
      channels,
      // Made by renderShareChart from fixed names and numbers, every text escaped there.
      chart: renderShareChart(summary),
    });
  });

  const settingsPage = async (request: FastifyRequest, reply: FastifyReply, state: SettingsPageState = {}) => {
    const saved = (request.query as Record<string, unknown> | undefined)?.saved;
    const current = settingsFormValues(await deps.settings.get());
    return sendPage(
      reply,
      "admin-settings",
      {
        title: "Settings",
        csrf: reply.csrfToken(),
        sections: SECTIONS,
        weekdays: Object.entries(WEEKDAY_LABELS).map(([value, label]) => ({ value, label })),
        // The refused form keeps what was typed; the others show what is stored.
        valuesFor: (section: string) => (section === state.section && state.values ? { ...current, ...state.values } : current),
        errorsFor: (section: string) => (section === state.section ? (state.errors ?? {}) : {}),
        failedSection: state.section,
        notice: typeof saved === "string" ? SAVED[saved] : undefined,
      },
      state.status ?? 200,
    );
  };

  app.get("/desk/settings", { schema: { hide: true }, preHandler: admin }, async (request, reply) => settingsPage(request, reply));

  // ---- hall of fame -------------------------------------------------------------------

  const SOURCES: Record<string, string> = { import: "imported", advisory: "credited in an advisory" };
  const hallOfFamePage = async (request: FastifyRequest, reply: FastifyReply, problem?: { entryId: number | null; message: string; fields: Record<string, string>; values: Record<string, string>; status: number }) => {
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    const entries = (await listHallOfFameEntries(auth.db)).map((e) => ({
      id: e.id,
      name: e.name,
      yearText: e.year === null ? `${e.addedAt.slice(0, 4)}, the year it was added` : String(e.year),
      addedYear: e.addedAt.slice(0, 4),
      sourceText: SOURCES[e.source.split(":")[0] ?? ""] ?? e.source,
      values: { name: e.name, url: e.url ?? "", affiliation: e.affiliation ?? "", year: e.year === null ? "" : String(e.year) },
    }));
    return sendPage(
      reply,
      "admin-hall-of-fame",
      { title: "Hall of fame", csrf: reply.csrfToken(), entries, notice: done === "changed" ? "The entry is saved." : done === "removed" ? "The entry is removed from the hall of fame." : undefined, problem: problem ?? null },
      problem?.status ?? 200,
    );
  };
  const entryParams = (request: FastifyRequest) => Number((request.params as { id?: string }).id);

  app.get("/desk/hall-of-fame", { schema: { hide: true }, preHandler: admin }, async (request, reply) => hallOfFamePage(request, reply));

  app.post("/desk/hall-of-fame/:id", { schema: { hide: true }, preHandler: [csrf, admin] }, async (request, reply) => {
    const id = entryParams(request);
    const values = { name: formField(request.body, "name", 2000), url: formField(request.body, "url", 4000).trim(), affiliation: formField(request.body, "affiliation", 1000), year: formField(request.body, "year", 20).trim() };
    try {
      if (!Number.isInteger(id) || id <= 0) throw new DomainError("hall_of_fame_entry_not_found", "not_found", "There is no such entry.");
      if (values.year !== "" && !/^\d{4}$/.test(values.year)) throw new DomainError("validation_failed", "invalid", "A year is a year such as 2023.", { year: "a year such as 2023" });
      await changeHallOfFameEntry(auth.db, auth.clock, actorOf(sessionOf(request).member), id, {
        name: values.name,
        url: values.url === "" ? null : values.url,
        affiliation: values.affiliation.trim() === "" ? null : values.affiliation,
        year: values.year === "" ? null : Number(values.year),
      });
    } catch (error) {
      if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict")) {
        return hallOfFamePage(request, reply, { entryId: id, message: error.message, fields: error.fields ?? {}, values, status: error.kind === "invalid" ? 400 : 409 });
      }
      throw error;
    }
    return reply.code(303).redirect(`/desk/hall-of-fame?done=changed#entry-${id}-section`);
  });

  app.post("/desk/hall-of-fame/:id/remove", { schema: { hide: true }, preHandler: [csrf, admin] }, async (request, reply) => {
    const id = entryParams(request);
    if (!Number.isInteger(id) || id <= 0) throw new DomainError("hall_of_fame_entry_not_found", "not_found", "There is no such entry.");
    await removeHallOfFameEntry(auth.db, auth.clock, actorOf(sessionOf(request).member), id);
    return reply.code(303).redirect("/desk/hall-of-fame?done=removed");
  });

  // ---- program settings ---------------------------------------------------------------

  app.post("/desk/settings/:section", { schema: { hide: true }, preHandler: [csrf, admin] }, async (request, reply) => {
    const section = sectionById(String((request.params as { section?: unknown }).section ?? ""));
    if (!section) return sendPage(reply, "message", { title: "Not found", message: "There is no such settings form." }, 404);
    const values = readPostedValues(section, request.body);
    const { updates, errors } = parseSettingsSection(section.id as SectionId, values);
    if (Object.keys(errors).length) return settingsPage(request, reply, { section: section.id, values, errors, status: 400 });
    const actor = actorOf(sessionOf(request).member);
    // Compared with the stored values as they are now, not a copy another process may have outdated.
    deps.settings.invalidate();
    const stored = (await deps.settings.get()) as Record<string, unknown>;
    for (const [key, value] of Object.entries(updates)) {
      // Only what changed is written, so the audit log shows real changes.
      if (JSON.stringify(stored[key]) !== JSON.stringify(value)) await updateSetting(deps.settings, auth.clock, actor, key, value);
    }
    return reply.code(303).redirect(`/desk/settings?saved=${section.id}#${section.id}`);
  });
}
