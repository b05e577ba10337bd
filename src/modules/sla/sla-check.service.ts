import type { Logger } from "pino";
import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import { appendAuditEvent } from "../audit/index.js";
import { notifySlaMiss, notifySlaWarning } from "../notifications/index.js";
import { OPEN_STATES, pagesOfReportClocks, TRACKED_CHANNELS, type ReportClocks } from "../reports/index.js";
import { loadSettings, type Settings } from "../settings/index.js";
import { alertFor, evaluateServiceLevels, type TargetStatus } from "./sla.js";
import { alertKey, claimAlert, listSentAlerts, type AlertKind } from "./sla.repository.js";

/** The periodic check's name in the scheduler. */
export const SLA_CHECK_TASK = "sla.check";
export const SLA_CHECK_EVERY_MS = 60_000;

const PAGE = 200;

export interface SlaCheckDeps {
  db: Db;
  clock: Clock;
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
 * moment: the `sla_alerts` row, its audit event and its outbox jobs commit together,
 * and only one transaction can insert that row.
 */
export async function checkServiceLevels(deps: SlaCheckDeps): Promise<SlaCheckOutcome> {
  const { db, clock } = deps;
  const settings = await loadSettings(db);
  const outcome: SlaCheckOutcome = { checked: 0, warned: 0, missed: 0 };
  // A page at a time, with requests answered between pages (see pagesOfReportClocks).
  for await (const { reports, pauses } of pagesOfReportClocks(db, { states: OPEN_STATES, channels: TRACKED_CHANNELS }, PAGE)) {
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
          if (await raiseAlert(deps, report, status, kind, settings)) outcome[kind === "warning" ? "warned" : "missed"]++;
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

async function raiseAlert(deps: SlaCheckDeps, report: ReportClocks, status: TargetStatus, kind: AlertKind, settings: Settings): Promise<boolean> {
  return deps.db.transaction().execute(async (tx) => {
    const now = deps.clock.now();
    const at = now.toISOString();
    const dueAt = status.dueAt!;
    if (!(await claimAlert(tx, { reportId: report.id, target: status.target, kind, dueAt, at }))) return false;
    let recipients: Record<string, unknown>;
    if (kind === "warning") {
      recipients = { mails: await notifySlaWarning(tx, report, status.target, dueAt, now), to: report.ownerId == null ? "team" : "owner" };
    } else {
      recipients = { ...(await notifySlaMiss(tx, report, status.target, dueAt, settings.webhookUrl, now)), to: "team" };
    }
    await appendAuditEvent(
      tx,
      { kind: "system" },
      {
        action: kind === "warning" ? "sla.warned" : "sla.missed",
        subjectType: "report",
        subjectId: String(report.id),
        data: { target: status.target, dueAt, elapsedShare: Math.round(status.elapsedShare * 1000) / 1000, ...recipients },
      },
      at,
    );
    return true;
  });
}

