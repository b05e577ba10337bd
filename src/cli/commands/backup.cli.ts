import path from "node:path";
import type { Command } from "commander";
import { createBackup } from "../../platform/db/backup.js";
import type { CliContext } from "../cli-context.js";

export function register(command: Command, cli: CliContext): void {
  command
    .option("--out <dir>", "where to write the backup (default: <data dir>/backups/<time>)")
    .option("--include-master-key", "also copy <data dir>/master.key (by default it is left out: keep it apart from backups)")
    .option("--json", "machine-readable output")
    .action(async (options: { out?: string; includeMasterKey?: boolean; json?: boolean }) => {
      const config = await cli.config();
      const out = path.resolve(options.out ?? path.join(config.dataDir, "backups", new Date().toISOString().replace(/[:.]/g, "-")));
      let step = "";
      let progress = cli.progress("", false);
      const manifest = await createBackup(
        config,
        out,
        (current, done, total) => {
          if (current !== step) {
            progress.done();
            step = current;
            progress = cli.progress(`Backing up ${current}`, !options.json);
          }
          progress.update(done, total);
        },
        { includeMasterKey: options.includeMasterKey },
      );
      progress.done();
      const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
      cli.print(!!options.json, { out, ...manifest }, () =>
        [
          `Backup written to ${out}: ${manifest.files.length} file(s), ${bytes} bytes (${manifest.database}).`,
          ...(options.includeMasterKey || config.SHIELD_MASTER_KEY
            ? []
            : ["The master key (master.key) is not in it: keep a copy of it somewhere else, or the team key cannot be restored."]),
        ].join("\n"),
      );
    });
}
