import type { Command } from "commander";
import { z } from "zod";
import { readAuditHead, verifyAuditLog, type AuditHead } from "../../modules/audit/index.js";
import { CliError, type CliContext } from "../cli-context.js";
import { readImportFile } from "./import-file.js";

export function register(audit: Command, cli: CliContext): void {
  audit
    .command("head")
    .description("Print where the log ends (sequence number and MAC). Keep it outside the server and check against it later with `audit verify --anchor FILE`.")
    .option("--json", "machine-readable output (the anchor file format)")
    .action(async (options: { json?: boolean }) => {
      const head = await cli.withDatabase(({ db }) => readAuditHead(db));
      cli.print(!!options.json, head, () => `${head.seq} ${head.mac}`);
    });
  audit
    .command("verify")
    .description("Check every event's MAC and link; exits 1 and names each event that was edited, inserted or deleted.")
    .option("--anchor <file>", "a head printed earlier by `audit head --json` (or a backup's manifest.json): the log must still pass through it")
    .option("--json", "machine-readable output")
    .action(async (options: { anchor?: string; json?: boolean }) => {
      const anchor = options.anchor === undefined ? undefined : readAnchor(options.anchor);
      const progress = cli.progress("Verifying audit log", !options.json);
      const result = await cli.withDatabase(({ db }) => verifyAuditLog(db, { anchor, onProgress: (done, total) => progress.update(done, total) }));
      progress.done();
      cli.print(!!options.json, result, () =>
        result.ok
          ? `The audit log is intact: ${result.checked} event(s), head ${result.head.seq} ${result.head.mac}${anchor ? `; it still reaches the anchored head ${anchor.seq}` : ""}.`
          : [`The audit log has been tampered with (${result.problems.length} problem(s)):`, ...result.problems.map((p) => `  - ${p.message}`)].join("\n"),
      );
      if (!result.ok) cli.exitCode = 1;
    });
}

const MAC = z.string().regex(/^[0-9a-f]{64}$/, "64 hex digits");
/** `audit head --json` writes `mac`; a backup manifest's `auditHead` is the head row as stored, with `hash`. */
const anchorSchema = z.union([
  z.object({ seq: z.number().int().nonnegative(), mac: MAC }),
  z.object({ seq: z.number().int().nonnegative(), hash: MAC }).transform(({ seq, hash }) => ({ seq, mac: hash })),
]);

/**
 * An anchor file: the JSON of `audit head --json`, or a backup's manifest.json (its `auditHead`).
 * @throws CliError `not_an_anchor`
 */
function readAnchor(file: string): AuditHead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readImportFile(file, 16 * 1_048_576));
  } catch (error) {
    throw new CliError("not_an_anchor", `${file} is not an anchor: ${(error as Error).message}`);
  }
  const candidate = parsed && typeof parsed === "object" && "auditHead" in parsed ? (parsed as { auditHead: unknown }).auditHead : parsed;
  const result = anchorSchema.safeParse(candidate);
  if (!result.success) {
    const why = result.error.issues.map((i) => `${i.path.join(".") || "file"}: ${i.message}`).join("; ");
    throw new CliError("not_an_anchor", `${file} is not an anchor: expected {"seq": N, "mac": "…"} as printed by \`shield audit head --json\` (${why})`);
  }
  return result.data;
}
