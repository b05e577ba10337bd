import fs from "node:fs";
import { createEventBus } from "../../subscriptions.js";
import { Option, type Command } from "commander";
import type { z } from "zod";
import {
  ADVISORY_STATES,
  createAdvisory,
  createAdvisoryBody,
  listAdvisories,
  patchAdvisoryBody,
  presentAdvisory,
  publishAdvisory,
  readAdvisoryAsTeam,
  scheduleAdvisory,
  unscheduleAdvisory,
  updateAdvisory,
  type Advisory,
  type AdvisoryState,
} from "../../modules/advisories/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";
import { systemClock } from "../../shared/clock.js";
import { FieldsRefusedError, ValidationError } from "../../shared/errors.js";
import type { Db } from "../../platform/db/database.js";
import type { CliContext } from "../cli-context.js";

/** A JSON file of the API's body, checked by the API's own schema. */
function readBody<T extends z.ZodType>(file: string, schema: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw ValidationError(`${file} is not a readable JSON file: ${error instanceof Error ? error.message : String(error)}`, { file: "must be JSON" });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw FieldsRefusedError(Object.fromEntries(parsed.error.issues.map((i) => [i.path.join(".") || "body", i.message])));
  return parsed.data;
}

function describe(advisory: Advisory, url: string | null): string {
  const when = advisory.state === "scheduled" ? ` for ${advisory.scheduledAt}` : advisory.state === "published" ? ` ${advisory.publishedAt} (revision ${advisory.revisions.length})` : "";
  return `${advisory.publicId}  ${advisory.state}${when}  ${advisory.content.title}  reports ${advisory.reportIds.map((id) => `#${id}`).join(", ")}${url ? `\n  ${url}` : ""}`;
}

/**
 * `shield advisory …`: the same calls as /api/v1/advisories, run by the operator. The CLI
 * acts with every right, so `--override REASON` publishes over the disclosure guard (audited).
 */
export function register(advisory: Command, cli: CliContext): void {
  const run = <T>(body: (deps: { db: Db; settings: SettingsReader; baseUrl: string }) => Promise<T>) =>
    cli.withDatabase(async ({ db, settings }, config) => body({ db, settings, baseUrl: await cli.linkBaseUrl(db, config) }));
  const show = (json: boolean, advisory: Advisory, baseUrl: string) => {
    const view = presentAdvisory(advisory, baseUrl);
    cli.print(json, view, () => describe(advisory, view.url));
  };
  const caller = { actor: cli.actor, mayOverride: true };

  advisory
    .command("list")
    .description("Advisories, newest first.")
    .addOption(new Option("--state <state>", "only advisories in this state").choices([...ADVISORY_STATES]))
    .option("--json", "machine-readable output")
    .action(async (options: { state?: AdvisoryState; json?: boolean }) => {
      const { advisories, baseUrl } = await run(async ({ db, baseUrl }) => ({ advisories: await listAdvisories(db, { state: options.state }), baseUrl }));
      cli.print(!!options.json, { advisories: advisories.map((a) => presentAdvisory(a, baseUrl)) }, () => (advisories.length ? advisories.map((a) => describe(a, null)).join("\n") : "No advisories."));
    });
  advisory
    .command("show")
    .description("One advisory.")
    .argument("<id>", "e.g. SEC-2026-001")
    .option("--json", "machine-readable output")
    .action(async (id: string, options: { json?: boolean }) => {
      const { found, baseUrl } = await run(async ({ db, baseUrl }) => ({ found: await readAdvisoryAsTeam(db, id), baseUrl }));
      show(!!options.json, found, baseUrl);
    });
  advisory
    .command("create")
    .description("Write a draft from a JSON file with the body of POST /api/v1/advisories (reportIds, title, summary, products, …).")
    .argument("<file>")
    .option("--json", "machine-readable output")
    .action(async (file: string, options: { json?: boolean }) => {
      const body = readBody(file, createAdvisoryBody);
      const { created, baseUrl } = await run(async ({ db, settings, baseUrl }) => ({ created: await createAdvisory(db, systemClock, await settings.get(), cli.actor, body), baseUrl }));
      show(!!options.json, created, baseUrl);
    });
  advisory
    .command("update")
    .description("Change an advisory from a JSON file with the body of PATCH /api/v1/advisories/ID (a published one needs revisionSummary).")
    .argument("<id>")
    .argument("<file>")
    .option("--json", "machine-readable output")
    .action(async (id: string, file: string, options: { json?: boolean }) => {
      const body = readBody(file, patchAdvisoryBody);
      const { updated, baseUrl } = await run(async ({ db, baseUrl }) => ({ updated: await updateAdvisory(db, systemClock, cli.actor, id, body), baseUrl }));
      show(!!options.json, updated, baseUrl);
    });
  advisory
    .command("publish")
    .description("Publish now, if the disclosure guard allows it (every linked report resolved, no upstream embargo running).")
    .argument("<id>")
    .option("--override <reason>", "publish over the guard; the reason is kept in the audit log")
    .option("--json", "machine-readable output")
    .action(async (id: string, options: { override?: string; json?: boolean }) => {
      const { published, baseUrl } = await run(async ({ db, settings, baseUrl }) => ({ published: await publishAdvisory({ db, clock: systemClock, baseUrl: () => baseUrl, events: createEventBus(), settings }, caller, id, options.override), baseUrl }));
      show(!!options.json, published, baseUrl);
    });
  advisory
    .command("schedule")
    .description("Schedule publication; the guard is checked now and again when the time comes.")
    .argument("<id>")
    .requiredOption("--at <time>", "ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z")
    .option("--override <reason>", "schedule over the guard; the reason is kept in the audit log and holds for the job")
    .option("--json", "machine-readable output")
    .action(async (id: string, options: { at: string; override?: string; json?: boolean }) => {
      const at = new Date(options.at);
      if (Number.isNaN(at.getTime())) throw ValidationError("--at is not a date and time.", { at: "must be an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z" });
      const { scheduled, baseUrl } = await run(async ({ db, settings, baseUrl }) => ({
        scheduled: await scheduleAdvisory({ db, clock: systemClock, baseUrl: () => baseUrl, events: createEventBus(), settings }, caller, id, { at: at.toISOString(), overrideReason: options.override }),
        baseUrl,
      }));
      show(!!options.json, scheduled, baseUrl);
    });
  advisory
    .command("unschedule")
    .description("Take a scheduled advisory back to draft.")
    .argument("<id>")
    .option("--json", "machine-readable output")
    .action(async (id: string, options: { json?: boolean }) => {
      const { draft, baseUrl } = await run(async ({ db, settings, baseUrl }) => ({ draft: await unscheduleAdvisory({ db, clock: systemClock, baseUrl: () => baseUrl, events: createEventBus(), settings }, cli.actor, id), baseUrl }));
      show(!!options.json, draft, baseUrl);
    });
}
