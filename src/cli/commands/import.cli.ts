import type { Command } from "commander";
import { importHallOfFame } from "../../modules/hall-of-fame/index.js";
import { systemClock } from "../../shared/clock.js";
import type { CliContext } from "../cli-context.js";
import { readImportFile } from "./import-file.js";

export function register(importer: Command, cli: CliContext): void {
  importer
    .command("hall-of-fame")
    .description('Add the entries of a Markdown list to the hall of fame (/security/thanks). A whole policy page works too: the list under its "Thanks" heading is read. Entries listed already are skipped.')
    .argument("<file>", "Markdown: `* Name` or `* [Name](https://…)` lines")
    .option("--json", "machine-readable output")
    .action(async (file: string, options: { json?: boolean }) => {
      const source = readImportFile(file, 4 * 1024 * 1024);
      const progress = cli.progress("Importing the hall of fame", !options.json);
      const result = await cli.withDatabase(({ db }) => importHallOfFame(db, systemClock, cli.actor, source, (done, total) => progress.update(done, total)));
      progress.done();
      cli.print(!!options.json, result, () =>
        [
          `Added ${result.added} of ${result.total} entries to the hall of fame; ${result.skipped} ${result.skipped === 1 ? "was" : "were"} listed already.`,
          ...result.refusedLinks.map((r) => `  line ${r.line}: kept the name but not the link ${r.url} (only http and https links are shown)`),
        ].join("\n"),
      );
    });
}
