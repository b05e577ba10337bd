import type { Command } from "commander";
import { verifyAuditLog } from "../../modules/audit/index.js";
import type { CliContext } from "../cli-context.js";

export function register(audit: Command, cli: CliContext): void {
  audit
    .command("verify")
    .description("Check every event's hash and link; exits 1 and names each event that was edited, inserted or deleted.")
    .option("--json", "machine-readable output")
    .action(async (options: { json?: boolean }) => {
      const progress = cli.progress("Verifying audit log", !options.json);
      const result = await cli.withDatabase(({ db }) => verifyAuditLog(db, (done, total) => progress.update(done, total)));
      progress.done();
      cli.print(!!options.json, result, () =>
        result.ok
          ? `The audit log is intact: ${result.checked} event(s), head ${result.head.seq} ${result.head.hash}.`
          : [`The audit log has been tampered with (${result.problems.length} problem(s)):`, ...result.problems.map((p) => `  - ${p.message}`)].join("\n"),
      );
      if (!result.ok) cli.exitCode = 1;
    });
}
