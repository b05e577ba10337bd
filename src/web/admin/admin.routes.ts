import fs from "node:fs";
import path from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import { createInvite, requireSession, sessionOf, type AuthContext } from "../../modules/auth/index.js";
import { describeSeconds, describeShare, METRIC_LABELS, renderShareChart, type ServiceLevelMetrics } from "../../modules/metrics/index.js";
import { actorOf, addTeamMember, changeMemberRole, disableMember, listUsers, ROLES } from "../../modules/people/index.js";
import { describeDuration, loadSettings, updateSetting, type SettingsCache } from "../../modules/settings/index.js";
import { WEB_ROOT } from "../render.js";
import { formField, pageErrorHandler, sendPage } from "../team/team-pages.js";
import { CHANNEL_LABELS, parseSettingsSection, readPostedValues, SECTIONS, sectionById, settingsFormValues, WEEKDAY_LABELS, type FormValues, type SectionId } from "./settings-form.js";

export interface AdminPageDeps {
  auth: AuthContext;
  settings: SettingsCache;
  /** The service-level figures the metrics page shows (stored, at most a minute old). */
  serviceLevels: ServiceLevelMetrics;
}

const idParams = z.object({ id: z.coerce.number().int().positive() });

const SAVED: Record<string, string> = {
  program: "Program and contacts saved.",
  targets: "Response targets saved; the queue order follows them.",
  resolution: "Resolution targets saved.",
  calendars: "Business hours saved.",
  bounty: "Bounty table saved.",
  canned: "Canned responses saved.",
  assets: "Assets saved.",
  role: "Role changed.",
  disabled: "Member disabled; their sessions and tokens no longer work.",
};

interface SettingsPageState {
  /** The form that was refused, its posted values and errors. */
  section?: string;
  values?: FormValues;
  errors?: Record<string, string>;
  invite?: { email: string; url: string; expiresAt: string };
  status?: number;
}

/**
 * The desk's pages for the whole team and for admins: `/desk/metrics` (any signed-in
 * member) and `/desk/settings` (admins: program settings, service levels, business hours,
 * bounty table, canned responses, assets, team members). Every form is CSRF-checked,
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
    const me = sessionOf(request).member;
    const members = (await listUsers(auth.db)).map((m) => ({ ...m, disabled: m.disabledAt !== null, isMe: m.id === me.id }));
    return sendPage(
      reply,
      "admin-settings",
      {
        title: "Settings",
        csrf: reply.generateCsrf(),
        sections: SECTIONS,
        weekdays: Object.entries(WEEKDAY_LABELS).map(([value, label]) => ({ value, label })),
        roles: ROLES,
        members,
        // The refused form keeps what was typed; the others show what is stored.
        valuesFor: (section: string) => (section === state.section && state.values ? { ...current, ...state.values } : current),
        errorsFor: (section: string) => (section === state.section ? (state.errors ?? {}) : {}),
        failedSection: state.section,
        notice: typeof saved === "string" ? SAVED[saved] : undefined,
        invite: state.invite,
      },
      state.status ?? 200,
    );
  };

  app.get("/desk/settings", { schema: { hide: true }, preHandler: admin }, async (request, reply) => settingsPage(request, reply));

  // ---- team members (static routes win over /desk/settings/:section) ------------------

  const memberRefused = (request: FastifyRequest, reply: FastifyReply, section: string, values: FormValues, error: unknown) => {
    if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict" || error.kind === "not_found")) {
      const fields = error.fields && Object.keys(error.fields).length ? error.fields : { [section === "add-member" ? "email" : "role"]: error.message };
      return settingsPage(request, reply, { section, values, errors: fields, status: error.kind === "not_found" ? 404 : error.kind === "conflict" ? 409 : 400 });
    }
    throw error;
  };

  app.post("/desk/settings/members", { schema: { hide: true }, preHandler: [csrf, admin] }, async (request, reply) => {
    const values = { email: formField(request.body, "email", 320), name: formField(request.body, "name", 200), role: formField(request.body, "role", 20) };
    const actor = actorOf(sessionOf(request).member);
    try {
      const added = await addTeamMember(auth.db, auth.clock, actor, { email: values.email, name: values.name.trim() || undefined, role: values.role });
      const invite = await createInvite(auth, actor, added.email, auth.baseUrl());
      return settingsPage(request, reply, { invite: { email: added.email, url: invite.url, expiresAt: invite.expiresAt.slice(0, 16).replace("T", " ") } });
    } catch (error) {
      return memberRefused(request, reply, "add-member", values, error);
    }
  });

  app.post("/desk/settings/members/:id/role", { schema: { hide: true, params: idParams }, preHandler: [csrf, admin] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    const role = formField(request.body, "role", 20);
    try {
      await changeMemberRole(auth.db, auth.clock, actorOf(sessionOf(request).member), id, role);
      return reply.code(303).redirect("/desk/settings?saved=role#members");
    } catch (error) {
      return memberRefused(request, reply, `member-${id}`, { role }, error);
    }
  });

  app.post("/desk/settings/members/:id/disable", { schema: { hide: true, params: idParams }, preHandler: [csrf, admin] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    try {
      await disableMember(auth.db, auth.clock, actorOf(sessionOf(request).member), id);
      return reply.code(303).redirect("/desk/settings?saved=disabled#members");
    } catch (error) {
      return memberRefused(request, reply, `member-${id}`, {}, error);
    }
  });

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
