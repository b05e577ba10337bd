import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { RestoreRefusedError, readBackupManifest, restoreBackup } from "../../platform/db/restore.js";
import { nodeFileSystem } from "../../platform/blobs/file-system.js";
import { CliError, type CliContext } from "../cli-context.js";

const MASTER_KEY_BYTES = 32;

export function register(command: Command, cli: CliContext): void {
  command
    .argument("<backup-dir>", "a folder written by `shield backup`")
    .option("--master-key <file>", "the master.key kept apart from the backups (needed unless the backup holds it or SHIELD_MASTER_KEY is set)")
    .option("--json", "machine-readable output")
    .action(async (backupDir: string, options: { masterKey?: string; json?: boolean }) => {
      const config = await cli.config();
      const from = path.resolve(backupDir);
      const manifest = await refusing(() => readBackupManifest(nodeFileSystem, from));
      const masterKeyFile = readMasterKeyOption(options.masterKey);
      const backupHoldsKey = manifest.files.some((f) => f.path === path.join("data", "master.key"));
      if (!backupHoldsKey && !config.SHIELD_MASTER_KEY && !masterKeyFile) {
        throw new CliError(
          "no_master_key",
          "This backup does not hold the master key (backups leave it out unless asked). Give the copy you keep apart with --master-key FILE, or set SHIELD_MASTER_KEY: without it the team's key, the sealed secrets and the audit log cannot be read. Nothing was restored.",
        );
      }

      let step = "";
      let progress = cli.progress("", false);
      const restored = await refusing(() =>
        restoreBackup(
          config,
          from,
          (current, done, total) => {
            if (current !== step) {
              progress.done();
              step = current;
              progress = cli.progress(current === "checking" ? "Checking the backup's checksums" : `Restoring ${current}`, !options.json);
            }
            progress.update(done, total);
          },
          { masterKeyFile },
        ),
      );
      progress.done();

      // The restored log must verify under the master key and end exactly at the head the backup recorded.
      const { verifyAuditLog } = await import("../../modules/audit/index.js");
      const anchor = manifest.auditHead ? { seq: manifest.auditHead.seq, mac: manifest.auditHead.hash } : undefined;
      const verifying = cli.progress("Verifying the audit log", !options.json);
      const audit = await cli
        .withDatabase(({ db }) => verifyAuditLog(db, { anchor, onProgress: (done, total) => verifying.update(done, total) }))
        .catch((error: Error) => {
          throw new CliError("audit_unverifiable", `The files were restored into ${config.dataDir}, but the audit log could not be checked: ${error.message}. Do not serve from it until it verifies.`);
        });
      verifying.done();
      const problems = audit.problems.map((p) => p.message);
      if (anchor && audit.ok && (audit.head.seq !== anchor.seq || audit.head.mac !== anchor.mac)) {
        problems.push(`the restored log ends at event ${audit.head.seq}, not at the head ${anchor.seq} the backup recorded`);
      }
      if (problems.length > 0) {
        throw new CliError(
          "audit_failed",
          [`The files were restored into ${config.dataDir}, but the audit log does not verify (${problems.length} problem(s)); do not serve from it:`, ...problems.map((p) => `  - ${p}`)].join("\n"),
        );
      }

      const where = config.database.kind === "sqlite" ? config.database.file : "the PostgreSQL database named by DATABASE_URL";
      cli.print(
        !!options.json,
        {
          restoredFrom: from,
          createdAt: manifest.createdAt,
          dataDir: config.dataDir,
          database: config.database.kind,
          files: restored.files,
          bytes: restored.bytes,
          filesByFolder: restored.filesByFolder,
          audit: { events: audit.checked, head: audit.head },
        },
        () =>
          [
            `Restored the backup of ${manifest.createdAt} from ${from}:`,
            `  database (${config.database.kind}) into ${where}`,
            `  ${restored.files} file(s), ${restored.bytes} bytes, into ${config.dataDir}${Object.keys(restored.filesByFolder).length ? ` (${Object.entries(restored.filesByFolder).map(([folder, n]) => `${folder}: ${n}`).join(", ")})` : ""}`,
            `  audit log intact: ${audit.checked} event(s)${anchor ? ", ending at the head the backup recorded" : ""} (${audit.head.seq} ${audit.head.mac})`,
            "Every checksum matched. Start Shield with this SHIELD_DATA_DIR and DATABASE_URL.",
          ].join("\n"),
      );
    });
}

async function refusing<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof RestoreRefusedError) throw new CliError(error.code, error.message);
    throw error;
  }
}

/** @throws CliError `no_master_key` for a file that is not a master key. */
function readMasterKeyOption(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new CliError("no_master_key", `Cannot read the master key ${file}: ${(error as Error).message}`);
  }
  if (bytes.length !== MASTER_KEY_BYTES) throw new CliError("no_master_key", `${file} is not a master key: it holds ${bytes.length} bytes, not ${MASTER_KEY_BYTES}.`);
  return bytes;
}
