import fs from "node:fs";
import path from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HttpApp } from "../../platform/http/app.js";
import { requireSession, sessionOf, type AuthContext } from "../../modules/auth/index.js";
import { describeSeconds, describeShare, METRIC_LABELS, renderShareChart, type ServiceLevelMetrics } from "../../modules/metrics/index.js";
import { actorOf } from "../../modules/people/index.js";
import { describeDuration, loadSettings, updateSetting, type SettingsCache } from "../../modules/settings/index.js";
import { WEB_ROOT } from "../render.js";
import { pageErrorHandler, sendPage } from "../team/team-pages.js";
import { CHANNEL_LABELS, parseSettingsSection, readPostedValues, SECTIONS, sectionById, settingsFormValues, WEEKDAY_LABELS, type FormValues, type SectionId } from "./settings-form.js";

export interface AdminPageDeps {
  auth: AuthContext;
  settings: SettingsCache;
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
    const current = settingsFormValues(await loadSettings(auth.db));
    return sendPage(
      reply,
      "admin-settings",
      {
        title: "Settings",
        csrf: reply.generateCsrf(),
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

  // ---- program settings ---------------------------------------------------------------

  app.post("/desk/settings/:section", { schema: { hide: true }, preHandler: [csrf, admin] }, async (request, reply) => {
    const section = sectionById(String((request.params as { section?: unknown }).section ?? ""));
    if (!section) return sendPage(reply, "message", { title: "Not found", message: "There is no such settings form." }, 404);
    const values = readPostedValues(section, request.body);
    const { updates, errors } = parseSettingsSection(section.id as SectionId, values);
    if (Object.keys(errors).length) return settingsPage(request, reply, { section: section.id, values, errors, status: 400 });
    const actor = actorOf(sessionOf(request).member);
    const stored = (await loadSettings(auth.db)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(updates)) {
      // Only what changed is written, so the audit log shows real changes.
      if (JSON.stringify(stored[key]) !== JSON.stringify(value)) await updateSetting(auth.db, auth.clock, actor, key, value);
    }
    deps.settings.invalidate();
    return reply.code(303).redirect(`/desk/settings?saved=${section.id}#${section.id}`);
  });
}
