import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import { listAdvisoryIdsOfReports } from "../../modules/advisories/index.js";
import { requireSession, sessionOf } from "../../modules/auth/index.js";
import { actorOf } from "../../modules/people/index.js";
import { listEscalationsOf } from "../../modules/reporter-side/index.js";
import { CHANNEL_LABELS, CHANNELS, REPORT_STATES, SEVERITIES, listReportsForTeam, resolveOwnerFilter, searchWords } from "../../modules/reports/index.js";
import { readPausesOf } from "../../modules/reports/index.js";
import { views } from "../render.js";
import { sendPage } from "../team/team-pages.js";
import { listDeskMembers, type DeskContext } from "./desk-context.js";
import { ADVISORY_STATE_LABELS, QUEUE_PAGE_SIZE, STATE_LABELS, TARGET_LABELS, parseQueueQuery, presentDisclosureClock, presentQueueRow, queueHref } from "./desk-view.js";

/** The header a page's script sends to get only the queue's results, not the whole page. */
export const RESULTS_FRAGMENT_HEADER = "x-desk-fragment";

/** The queue (`/desk`): open reports closest to a missed target first, with filters and search. */
export function registerQueuePage(app: HttpApp, ctx: DeskContext): void {
  const { db, clock } = ctx;
  app.get("/desk", { schema: { hide: true }, preHandler: requireSession(ctx.auth, "reports:read") }, async (request, reply) => {
    const { member } = sessionOf(request);
    const parsed = parseQueueQuery(request.query);
    const settings = await ctx.settings.get();
    const members = await listDeskMembers(db);
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
    const isOpenView = parsed.values.state === "" || parsed.values.state === "open";
    const [pauses, escalations, advisories, waiting] = await Promise.all([
      readPausesOf(db, reports),
      listEscalationsOf(db, reports.map((r) => r.id)),
      listAdvisoryIdsOfReports(db, reports.filter((r) => r.state === "resolved").map((r) => r.id)),
      // Fixed reports leave the open queue but still owe their disclosure: the open view says how many wait, under the same filters.
      isOpenView && words === undefined
        ? listReportsForTeam(db, { states: ["resolved"], channels: parsed.channels, ownerId, severities: parsed.severities, sort: "deadline", limit: 1, offset: 0 })
        : null,
    ]);
    const oldestWaiting = waiting?.reports[0];
    const data = {
      title: "Report desk",
      rows: reports.map((r) => ({
        ...presentQueueRow(r, settings, now, members.all, pauses.get(r.id), escalations.get(r.id)),
        advisories: r.state === "resolved" ? (advisories.get(r.id) ?? []).map((a) => ({ publicId: a.publicId, stateLabel: ADVISORY_STATE_LABELS[a.state] })) : null,
      })),
      awaitingDisclosure:
        waiting && oldestWaiting
          ? { count: waiting.total, href: queueHref(parsed.values, { state: "resolved", page: 1 }), oldest: presentDisclosureClock(oldestWaiting, settings, now) }
          : null,
      order: parsed.values.state === "resolved" ? "received first, so the nearest disclosure deadline leads" : "closest to a missed target first",
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
      csrf: reply.csrfToken(),
      member,
      values: parsed.values,
      errors,
      stateOptions: [
        { value: "", label: "Open (new to triaged)" },
        { value: "resolved", label: "Resolved, awaiting disclosure" },
        ...REPORT_STATES.filter((s) => s !== "resolved").map((s) => ({ value: s, label: STATE_LABELS[s] })),
        { value: "all", label: "All" },
      ],
      channelOptions: CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c] })),
      severityOptions: SEVERITIES,
      ownerOptions: members.owners.map((m) => ({ value: m.email, label: `${m.name} (${m.email})` })),
    });
  });
}
