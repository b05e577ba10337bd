import fs from "node:fs";
import type { Config } from "../config.js";
import type { Database, Db } from "../platform/db/database.js";
import type { SettingsReader } from "../modules/settings/index.js";
import { createProgress, type Progress } from "./progress.js";

/** Where a run of the CLI reads its environment and writes its output: the process's own, or a test's. */
export interface CliStreams {
  env: NodeJS.ProcessEnv;
  stdout: CliOutput;
  stderr: CliOutput;
}

export interface CliOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * A failure the CLI itself recognises (a file it cannot read, a data directory without a
 * database): a stable `code` for `--json`, a message for people, exit code 1.
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/**
 * What every command gets: printing in both forms, the configuration, the database and
 * progress, all bound to one run's streams. Heavy modules (zod, database drivers) are
 * imported here only when a command asks for them, so `shield --help` loads none of them.
 */
export class CliContext {
  /** The exit code the run ends with when nothing throws. */
  exitCode = 0;
  readonly actor = { kind: "cli" } as const;

  constructor(readonly streams: CliStreams) {}

  print(json: boolean, value: unknown, human: () => string): void {
    this.streams.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
  }

  /**
   * Says that the command did not do its job, as JSON on stdout with `--json` (the form a
   * script reads), as a line on stderr otherwise; the run exits 1.
   */
  refuse(json: boolean, code: string, message: string): void {
    if (json) this.streams.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    else this.streams.stderr.write(`shield: ${message}\n`);
    this.exitCode = 1;
  }

  progress(label: string, enabled: boolean): Progress {
    return createProgress(label, enabled, this.streams.stderr);
  }

  /** @throws ConfigError naming every wrong variable. */
  async config(): Promise<Config> {
    await import("../shared/zod-messages.js");
    const { loadConfig } = await import("../config.js");
    return loadConfig(this.streams.env);
  }

  /**
   * The base of links this command prints: SHIELD_BASE_URL when the command's environment
   * sets it, else the one the server recorded when it last started on this database, else
   * the default the server would use.
   */
  async linkBaseUrl(db: Db, config: Config): Promise<string> {
    if (this.streams.env.SHIELD_BASE_URL) return config.baseUrl;
    const { readPublicBaseUrl } = await import("../modules/ops/index.js");
    return (await readPublicBaseUrl(db)) ?? config.baseUrl;
  }

  /**
   * Opens the configured database, brings its schema up to date, runs `body`, and always
   * closes. Only `serve` and `migrate` create a database: any other command pointed at a
   * place without one says so and creates nothing (a mistyped SHIELD_DATA_DIR would
   * otherwise leave an empty database behind, and e.g. an invite for a team that is not there).
   * A command's run reads the program settings through the one reader it is given.
   * @throws CliError `no_database`
   */
  async withDatabase<T>(body: (database: Database & { settings: SettingsReader }, config: Config) => Promise<T>): Promise<T> {
    const config = await this.config();
    const { hasShieldSchema, migrateToLatest, openDatabase } = await import("../platform/db/database.js");
    const where = config.database.kind === "sqlite" ? config.database.file : "DATABASE_URL";
    const missing = new CliError(
      "no_database",
      `There is no Shield database at ${where}. Check SHIELD_DATA_DIR and DATABASE_URL, or create one with \`shield migrate\` (\`shield serve\` does that too).`,
    );
    if (config.database.kind === "sqlite" && !fs.existsSync(config.database.file)) throw missing;
    const database = openDatabase(config.database);
    try {
      if (!(await hasShieldSchema(database))) throw missing;
      await migrateToLatest(database);
      // Commands append audit events too: the handle carries the audit key (and an older chain is re-chained first, as `serve` would).
      const [{ loadMasterKey }, { keyAuditLog }, { SettingsReader }] = await Promise.all([
        import("../platform/crypto/master-key.js"),
        import("../modules/audit/index.js"),
        import("../modules/settings/index.js"),
      ]);
      const masterKey = await loadMasterKey({ dataDir: config.dataDir, fromEnvironment: config.SHIELD_MASTER_KEY });
      const db = await keyAuditLog(database.db, masterKey, () => new Date().toISOString());
      return await body({ ...database, db, settings: new SettingsReader(db) }, config);
    } finally {
      await database.close();
    }
  }
}
