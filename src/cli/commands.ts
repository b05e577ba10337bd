import type { Command } from "commander";
import type { CliContext } from "./cli-context.js";

/** A command group's file (`commands/<name>.cli.ts`) exports `register`, which fills in the group's command. */
export interface CommandGroupModule {
  register(command: Command, cli: CliContext): void;
}

export interface CommandGroup {
  name: string;
  description: string;
  load(): Promise<CommandGroupModule>;
}

/**
 * Every command of `shield`, in the order `shield --help` lists them. A group is imported
 * only when it is the one run, so the list costs nothing to start: a new command is a file
 * in commands/ and a line here.
 */
export const COMMAND_GROUPS: CommandGroup[] = [
  { name: "serve", description: "Run the web server and the outbox worker (the default of `npm start`).", load: () => import("./commands/serve.cli.js") },
  { name: "migrate", description: "Bring the database schema up to date (serve does this at start too).", load: () => import("./commands/migrate.cli.js") },
  { name: "user", description: "Team members.", load: () => import("./commands/user.cli.js") },
  { name: "token", description: "API tokens for automation.", load: () => import("./commands/token.cli.js") },
  { name: "audit", description: "The audit log, chained with MACs keyed from the master key.", load: () => import("./commands/audit.cli.js") },
  { name: "jobs", description: "The outbox: background work such as e-mail.", load: () => import("./commands/jobs.cli.js") },
  {
    name: "key",
    description: "The team's OpenPGP key: published at /security/pgp-key.asc, signs security.txt and mail to reporters.",
    load: () => import("./commands/key.cli.js"),
  },
  { name: "settings", description: "Program settings (name, contacts, service-level targets, canned responses).", load: () => import("./commands/settings.cli.js") },
  {
    name: "backup",
    description: "Copy the database and the data directory's files (keys, attachments) to a new folder, with checksums. Safe while Shield runs.",
    load: () => import("./commands/backup.cli.js"),
  },
  {
    name: "restore",
    description: "Bring a backup back into an empty data directory (and an empty database): checksums and the audit chain checked, up to the head the backup recorded.",
    load: () => import("./commands/restore.cli.js"),
  },
  {
    name: "policy",
    description: "The public policy page at /security: Markdown with front matter and {{ site.* }} variables.",
    load: () => import("./commands/policy.cli.js"),
  },
  { name: "import", description: "Bring existing data into Shield.", load: () => import("./commands/import.cli.js") },
  {
    name: "advisory",
    description: "Security advisories: write, schedule and publish them through the disclosure guard.",
    load: () => import("./commands/advisory.cli.js"),
  },
];
