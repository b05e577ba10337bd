import type { Command } from "commander";
import { createApiToken, revokeMemberTokens } from "../../modules/people/index.js";
import { systemClock } from "../../shared/clock.js";
import type { CliContext } from "../cli-context.js";

export function register(token: Command, cli: CliContext): void {
  token
    .command("create")
    .description("Create an API token for a team member; it is printed once and stored only as a hash.")
    .argument("<email>")
    .option("--name <name>", "what the token is for", "api")
    .option("--json", "machine-readable output")
    .action(async (email: string, options: { name: string; json?: boolean }) => {
      const created = await cli.withDatabase(({ db }) => createApiToken(db, systemClock, cli.actor, email, options.name));
      cli.print(!!options.json, { id: created.id, token: created.token, email: created.member.email, role: created.member.role }, () => created.token);
    });
  token
    .command("revoke")
    .description("Revoke every API token of a team member.")
    .argument("<email>")
    .option("--json", "machine-readable output")
    .action(async (email: string, options: { json?: boolean }) => {
      const count = await cli.withDatabase(({ db }) => revokeMemberTokens(db, systemClock, cli.actor, email));
      cli.print(!!options.json, { revoked: count }, () => `Revoked ${count} token(s).`);
    });
}
