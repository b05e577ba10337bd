#!/usr/bin/env node
import "../shared/zod-messages.js";
import fs from "node:fs";
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
import { createInvite } from "../modules/auth/index.js";
import { loadSettings, updateSetting } from "../modules/settings/index.js";
import { findTeamKey, importTeamKey, type TeamKey } from "../modules/keys/index.js";
import { loadMasterKey } from "../platform/crypto/master-key.js";
import { serve, VERSION } from "../main.js";
import { createProgress } from "./progress.js";
import { readFileSync, statSync } from "node:fs";
import { importPolicy, listPolicyVariables, MAX_POLICY_CHARS, PUBLIC_PAGES, setPolicyVariable } from "../modules/policy/index.js";
import { importHallOfFame } from "../modules/hall-of-fame/index.js";
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
    const { member, invite } = await withDatabase(async ({ db }, config) => {
      const added = await addTeamMember(db, systemClock, cli.actor, { email, name: options.name, role: options.role });
      return { member: added, invite: await createInvite({ db, clock: systemClock }, cli.actor, added.email, config.baseUrl) };
    });
    print(!!options.json, { ...member, inviteUrl: invite.url, inviteExpiresAt: invite.expiresAt }, () =>
      [
        `Added ${member.email} as ${member.role} (id ${member.id}).`,
        `Send them this link to set their password and authenticator app (it works once, until ${invite.expiresAt}):`,
        `  ${invite.url}`,
      ].join("\n"),
    );
  });
user
  .command("invite")
  .description("Print a new one-time link (valid 48 hours) for a member to set their password and authenticator app; it replaces their older links. For a member who is set up already it is the way back in after a lost phone: using it replaces their password, authenticator, recovery codes and passkeys.")
  .argument("<email>")
  .option("--json", "machine-readable output")
  .action(async (email: string, options: { json?: boolean }) => {
    const invite = await withDatabase(({ db }, config) => createInvite({ db, clock: systemClock }, cli.actor, email, config.baseUrl));
    print(!!options.json, { email: invite.member.email, inviteUrl: invite.url, inviteExpiresAt: invite.expiresAt }, () => invite.url);
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

const teamKey = program.command("key").description("The team's OpenPGP key: published at /security/pgp-key.asc, signs security.txt and mail to reporters.");
const describeTeamKeyForPeople = (key: TeamKey) =>
  [`Fingerprint: ${key.fingerprint}`, `Created:     ${key.createdAt}`, `Algorithm:   ${key.algorithm}`, `User IDs:    ${key.userIds.join("; ")}`, `Expires:     ${key.expiresAt ?? "never"}`, `Source:      ${key.source} (stored ${key.storedAt})`].join("\n");
const publicTeamKey = ({ publicKey: _publicKey, ...rest }: TeamKey) => rest;
teamKey
  .command("show")
  .description("Print the team key's fingerprint, creation time and algorithm.")
  .option("--json", "machine-readable output")
  .action(async (options: { json?: boolean }) => {
    const key = await withDatabase(({ db }) => findTeamKey(db));
    if (!key) {
      process.stderr.write("shield: there is no team key yet; `shield serve` makes one on first start, or import one with `shield key import FILE`.\n");
      process.exitCode = 1;
      return;
    }
    print(!!options.json, publicTeamKey(key), () => describeTeamKeyForPeople(key));
  });
teamKey
  .command("import")
  .description("Make an existing OpenPGP private key (ASCII-armoured) the team key. The key it replaces is kept to decrypt older mail.")
  .argument("<file>", "the armoured private key, e.g. from `gpg --armor --export-secret-keys KEYID`")
  .option("--passphrase-file <file>", "file whose first line is the key's passphrase, if it has one")
  .option("--json", "machine-readable output")
  .action(async (file: string, options: { passphraseFile?: string; json?: boolean }) => {
    const readSmall = (name: string) => {
      if (fs.statSync(name).size > 1_048_576) throw new Error(`${name} is larger than 1 MiB; that is not a key`);
      return fs.readFileSync(name, "utf8");
    };
    const armored = readSmall(file);
    const passphrase = options.passphraseFile === undefined ? undefined : (readSmall(options.passphraseFile).split(/\r?\n/)[0] ?? "");
    const result = await withDatabase(async ({ db }, config) => {
      const masterKey = await loadMasterKey({ dataDir: config.dataDir, fromEnvironment: config.SHIELD_MASTER_KEY });
      return importTeamKey({ db, masterKey, clock: systemClock }, cli.actor, armored, passphrase);
    });
    print(!!options.json, { key: publicTeamKey(result.key), replaced: result.replaced && publicTeamKey(result.replaced), unchanged: result.unchanged }, () =>
      [
        result.unchanged ? "This key is the team key already; nothing changed." : "Imported the team key.",
        describeTeamKeyForPeople(result.key),
        ...(result.replaced ? [`It replaces ${result.replaced.fingerprint}, which is kept to decrypt older messages.`] : []),
        ...(result.unchanged ? [] : ["Running Shield processes pick it up within a minute."]),
      ].join("\n"),
    );
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
  .option("--include-master-key", "also copy <data dir>/master.key (by default it is left out: keep it apart from backups)")
  .option("--json", "machine-readable output")
  .action(async (options: { out?: string; includeMasterKey?: boolean; json?: boolean }) => {
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
    }, { includeMasterKey: options.includeMasterKey });
    progress.done();
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
    print(!!options.json, { out, ...manifest }, () =>
      [
        `Backup written to ${out}: ${manifest.files.length} file(s), ${bytes} bytes (${manifest.database}).`,
        ...(options.includeMasterKey || config.SHIELD_MASTER_KEY ? [] : ["The master key (master.key) is not in it: keep a copy of it somewhere else, or the team key cannot be restored."]),
      ].join("\n"),
    );
  });

/** Reads a text file to import, refusing one too large to be what it claims before reading it. */
function readImportFile(file: string, maxBytes: number): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  if (size > maxBytes) throw new Error(`${file} is ${size} bytes; at most ${maxBytes} are accepted`);
  return readFileSync(file, "utf8");
}

const policy = program.command("policy").description("The public policy page at /security: Markdown with front matter and {{ site.* }} variables.");
policy
  .command("import")
  .description("Show FILE at /security from now on (earlier versions are kept). Refuses, storing nothing, if a {{ site.* }} variable is unknown.")
  .argument("<file>", "Markdown with front matter (title, description)")
  .option("--json", "machine-readable output")
  .action(async (file: string, options: { json?: boolean }) => {
    const source = readImportFile(file, MAX_POLICY_CHARS * 4);
    const result = await withDatabase(({ db }) => importPolicy(db, systemClock, cli.actor, source));
    print(!!options.json, result, () =>
      [
        result.unchanged
          ? `"${result.title}" is the current policy already; nothing changed.`
          : `Imported "${result.title}" as policy version ${result.id} (${result.characters} characters${result.variables.length ? `; variables ${result.variables.map((v) => `site.${v}`).join(", ")}` : ""}). It is shown at /security.`,
        ...result.linksNotServed.map(
          (link) =>
            `Warning: line ${link.line} links to ${link.href}, which leads to ${link.path}, where Shield serves nothing (its pages: ${PUBLIC_PAGES.join(", ")}; the team key is /security/pgp-key.asc). Change the link and import the file again.`,
        ),
      ].join("\n"),
    );
  });
policy
  .command("vars")
  .description("List the {{ site.* }} variables a policy can use: built in (from the settings) and custom (set-var).")
  .option("--json", "machine-readable output")
  .action(async (options: { json?: boolean }) => {
    const list = await withDatabase(async ({ db }, config) => listPolicyVariables(db, { settings: await loadSettings(db), baseUrl: config.baseUrl }));
    print(!!options.json, list, () => {
      const width = Math.max(...[...list.builtIn, ...list.custom].map((v) => v.name.length)) + 5;
      return [
        "Built in (change them with `shield settings set`):",
        ...list.builtIn.map((v) => `  ${`site.${v.name}`.padEnd(width)} ${v.value}`),
        "Custom (`shield policy set-var NAME VALUE`):",
        ...(list.custom.length ? list.custom.map((v) => `  ${`site.${v.name}`.padEnd(width)} ${v.value}`) : ["  none"]),
        ...(list.unknownInPolicy.length
          ? ["Warning: the current policy uses variables without a value; the page shows them as [site.NAME]:", ...list.unknownInPolicy.map((u) => `  site.${u.name} (line ${u.line})`)]
          : []),
      ].join("\n");
    });
  });
policy
  .command("set-var")
  .description("Set a custom {{ site.NAME }} variable for the policy page (one line of text; built-in names are refused).")
  .argument("<name>", "lower-case letters, digits and _")
  .argument("<value>")
  .option("--json", "machine-readable output")
  .action(async (name: string, value: string, options: { json?: boolean }) => {
    const result = await withDatabase(({ db }) => setPolicyVariable(db, systemClock, cli.actor, name, value));
    print(!!options.json, result, () => `site.${result.name} = ${result.value}${result.previous === null ? "" : ` (was ${result.previous})`}`);
  });

const importer = program.command("import").description("Bring existing data into Shield.");
importer
  .command("hall-of-fame")
  .description('Add the entries of a Markdown list to the hall of fame (/security/thanks). A whole policy page works too: the list under its "Thanks" heading is read. Entries listed already are skipped.')
  .argument("<file>", "Markdown: `* Name` or `* [Name](https://…)` lines")
  .option("--json", "machine-readable output")
  .action(async (file: string, options: { json?: boolean }) => {
    const source = readImportFile(file, 4 * 1024 * 1024);
    const progress = createProgress("Importing the hall of fame", !options.json);
    const result = await withDatabase(({ db }) => importHallOfFame(db, systemClock, cli.actor, source, (done, total) => progress.update(done, total)));
    progress.done();
    print(!!options.json, result, () =>
      [
        `Added ${result.added} of ${result.total} entries to the hall of fame; ${result.skipped} ${result.skipped === 1 ? "was" : "were"} listed already.`,
        ...result.refusedLinks.map((r) => `  line ${r.line}: kept the name but not the link ${r.url} (only http and https links are shown)`),
      ].join("\n"),
    );
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
