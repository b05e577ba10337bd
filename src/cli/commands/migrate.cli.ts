import type { Command } from "commander";
import { migrateToLatest, openDatabase } from "../../platform/db/database.js";
import type { CliContext } from "../cli-context.js";

export function register(command: Command, cli: CliContext): void {
  command.option("--json", "machine-readable output").action(async (options: { json?: boolean }) => {
    const config = await cli.config();
    const database = openDatabase(config.database);
    try {
      const { applied } = await migrateToLatest(database);
      cli.print(!!options.json, { database: database.kind, applied }, () =>
        applied.length ? `Applied ${applied.length} migration(s): ${applied.join(", ")}` : "The database is up to date.",
      );
    } finally {
      await database.close();
    }
  });
}
