import type { Logger } from "pino";
import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { appendAuditEvent } from "../audit/index.js";
import type { SettingsReader } from "../settings/index.js";
import { alertFor, evaluateServiceLevels, type PauseInterval, type SlaReport, type TargetStatus } from "./sla.js";
import { alertKey, claimAlert, listSentAlerts, type AlertKind } from "./sla.repository.js";

/** The periodic check's name in the scheduler. */
export const SLA_CHECK_TASK = "sla.check";
export const SLA_CHECK_EVERY_MS = 60_000;

const PAGE = 200;

/** A report as the minute check reads it: its id and clock fields. */
export type ClockedReport = SlaReport & { id: number };

/**
 * The open, tracked reports with their pauses, a page at a time, with the event loop
 * taking turns between pages (modules/reports provides it: `pagesOfOpenReportClocks`).
 */
export type OpenReportClocks = (pageSize: number) => AsyncIterable<{ reports: ClockedReport[]; pauses: Map<number, PauseInterval[]> }>;

export interface SlaCheckDeps {
  db: Db;
  clock: Clock;
  events: Events;
  settings: SettingsReader;
  openReportClocks: OpenReportClocks;
  log?: Logger;
  /** Called when alerts were enqueued, to send them without waiting for the worker's next poll. */
  onAlerted?: () => void;
}

export interface SlaCheckOutcome {
  checked: number;
  warned: number;
  missed: number;
}

/**
 * Looks at every open report's clocks and sends what is owed: a warning to the owner at
 * three quarters of a target, news of a miss to the whole team and the webhook. Each
 * goes out once per report and target, also when several processes check at the same
 * moment: the `sla_alerts` row, its audit event and its event's jobs commit together,
 * and only one transaction can insert that row.
 */
export async function checkServiceLevels(deps: SlaCheckDeps): Promise<SlaCheckOutcome> {
  const { db, clock } = deps;
  const settings = await deps.settings.get();
  const outcome: SlaCheckOutcome = { checked: 0, warned: 0, missed: 0 };
  // A page at a time, with requests answered between pages (see pagesOfReportClocks).
  for await (const { reports, pauses } of deps.openReportClocks(PAGE)) {
    const sent = await listSentAlerts(
      db,
      reports.map((r) => r.id),
    );
    for (const report of reports) {
      outcome.checked++;
      for (const status of evaluateServiceLevels(report, settings, clock.now(), pauses.get(report.id) ?? [])) {
        const kind = alertFor(status);
        if (!kind || !status.dueAt || sent.has(alertKey(report.id, status.target, kind))) continue;
        try {
          if (await raiseAlert(deps, report, status, kind)) outcome[kind === "warning" ? "warned" : "missed"]++;
        } catch (error) {
          deps.log?.error({ err: error, report: report.id, target: status.target, kind }, "could not record a service-level alert");
        }
      }
    }
  }
  if (outcome.warned + outcome.missed > 0) {
    deps.log?.info(outcome, "service-level alerts enqueued");
    deps.onAlerted?.();
  }
  return outcome;
}

async function raiseAlert(deps: SlaCheckDeps, report: ClockedReport, status: TargetStatus, kind: AlertKind): Promise<boolean> {
  return deps.db.transaction().execute(async (tx) => {
    const now = deps.clock.now();
    const at = now.toISOString();
    const dueAt = status.dueAt!;
    if (!(await claimAlert(tx, { reportId: report.id, target: status.target, kind, dueAt, at }))) return false;
    // Who hears of it is the subscribers' business (the notifications: the owner, or the team).
    await deps.events.publish(tx, kind === "warning" ? "sla.warned" : "sla.missed", { reportId: report.id, target: status.target, dueAt }, now, { urgent: kind === "missed" });
    await appendAuditEvent(
      tx,
      { kind: "system" },
      {
        action: kind === "warning" ? "sla.warned" : "sla.missed",
        subjectType: "report",
        subjectId: String(report.id),
        data: { target: status.target, dueAt, elapsedShare: Math.round(status.elapsedShare * 1000) / 1000 },
      },
      at,
    );
    return true;
  });
}

