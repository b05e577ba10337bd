import type { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import type { Actor } from "../audit/index.js";
import { decryptReportForTeam } from "../browser-encryption/index.js";
import type { TeamKeyring } from "../keys/index.js";
import type { Settings } from "../settings/index.js";
import { readPauses } from "./report-pauses.repository.js";
import { presentReport } from "./report.presenter.js";
import type { reportView } from "./report.schemas.js";
import { readReportAsTeam } from "./report.service.js";

export type ReportView = z.infer<typeof reportView>;

export interface TeamViewDeps {
  db: Db;
  clock: Clock;
  settings: { get(): Promise<Settings> };
  /** Decrypts what the reporter encrypted in their browser; without it, `encryption` is left out. */
  keyring?: TeamKeyring;
}

/**
 * The report as the team API shows it, the same for every route that answers with one (a
 * read, a triage change, a move): its fields and thread, deadlines from its stored terms
 * and pauses, and the decrypted copy of what the reporter encrypted in their browser. Only
 * an actual read (`read: true`) is recorded as report.viewed; the answer to a change the
 * member just made is not a read. A decrypted copy is always audited (report.decrypted):
 * whoever gets it has seen the clear text.
 * @throws ReportNotFoundError
 */
export async function getReportForTeam(deps: TeamViewDeps, actor: Actor, id: number, options: { read: boolean }): Promise<ReportView> {
  const { db, clock } = deps;
  const { report, messages, details } = await readReportAsTeam(db, clock, actor, id, { recordRead: options.read });
  const encryption = deps.keyring ? await decryptReportForTeam(db, clock, deps.keyring, actor, report) : undefined;
  const view = presentReport(report, messages, await deps.settings.get(), details, clock.now(), await readPauses(db, report));
  return encryption ? { ...view, encryption } : view;
}
