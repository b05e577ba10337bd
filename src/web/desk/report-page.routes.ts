import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { renderReporterMarkdown } from "../../platform/markdown/markdown.js";
import { listAdvisoryIdsOfReport } from "../../modules/advisories/index.js";
import { listAttachmentsOfReport, openAttachmentAsTeam, sendOpenedAttachment, describeBytes } from "../../modules/attachments/index.js";
import { listAuditEventsFor, listLatestAuditEventsFor } from "../../modules/audit/index.js";
import { requireSession, sessionOf } from "../../modules/auth/index.js";
import { decryptedFilename, decryptReportForTeam } from "../../modules/browser-encryption/index.js";
import { listInboundMessagesOfReport, type InboundMessage } from "../../modules/inbound-mail/index.js";
import { actorOf, hasPermission } from "../../modules/people/index.js";
import { listEscalationsOf } from "../../modules/reporter-side/index.js";
import {
  CHANNEL_LABELS,
  TRACKED_CHANNELS,
  CLOSING_STATES,
  SEVERITIES,
  TRANSITIONS,
  UPSTREAM_STATUSES,
  findEncryptedArrival,
  readReportAsTeam,
  REPORT_VIEWED,
  suggestBounty,
  supportReferralMessage,
  type ReportState,
} from "../../modules/reports/index.js";
import { readPauses } from "../../modules/reports/index.js";
import { CWE_VERSION, checkCvssVector, describeCvssVector, findSimilarReports, listCvssMetrics, scoreCvssVector, searchCwe, type CvssScore } from "../../modules/triage/index.js";
import { formField, sendPage } from "../team/team-pages.js";
import { idParams, listDeskMembers, type DeskContext } from "./desk-context.js";
import { ADVISORY_STATE_LABELS, STATE_LABELS, UPSTREAM_STATUS_LABELS, isAwaitingFirstAnswer, presentAuditEvent, presentClocks, presentDisclosureClock } from "./desk-view.js";

const attachmentParams = idParams.extend({ attachmentId: z.coerce.number().int().positive() });

/** Audit events shown on a report page unless all are asked for. */
const AUDIT_TRAIL_SHOWN = 100;

/** What a successful action says at the top of the page (`?done=…`); a change of state names the new one. */
const NOTICES: Record<string, string> = {
  reply: "Your reply is saved and on its way to the reporter.",
  note: "Your internal note is saved. The reporter does not see it.",
  assessment: "The assessment is saved; the report's state is unchanged.",
  "assessment-triaged": "The assessment is saved and the report is marked Triaged.",
  owner: "The owner is changed.",
  bounty: "The bounty is saved.",
  upstream: "The upstream is saved.",
  "upstream-removed": "The upstream is removed.",
  "key-kept": "The offered key is kept: mail to the reporter is now encrypted to it.",
  channel: "The channel is changed; the report's clocks follow it.",
};

/** A score as the report page writes it, also when the calculator's script updates it. */
function describeCvssScore(score: Pick<CvssScore, "score" | "rating">): string {
  return `Score ${score.score.toFixed(1)} (${score.rating})`;
}

/** The report page at its audit trail, with these choices of what the trail shows. */
function trailHref(id: number, query: Record<string, string>): string {
  const search = new URLSearchParams(query).toString();
  return `/desk/reports/${id}${search ? `?${search}` : ""}#audit`;
}

/** A refused action: the page again, with the errors and the input kept at the form that failed. */
export interface FormProblem {
  /** Which form on the page failed: its errors and kept input are shown there. */
  form: string;
  fields: Record<string, string>;
  message: string;
  values: Record<string, string>;
  status: number;
}

/**
 * The report page (`/desk/reports/:id`) with everything its forms need, its attachments
 * and the CWE search of its triage form.
 */
export function registerReportPage(app: HttpApp, ctx: DeskContext): void {
  const reader = requireSession(ctx.auth, "reports:read");

  app.get("/desk/reports/:id", { schema: { hide: true, params: idParams }, preHandler: reader }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    return sendReportPage(ctx, request, reply, id);
  });

  app.get("/desk/reports/:id/attachments/:attachmentId", { schema: { hide: true, params: attachmentParams }, preHandler: reader }, async (request, reply) => {
    const { id, attachmentId } = request.params as z.infer<typeof attachmentParams>;
    const decrypted = (request.query as Record<string, unknown> | undefined)?.decrypted === "1" && ctx.keyring !== undefined;
    const opened = await openAttachmentAsTeam(ctx.db, ctx.clock, actorOf(sessionOf(request).member), ctx.blobs, id, attachmentId, { decrypted });
    return sendOpenedAttachment(reply, opened, decrypted ? ctx.keyring : undefined);
  });

  /** The live score of the CVSS calculators (JSON, same session as the page): the score in words, or what the vector still lacks. */
  app.get("/desk/cvss", { schema: { hide: true }, preHandler: reader }, async (request, reply) => {
    const version = formField(request.query, "version", 10);
    const vector = formField(request.query, "vector", 500).trim();
    if (version !== "3.1" && version !== "4.0") return reply.code(400).header("cache-control", "no-store").send({ error: { code: "validation_failed", message: "version is 3.1 or 4.0" } });
    const check = checkCvssVector(version, vector);
    const words = describeCvssVector(version, vector).map((w) => `${w.name}: ${w.valueName}`);
    const body = check.ok
      ? { complete: true, text: describeCvssScore(scoreCvssVector(version, vector)), words }
      : { complete: false, text: vector ? `Not scored yet: the vector ${check.problem}.` : "Not scored yet.", words };
    return reply.header("cache-control", "no-store").send(body);
  });

  /** The CWE search of the triage form's script (JSON, same session as the page). */
  app.get("/desk/cwe", { schema: { hide: true }, preHandler: reader }, async (request, reply) => {
    const q = formField(request.query, "q", 200).trim();
    const weaknesses = q ? searchCwe(q, 20).map((w) => ({ id: w.id, name: w.name })) : [];
    return reply.header("cache-control", "no-store").send({ version: CWE_VERSION, weaknesses });
  });
}

/** Answers the report page; with a problem, at its status with the refused form's errors and input. */
export async function sendReportPage(ctx: DeskContext, request: FastifyRequest, reply: FastifyReply, id: number, problem?: FormProblem): Promise<FastifyReply> {
  const { db, clock, rendered } = ctx;
  const { member } = sessionOf(request);
  const settings = await ctx.settings.get();
  const { report, messages, details } = await readReportAsTeam(db, clock, actorOf(member), id);
  // Encrypted in the reporter's browser: shown decrypted with the team key (audited), or,
  // should that fail, as the ciphertext it is, with the reason.
  const encryption = ctx.keyring ? await decryptReportForTeam(db, clock, ctx.keyring, actorOf(member), report) : undefined;
  const readable = encryption?.decrypted ?? report;
  // Text decrypted for this view is rendered and forgotten; stored clear text is kept rendered.
  const markdownOfReport = (text: string) => (encryption?.decrypted ? renderReporterMarkdown(text) : rendered.render(text));
  // The audit trail: the latest events, or all of them when asked (every view of the report is one).
  const wholeTrail = (request.query as Record<string, unknown> | undefined)?.audit === "all";
  // Views can be hidden from the trail shown (they stay in the log): `?views=hidden`.
  const viewsHidden = (request.query as Record<string, unknown> | undefined)?.views === "hidden";
  const trailFilter = viewsHidden ? { exceptActions: [REPORT_VIEWED] } : {};
  const [attachments, trail, pauses, similar, members, escalations, advisories, receivedMail] = await Promise.all([
    listAttachmentsOfReport(db, id),
    wholeTrail
      ? listAuditEventsFor(db, "report", String(id), trailFilter).then((events) => ({ events, total: events.length }))
      : listLatestAuditEventsFor(db, "report", String(id), AUDIT_TRAIL_SHOWN, trailFilter),
    readPauses(db, report),
    findSimilarReports(db, id),
    listDeskMembers(db),
    listEscalationsOf(db, [id]),
    listAdvisoryIdsOfReport(db, id),
    listInboundMessagesOfReport(db, id),
  ]);
  const escalation = escalations.get(id);
  const arrival = await findEncryptedArrival(db, id);
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
      csrf: reply.csrfToken(),
      member,
      canWrite,
      notice: done === "transition" ? `The report is now ${STATE_LABELS[report.state]}.` : typeof done === "string" ? NOTICES[done] : undefined,
      problem: problem ?? null,
      report,
      stateLabel: STATE_LABELS[report.state],
      channelLabel: CHANNEL_LABELS[report.channel],
      details,
      ownerName: report.ownerId == null ? null : (members.all.get(report.ownerId)?.name ?? details.ownerEmail),
      encryption: encryption ?? null,
      escalation: escalation ? { ...escalation, unanswered: isAwaitingFirstAnswer(report.state) } : null,
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
        decryptedHref: a.browserEncrypted && ctx.keyring ? `/desk/reports/${id}/attachments/${a.id}?decrypted=1` : null,
        decryptedName: a.browserEncrypted ? decryptedFilename(a.filename) : null,
      })),
      advisories: advisories.map((a) => ({ publicId: a.publicId, stateLabel: ADVISORY_STATE_LABELS[a.state] })),
      // Closed without a fix (duplicate, spam…), a report has nothing to disclose.
      canWriteAdvisory: !(CLOSING_STATES as readonly string[]).includes(report.state),
      // An open report may move between the tracked channels (support is a transition).
      channelChoices:
        canWrite && !(CLOSING_STATES as readonly string[]).includes(report.state) && report.state !== "disclosed"
          ? TRACKED_CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c] }))
          : [],
      receivedMail: receivedMail.map((m) => presentReceivedMail(m, report.reporterPgpKey)),
      clocks: [clocks.firstResponse, clocks.triage, clocks.resolution, presentDisclosureClock(report, settings, now)].filter((c) => c !== null),
      audit: trail.events.map(presentAuditEvent),
      auditTotal: trail.total,
      auditViews: {
        hidden: viewsHidden,
        // Each link keeps the other choice (all events or the latest).
        toggleHref: trailHref(id, { ...(wholeTrail ? { audit: "all" } : {}), ...(viewsHidden ? {} : { views: "hidden" }) }),
        allHref: trailHref(id, { audit: "all", ...(viewsHidden ? { views: "hidden" } : {}) }),
      },
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
      // Routing to support: a report that arrived encrypted asks how (never forwarded as it is).
      encryptedArrival: arrival.browser ? "encrypted in the reporter's browser" : arrival.mail ? "as encrypted PGP mail" : null,
      supportEmail: settings.supportEmail,
      supportReferral: supportReferralMessage(settings.supportEmail),
      severities: SEVERITIES,
      upstreamStatuses: UPSTREAM_STATUSES.map((s) => ({ value: s, label: UPSTREAM_STATUS_LABELS[s] })),
      cvss: { "3.1": listCvssMetrics("3.1").filter((m) => m.mandatory), "4.0": listCvssMetrics("4.0").filter((m) => m.mandatory) },
      // The saved vectors in words, with their scores (what the calculator's script shows live).
      cvssSaved: {
        cvss31: details.cvss31 ? { text: describeCvssScore(details.cvss31), words: describeCvssVector("3.1", details.cvss31.vector).map((w) => `${w.name}: ${w.valueName}`) } : null,
        cvss40: details.cvss40 ? { text: describeCvssScore(details.cvss40), words: describeCvssVector("4.0", details.cvss40.vector).map((w) => `${w.name}: ${w.valueName}`) } : null,
      },
      cweVersion: CWE_VERSION,
    },
    problem?.status ?? 200,
  );
}

const OUTCOME_LABELS: Record<InboundMessage["outcome"], string> = { report: "Opened the report", reply: "Reply in the thread", bounce: "Bounce of Shield's mail" };

/** One received message's findings in words: authentication, decryption, signature, offered key, receipt. */
function presentReceivedMail(m: InboundMessage, reporterKey: string | null) {
  const d = m.details;
  const encryption = !d.encryption?.encrypted
    ? "not encrypted"
    : d.encryption.decrypted
      ? `encrypted (${(d.encryption.encryptedParts ?? []).join(", ") || "OpenPGP"}), decrypted with the team key`
      : `encrypted${d.encryption.keyIds?.length ? ` to ${d.encryption.keyIds.join(", ")}` : ""}, not decrypted: kept as received`;
  const signature = !d.signature?.signed
    ? "not signed"
    : d.signature.valid
      ? `good signature by ${d.signature.keyFingerprint ?? "an unnamed key"}`
      : `signature not valid: ${d.signature.detail ?? "unknown reason"}`;
  const offered = d.offeredKey;
  return {
    id: m.id,
    outcome: OUTCOME_LABELS[m.outcome],
    via: m.via === "smtp" ? "SMTP" : "IMAP",
    receivedAt: m.receivedAt,
    fromAddress: m.fromAddress,
    envelopeFrom: m.envelopeFrom,
    remoteAddress: m.remoteAddress,
    authentication: d.authentication ?? null,
    encryption,
    signature,
    offeredKey: offered
      ? {
          fingerprint: offered.fingerprint.replace(/(.{4})(?=.)/g, "$1 "),
          userIds: offered.userIds,
          source: offered.source === "autocrypt" ? "Autocrypt header" : "attached",
          canKeep: Boolean(offered.armored),
          kept: Boolean(offered.armored) && offered.armored === reporterKey,
        }
      : null,
    receipt: d.receipt ? (d.receipt.sent ? "sent" : `not sent: ${d.receipt.why ?? ""}`) : null,
    notes: m.notes,
  };
}
