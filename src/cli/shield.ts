#!/usr/bin/env node
import "../shared/zod-messages.js";
import path from "node:path";
import { Command, Option } from "commander";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { migrateToLatest, openDatabase, type Database } from "../platform/db/database.js";
import { createLogger } from "../platform/logger.js";
import { listJobs, requeueJob, countJobsByState, type JobState } from "../platform/jobs/outbox.repository.js";
import { systemClock } from "../shared/clock.js";
import { DomainError } from "../shared/errors.js";
import { verifyAuditLog } from "../modules/audit/index.js";
import { addTeamMember, createApiToken, listUsers, revokeMemberTokens, ROLES } from "../modules/people/index.js";
import { loadSettings, updateSetting } from "../modules/settings/index.js";
import { serve, VERSION } from "../main.js";
import { createProgress } from "./progress.js";
import { createBackup } from "../platform/db/backup.js";

/**
 * The `shield` command. Every command that prints something for people also takes
 * `--json` for scripts; errors go to stderr with a non-zero exit code.
 */
const program = new Command()
  .name("shield")
  .description("Shield, a self-hosted security response desk.")
  .version(VERSION)
  .showHelpAfterError();

const cli = { actor: { kind: "cli" } as const };

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Opens the configured database, migrates it, runs `body`, and always closes. */
async function withDatabase<T>(body: (database: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = openDatabase(config.database);
  try {
    await migrateToLatest(database);
    return await body(database, config);
  } finally {
    await database.close();
  }
}

program
  .command("serve")
  .description("Run the web server and the outbox worker (the default of `npm start`).")
  .action(async () => {
    const config = loadConfig();
    await serve(config, createLogger(config.SHIELD_LOG_LEVEL));
  });

program
  .command("migrate")
  .description("Bring the database schema up to date (serve does this at start too).")
  .option("--json", "machine-readable output")
  .action(async (options: { json?: boolean }) => {
    const config = loadConfig();
    const database = openDatabase(config.database);
    try {
      const { applied } = await migrateToLatest(database);
      print(!!options.json, { database: database.kind, applied }, () =>
        applied.length ? `Applied ${applied.length} migration(s): ${applied.join(", ")}` : "The database is up to date.",
      );
    } finally {
      await database.close();
    }
  });

const user = program.command("user").description("Team members.");
user
  .command("add")
  .description("Add a team member.")
  .argument("<email>")
  .addOption(new Option("--role <role>", "what they may do").choices(ROLES).makeOptionMandatory())
  .option("--name <name>", "display name (default: the part of the address before @)")
  .option("--json", "machine-readable output")
  .action(async (email: string, options: { role: string; name?: string; json?: boolean }) => {
    const member = await withDatabase(({ db }) => addTeamMember(db, systemClock, cli.actor, { email, name: options.name, role: options.role }));
    print(!!options.json, member, () => `Added ${member.email} as ${member.role} (id ${member.id}).`);
  });
user
  .command("list")
  .description("List team members.")
  .option("--json", "machine-readable output")
  .action(async (options: { json?: boolean }) => {
    const members = await withDatabase(({ db }) => listUsers(db));
    print(!!options.json, members, () =>
      members.length ? members.map((m) => `${String(m.id).padStart(4)}  ${m.role.padEnd(8)} ${m.email}${m.disabledAt ? " (disabled)" : ""}`).join("\n") : "No team members yet.",
    );
  });

const token = program.command("token").description("API tokens for automation.");
token
  .command("create")
  .description("Create an API token for a team member; it is printed once and stored only as a hash.")
  .argument("<email>")
  .option("--name <name>", "what the token is for", "api")
  .option("--json", "machine-readable output")
  .action(async (email: string, options: { name: string; json?: boolean }) => {
    const created = await withDatabase(({ db }) => createApiToken(db, systemClock, cli.actor, email, options.name));
    print(!!options.json, { id: created.id, token: created.token, email: created.member.email, role: created.member.role }, () => created.token);
  });
token
  .command("revoke")
  .description("Revoke every API token of a team member.")
  .argument("<email>")
  .option("--json", "machine-readable output")
  .action(async (email: string, options: { json?: boolean }) => {
    const count = await withDatabase(({ db }) => revokeMemberTokens(db, systemClock, cli.actor, email));
    print(!!options.json, { revoked: count }, () => `Revoked ${count} token(s).`);
  });

const audit = program.command("audit").description("The hash-chained audit log.");
audit
  .command("verify")
  .description("Check every event's hash and link; exits 1 and names each event that was edited, inserted or deleted.")
  .option("--json", "machine-readable output")
  .action(async (options: { json?: boolean }) => {
    const progress = createProgress("Verifying audit log", !options.json);
    const result = await withDatabase(({ db }) => verifyAuditLog(db, (done, total) => progress.update(done, total)));
    progress.done();
    print(!!options.json, result, () =>
      result.ok
        ? `The audit log is intact: ${result.checked} event(s), head ${result.head.seq} ${result.head.hash}.`
        : [`The audit log has been tampered with (${result.problems.length} problem(s)):`, ...result.problems.map((p) => `  - ${p.message}`)].join("\n"),
    );
    if (!result.ok) process.exitCode = 1;
  });

const jobs = program.command("jobs").description("The outbox: background work such as e-mail.");
jobs
  .command("list")
  .description("List jobs, newest first.")
  .addOption(new Option("--state <state>", "only jobs in this state").choices(["pending", "running", "done", "dead"]))
  .option("--limit <n>", "how many", (v) => Number.parseInt(v, 10), 50)
  .option("--json", "machine-readable output")
  .action(async (options: { state?: JobState; limit: number; json?: boolean }) => {
    const { rows, counts } = await withDatabase(async ({ db }) => ({ rows: await listJobs(db, { state: options.state, limit: options.limit, offset: 0 }), counts: await countJobsByState(db) }));
    print(!!options.json, { jobs: rows.map(({ payload: _payload, ...rest }) => rest), counts }, () =>
      [
        `pending ${counts.pending ?? 0}, running ${counts.running ?? 0}, done ${counts.done ?? 0}, dead ${counts.dead ?? 0}`,
        ...rows.map((j) => `${String(j.id).padStart(6)}  ${j.state.padEnd(7)} ${j.kind.padEnd(20)} attempts ${j.attempts}/${j.max_attempts}${j.last_error ? `  ${j.last_error}` : ""}`),
      ].join("\n"),
    );
  });
jobs
  .command("retry")
  .description("Put a dead job back in the queue.")
  .argument("<id>", "job id", (v) => Number.parseInt(v, 10))
  .option("--json", "machine-readable output")
  .action(async (id: number, options: { json?: boolean }) => {
    const ok = await withDatabase(({ db }) => requeueJob(db, id, systemClock.now()));
    print(!!options.json, { id, requeued: ok }, () => (ok ? `Job ${id} is queued again.` : `Job ${id} is not dead (or does not exist); nothing changed.`));
    if (!ok) process.exitCode = 1;
  });

const settings = program.command("settings").description("Program settings (name, contacts, service-level targets, canned responses).");
settings
  .command("show")
  .description("Print every setting as JSON.")
  .action(async () => {
    const values = await withDatabase(({ db }) => loadSettings(db));
    process.stdout.write(`${JSON.stringify(values, null, 2)}\n`);
  });
settings
  .command("set")
  .description("Change one setting; VALUE is JSON (a bare word is taken as a string).")
  .argument("<key>")
  .argument("<value>")
  .option("--json", "machine-readable output")
  .action(async (key: string, raw: string, options: { json?: boolean }) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    const values = await withDatabase(({ db }) => updateSetting(db, systemClock, cli.actor, key, value));
    print(!!options.json, { [key]: values[key as keyof typeof values] }, () => `${key} = ${JSON.stringify(values[key as keyof typeof values])}`);
  });

program
  .command("backup")
  .description("Copy the database and the data directory's files (keys, attachments) to a new folder, with checksums. Safe while Shield runs.")
  .option("--out <dir>", "where to write the backup (default: <data dir>/backups/<time>)")
  .option("--json", "machine-readable output")
  .action(async (options: { out?: string; json?: boolean }) => {
    const config = loadConfig();
    const out = path.resolve(options.out ?? path.join(config.dataDir, "backups", new Date().toISOString().replace(/[:.]/g, "-")));
    let step = "";
    let progress = createProgress("", false);
    const manifest = await createBackup(config, out, (current, done, total) => {
      if (current !== step) {
        progress.done();
        step = current;
        progress = createProgress(`Backing up ${current}`, !options.json);
      }
      progress.update(done, total);
    });
    progress.done();
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
    print(!!options.json, { out, ...manifest }, () => `Backup written to ${out}: ${manifest.files.length} file(s), ${bytes} bytes (${manifest.database}).`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else if (error instanceof DomainError) {
    process.stderr.write(`shield: ${error.message}\n`);
    if (error.fields) for (const [field, message] of Object.entries(error.fields)) process.stderr.write(`  ${field}: ${message}\n`);
  } else {
    process.stderr.write(`shield: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = error instanceof ConfigError ? 78 : 1;
});
