import type { Db, Executor, Tx } from "../../platform/db/database.js";
import { z } from "zod";
import { defineJob, enqueue } from "../../platform/jobs/job.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { ForbiddenError, ValidationError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { addHallOfFameEntry } from "../hall-of-fame/index.js";
import { checkTransition, findReport, findReportDetails, moveReport, type Report, type ReportDetails } from "../reports/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import { checkCvssVector, lookUpCwe, scoreCvssVector } from "../triage/index.js";
import {
  AdvisoryNotFoundError,
  AdvisoryStateError,
  baseVectorOf,
  checkDisclosureGuard,
  checkProducts,
  DisclosureGuardError,
  formatAdvisoryId,
  mergeCredits,
  type Advisory,
  type AdvisoryContent,
  type CvssSeverity,
  type GuardCheck,
} from "./advisory.js";
import {
  findAdvisory,
  insertAdvisory,
  insertAdvisoryRevision,
  listAdvisories,
  nextAdvisorySequence,
  replaceAdvisoryReports,
  updateAdvisoryIfState,
} from "./advisory.repository.js";
import type { CreateAdvisoryBody, PatchAdvisoryBody, ScheduleAdvisoryBody } from "./advisory.schemas.js";
import { advisoryPageUrl } from "./export-context.js";

/** The publication of a scheduled advisory at its time (`scheduledAt`: the time it was scheduled for). */
export const ADVISORY_PUBLISH_JOB = defineJob({
  kind: "advisory.publish_scheduled",
  payload: z.object({ advisoryId: z.number().int().positive(), scheduledAt: z.string() }),
});

/** What publishing needs besides the database: the public address of the advisory, for the reporters' mail. */
export interface AdvisoryDeps {
  db: Db;
  clock: Clock;
  baseUrl: () => string;
  /** Publication moves reports (`disclosed`), which announces what follows from a move. */
  events: Events;
  /** A report's next deadline is worked out again when publication moves it. */
  settings: SettingsReader;
}

/** Who asks, and whether they may publish over the guard (admins, the operator's CLI). */
export interface AdvisoryCaller {
  actor: Actor;
  mayOverride: boolean;
}

type LinkedReport = { report: Report; details: ReportDetails };

async function readLinkedReports(db: Executor, ids: number[]): Promise<LinkedReport[]> {
  const out: LinkedReport[] = [];
  for (const id of ids) {
    const report = await findReport(db, id);
    const details = report && (await findReportDetails(db, id));
    if (!report || !details) throw ValidationError(`Report ${id} does not exist.`, { reportIds: `report ${id} does not exist` });
    out.push({ report, details });
  }
  return out;
}

function severityOf(version: "3.1" | "4.0", vector: string, field: string): CvssSeverity {
  const check = checkCvssVector(version, vector);
  if (!check.ok) throw ValidationError(`The CVSS ${version} vector is not valid.`, { [field]: check.problem });
  const { score, rating } = scoreCvssVector(version, baseVectorOf(version, vector));
  return { vector, baseScore: score, baseRating: rating };
}

/** A vector given (string), cleared (null) or, when absent, the highest-scored one of the linked reports. */
function resolveCvss(version: "3.1" | "4.0", given: string | null | undefined, linked: LinkedReport[] | null, current: CvssSeverity | null): CvssSeverity | null {
  const field = version === "3.1" ? "cvss31Vector" : "cvss40Vector";
  if (given === null) return null;
  if (given !== undefined) return severityOf(version, given, field);
  if (!linked) return current;
  const vectors = linked.map((l) => (version === "3.1" ? l.details.cvss31 : l.details.cvss40)).filter((c) => c !== null);
  const best = vectors.sort((a, b) => b.score - a.score)[0];
  return best ? severityOf(version, best.vector, field) : null;
}

function resolveCwe(given: string | null | undefined, linked: LinkedReport[] | null, current: AdvisoryContent["cwe"]): AdvisoryContent["cwe"] {
  if (given === null) return null;
  if (given !== undefined) {
    const found = lookUpCwe(given);
    if (!found.ok) throw ValidationError("The CWE is not valid.", { cwe: found.problem });
    return { id: found.entry.id, name: found.entry.name };
  }
  if (!linked) return current;
  return linked.map((l) => l.details.cwe).find((c) => c !== null) ?? null;
}

/** The content after applying `body` to `current` (or to nothing, on creation, where absent severities come from the reports). */
function buildContent(body: Partial<CreateAdvisoryBody>, current: AdvisoryContent | null, linked: LinkedReport[] | null): AdvisoryContent {
  const products = body.products
    ? body.products.map((p) => ({
        vendor: p.vendor.trim(),
        product: p.product.trim(),
        ecosystem: p.ecosystem ?? null,
        packageName: p.packageName ?? null,
        ranges: p.ranges.map((r) => ({ introduced: r.introduced, fixed: r.fixed ?? null, lastAffected: r.lastAffected ?? null })),
        fixedVersion: p.fixedVersion ?? null,
      }))
    : current!.products;
  const problems = checkProducts(products);
  if (Object.keys(problems).length) throw ValidationError("Some version ranges are not valid.", problems);
  const teamCredits = body.credits
    ? body.credits.map((c) => ({ name: c.name.trim(), url: c.url ?? null, type: c.type, reportId: null }))
    : (current?.credits.filter((c) => c.reportId === null) ?? []);
  return {
    title: body.title?.trim() ?? current!.title,
    summary: body.summary ?? current!.summary,
    products,
    cvss31: resolveCvss("3.1", body.cvss31Vector, linked, current?.cvss31 ?? null),
    cvss40: resolveCvss("4.0", body.cvss40Vector, linked, current?.cvss40 ?? null),
    cwe: resolveCwe(body.cwe, linked, current?.cwe ?? null),
    cveId: body.cveId !== undefined ? body.cveId : (current?.cveId ?? null),
    references: body.references ?? current?.references ?? [],
    workarounds: body.workarounds !== undefined ? (body.workarounds?.trim() || null) : (current?.workarounds ?? null),
    credits: teamCredits,
  };
}

async function audit(tx: Tx, actor: Actor, advisory: Pick<Advisory, "publicId">, action: string, data: Record<string, unknown>, at: string): Promise<void> {
  await appendAuditEvent(tx, actor, { action, subjectType: "advisory", subjectId: advisory.publicId, data }, at);
}

async function mustFind(db: Executor, publicId: string): Promise<Advisory> {
  const advisory = await findAdvisory(db, { publicId });
  if (!advisory) throw AdvisoryNotFoundError(publicId);
  return advisory;
}

/**
 * A new draft from one or more reports. Severity and weakness not given are taken from the
 * linked reports (the highest-scored vector of each CVSS version).
 * @throws ValidationError for unknown reports, bad vectors, ranges or CWE
 */
export async function createAdvisory(db: Db, clock: Clock, settings: Settings, actor: Actor, body: CreateAdvisoryBody): Promise<Advisory> {
  return db.transaction().execute(async (tx) => {
    const linked = await readLinkedReports(tx, body.reportIds);
    const content = buildContent(body, null, linked);
    const now = clock.now();
    const at = now.toISOString();
    const prefix = settings.advisories.idPrefix;
    const year = now.getUTCFullYear();
    const publicId = formatAdvisoryId(prefix, year, await nextAdvisorySequence(tx, prefix, year));
    const id = await insertAdvisory(tx, { publicId, content, reportIds: body.reportIds, at });
    await audit(tx, actor, { publicId }, "advisory.created", { reportIds: body.reportIds, title: content.title }, at);
    return (await findAdvisory(tx, { id }))!;
  });
}

/**
 * Changes an advisory. A draft or scheduled one is simply edited; a published one gets a
 * new numbered revision with the summary given, public at once, the earlier ones kept.
 * @throws AdvisoryNotFoundError, ValidationError, AdvisoryStateError
 */
export async function updateAdvisory(db: Db, clock: Clock, actor: Actor, publicId: string, body: PatchAdvisoryBody): Promise<Advisory> {
  return db.transaction().execute(async (tx) => {
    const advisory = await mustFind(tx, publicId);
    const reportIds = body.reportIds ?? advisory.reportIds;
    if (advisory.state === "published" && body.reportIds && body.reportIds.join() !== advisory.reportIds.join()) {
      throw AdvisoryStateError(`Advisory ${publicId} is published: the reports it disclosed stay linked.`);
    }
    const linked = await readLinkedReports(tx, reportIds);
    const content = buildContent(body, advisory.content, null);
    const at = clock.now().toISOString();
    if (advisory.state === "published") {
      if (!body.revisionSummary) throw ValidationError("A published advisory changes by a new revision: say what changed.", { revisionSummary: "is required for a published advisory" });
      const number = advisory.revisions.length + 1;
      const revisionContent = { ...content, credits: mergeCredits(content.credits, linked.map((l) => l.report)) };
      await insertAdvisoryRevision(tx, advisory.id, { number, summary: body.revisionSummary, publishedAt: at, content: revisionContent });
      if (!(await updateAdvisoryIfState(tx, advisory.id, "published", { content, updatedAt: at }))) throw AdvisoryStateError("Someone else changed the advisory at the same moment; reload and try again.");
      await audit(tx, actor, advisory, "advisory.revised", { revision: number, summary: body.revisionSummary }, at);
    } else {
      if (body.reportIds) await replaceAdvisoryReports(tx, advisory.id, body.reportIds);
      if (!(await updateAdvisoryIfState(tx, advisory.id, advisory.state, { content, updatedAt: at }))) throw AdvisoryStateError("Someone else changed the advisory at the same moment; reload and try again.");
      await audit(tx, actor, advisory, "advisory.updated", { fields: Object.keys(body) }, at);
    }
    return (await findAdvisory(tx, { id: advisory.id }))!;
  });
}

/** The disclosure guard over the advisory's linked reports as they are now. */
export async function checkGuardOf(db: Executor, advisory: Pick<Advisory, "reportIds">, at: Date): Promise<GuardCheck> {
  const linked = await readLinkedReports(db, advisory.reportIds);
  return checkDisclosureGuard(
    linked.map((l) => ({ id: l.report.id, state: l.report.state, embargoes: l.details.upstreams.map((u) => u.embargoUntil).filter((d): d is string => d !== null) })),
    at,
  );
}

/** The guard, or the caller's override of it (admins only, with a reason that goes to the audit log). */
async function passGuard(tx: Tx, caller: AdvisoryCaller, advisory: Advisory, overrideReason: string | undefined, guardAt: Date, now: Date, purpose: string): Promise<string | null> {
  const guard = await checkGuardOf(tx, advisory, guardAt);
  if (guard.ok) return null;
  if (!overrideReason) throw DisclosureGuardError(guard.why);
  if (!caller.mayOverride) throw ForbiddenError("Only an admin may override the disclosure guard.");
  await audit(tx, caller.actor, advisory, "advisory.guard_overridden", { purpose, reason: overrideReason, guard: guard.why }, now.toISOString());
  return overrideReason;
}

/**
 * Publishes a draft or scheduled advisory now, if the disclosure guard allows it or an admin
 * overrides it.
 * @throws AdvisoryNotFoundError, AdvisoryStateError, DisclosureGuardError (409 disclosure_guard), ForbiddenError
 */
export async function publishAdvisory(deps: AdvisoryDeps, caller: AdvisoryCaller, publicId: string, overrideReason: string | undefined): Promise<Advisory> {
  return deps.db.transaction().execute(async (tx) => {
    const advisory = await mustFind(tx, publicId);
    if (advisory.state === "published") throw AdvisoryStateError(`Advisory ${publicId} is published already; change it with a new revision.`);
    const now = deps.clock.now();
    const override = await passGuard(tx, caller, advisory, overrideReason, now, now, "publish");
    await publishInTransaction(tx, deps, caller.actor, advisory, now, override !== null);
    return (await findAdvisory(tx, { id: advisory.id }))!;
  });
}

/**
 * Schedules publication: the guard is checked now for the time asked (reports resolved, embargoes
 * over by then), or overridden by an admin, which the job honours; the job checks it again.
 * @throws AdvisoryNotFoundError, AdvisoryStateError, DisclosureGuardError, ForbiddenError, ValidationError for a time past
 */
export async function scheduleAdvisory(deps: AdvisoryDeps, caller: AdvisoryCaller, publicId: string, body: ScheduleAdvisoryBody): Promise<Advisory> {
  return deps.db.transaction().execute(async (tx) => {
    const advisory = await mustFind(tx, publicId);
    if (advisory.state === "published") throw AdvisoryStateError(`Advisory ${publicId} is published already.`);
    const now = deps.clock.now();
    if (Date.parse(body.at) <= now.getTime()) throw ValidationError("The publication time has passed.", { at: "must be in the future; publish now instead" });
    // The reports must be resolved now; an embargo must have passed by the time asked for.
    const override = await passGuard(tx, caller, advisory, body.overrideReason, new Date(body.at), now, "schedule");
    const at = now.toISOString();
    if (!(await updateAdvisoryIfState(tx, advisory.id, advisory.state, { state: "scheduled", scheduledAt: body.at, guardOverride: override, updatedAt: at }))) {
      throw AdvisoryStateError("Someone else changed the advisory at the same moment; reload and try again.");
    }
    await enqueue(tx, ADVISORY_PUBLISH_JOB, { advisoryId: advisory.id, scheduledAt: body.at }, now, { runAt: new Date(body.at) });
    await audit(tx, caller.actor, advisory, "advisory.scheduled", { at: body.at, overridden: override !== null }, at);
    return (await findAdvisory(tx, { id: advisory.id }))!;
  });
}

/** Takes a scheduled advisory back to draft; its job then finds nothing to do. */
export async function unscheduleAdvisory(deps: AdvisoryDeps, actor: Actor, publicId: string): Promise<Advisory> {
  return deps.db.transaction().execute(async (tx) => {
    const advisory = await mustFind(tx, publicId);
    if (advisory.state !== "scheduled") throw AdvisoryStateError(`Advisory ${publicId} is ${advisory.state}, not scheduled.`);
    const at = deps.clock.now().toISOString();
    if (!(await updateAdvisoryIfState(tx, advisory.id, "scheduled", { state: "draft", scheduledAt: null, guardOverride: null, updatedAt: at }))) {
      throw AdvisoryStateError("Someone else changed the advisory at the same moment; reload and try again.");
    }
    await audit(tx, actor, advisory, "advisory.unscheduled", {}, at);
    return (await findAdvisory(tx, { id: advisory.id }))!;
  });
}

/**
 * The scheduled job at its time: publishes if the advisory is still scheduled for this time
 * and the guard allows it now (or an admin overrode it when scheduling). Refused, the
 * advisory goes back to draft with the reason in the audit log.
 */
export async function runScheduledPublication(deps: AdvisoryDeps, payload: { advisoryId: number; scheduledAt: string }): Promise<"published" | "refused" | "stale"> {
  return deps.db.transaction().execute(async (tx) => {
    const advisory = await findAdvisory(tx, { id: payload.advisoryId });
    if (!advisory || advisory.state !== "scheduled" || advisory.scheduledAt !== payload.scheduledAt) return "stale";
    const now = deps.clock.now();
    const system: Actor = { kind: "system" };
    if (!advisory.guardOverride) {
      const guard = await checkGuardOf(tx, advisory, now);
      if (!guard.ok) {
        const at = now.toISOString();
        await updateAdvisoryIfState(tx, advisory.id, "scheduled", { state: "draft", scheduledAt: null, updatedAt: at });
        await audit(tx, system, advisory, "advisory.publication_refused", { guard: guard.why }, at);
        return "refused";
      }
    }
    await publishInTransaction(tx, deps, system, advisory, now, advisory.guardOverride !== null);
    return "published";
  });
}

/**
 * Publication itself: revision 1 with the reporters' credits as they chose them, every
 * linked report disclosed (its reporter mailed the advisory's link through the report's
 * update mail), every credited person added to the hall of fame unless listed already.
 * Published over the guard, a report the lifecycle does not let go to `disclosed` (one not
 * resolved) stays where it is, named in the audit event.
 */
async function publishInTransaction(tx: Tx, deps: AdvisoryDeps, actor: Actor, advisory: Advisory, now: Date, overridden: boolean): Promise<void> {
  const at = now.toISOString();
  const linked = await readLinkedReports(tx, advisory.reportIds);
  const content = { ...advisory.content, credits: mergeCredits(advisory.content.credits, linked.map((l) => l.report)) };
  await insertAdvisoryRevision(tx, advisory.id, { number: 1, summary: "Initial publication.", publishedAt: at, content });
  if (!(await updateAdvisoryIfState(tx, advisory.id, advisory.state, { state: "published", publishedAt: at, scheduledAt: null, updatedAt: at }))) {
    throw AdvisoryStateError("Someone else changed the advisory at the same moment; reload and try again.");
  }
  const url = advisoryPageUrl({ baseUrl: deps.baseUrl() }, advisory);
  const notDisclosed: number[] = [];
  const settings = await deps.settings.get(tx);
  for (const { report } of linked) {
    if (report.state === "disclosed") continue;
    if (overridden && !checkTransition(report, { to: "disclosed", viaAdvisory: true }).ok) notDisclosed.push(report.id);
    // The one lifecycle move only publication makes; its message brings the reporter the link in the report's update mail.
    else await moveReport(tx, deps.events, settings, actor, report, { to: "disclosed", viaAdvisory: true, reason: `advisory ${advisory.publicId} published`, message: `The security update for this issue is published as ${advisory.publicId}: ${url}\n\nThank you for reporting it.`, at: now });
  }
  await audit(tx, actor, advisory, "advisory.published", { reportIds: advisory.reportIds, overridden, notDisclosed }, at);
  for (const credit of content.credits) {
    await addHallOfFameEntry(tx, actor, { name: credit.name, url: credit.url, affiliation: null }, `advisory:${advisory.publicId}`, at);
  }
}

export async function readAdvisoryAsTeam(db: Executor, publicId: string): Promise<Advisory> {
  return mustFind(db, publicId);
}

export { listAdvisories };

/** A published advisory as the public may see it; drafts and scheduled ones do not exist for them. */
export async function findPublishedAdvisory(db: Executor, publicId: string): Promise<Advisory | undefined> {
  const advisory = await findAdvisory(db, { publicId });
  return advisory?.state === "published" ? advisory : undefined;
}
