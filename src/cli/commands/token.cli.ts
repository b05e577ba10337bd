import type { Command } from "commander";
import { createApiToken, findUserByEmail, listApiTokens, MAX_TOKEN_DAYS, normalizeEmail, revokeApiToken, revokeMemberTokens, type ApiToken } from "../../modules/people/index.js";
import { UserNotFoundError } from "../../shared/errors.js";
import { systemClock } from "../../shared/clock.js";
import { CliError, type CliContext } from "../cli-context.js";

const describeToken = (t: ApiToken) =>
  `${String(t.id).padStart(5)}  ${t.state.padEnd(7)} ${t.prefix}…  ${t.email}  "${t.name}"  created ${t.createdAt.slice(0, 16)}Z` +
  `${t.expiresAt ? `, expires ${t.expiresAt.slice(0, 16)}Z` : ""}${t.lastUsedAt ? `, last used ${t.lastUsedAt.slice(0, 16)}Z` : ", never used"}`;

function parseDays(value: string): number {
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > MAX_TOKEN_DAYS) throw new CliError("invalid_arguments", `--expires-in must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}, not ${value}`);
  return days;
}

export function register(token: Command, cli: CliContext): void {
  token
    .command("create")
    .description("Create an API token for a team member; it is printed once and stored only as a hash.")
    .argument("<email>")
    .option("--name <name>", "what the token is for", "api")
    .option("--expires-in <days>", `days until it stops working (1–${MAX_TOKEN_DAYS}; default: until revoked)`)
    .option("--json", "machine-readable output")
    .action(async (email: string, options: { name: string; expiresIn?: string; json?: boolean }) => {
      const expiresInDays = options.expiresIn === undefined ? undefined : parseDays(options.expiresIn);
      const created = await cli.withDatabase(({ db }) => createApiToken(db, systemClock, cli.actor, email, options.name, { expiresInDays }));
      cli.print(!!options.json, { id: created.id, token: created.token, email: created.member.email, role: created.member.role, expiresAt: created.expiresAt }, () => created.token);
    });
  token
    .command("list")
    .description("List API tokens, newest first: their id, state, first characters, owner, name and dates (never the token).")
    .argument("[email]", "only this member's tokens")
    .option("--json", "machine-readable output")
    .action(async (email: string | undefined, options: { json?: boolean }) => {
      const tokens = await cli.withDatabase(async ({ db }) => {
        if (email === undefined) return listApiTokens(db, systemClock);
        const member = await findUserByEmail(db, normalizeEmail(email));
        if (!member) throw UserNotFoundError(normalizeEmail(email));
        return listApiTokens(db, systemClock, { memberId: member.id });
      });
      cli.print(!!options.json, tokens, () => (tokens.length ? tokens.map(describeToken).join("\n") : "No API tokens."));
    });
  token
    .command("revoke")
    .description("Revoke one API token by its id (from `token list`), or every token of a team member by their address.")
    .argument("<id-or-email>")
    .option("--json", "machine-readable output")
    .action(async (target: string, options: { json?: boolean }) => {
      if (/^\d+$/.test(target)) {
        const revoked = await cli.withDatabase(({ db }) => revokeApiToken(db, systemClock, cli.actor, Number(target)));
        cli.print(!!options.json, revoked, () => `Revoked token ${revoked.id} ("${revoked.name}" of ${revoked.email}).`);
        return;
      }
      const count = await cli.withDatabase(({ db }) => revokeMemberTokens(db, systemClock, cli.actor, target));
      cli.print(!!options.json, { revoked: count }, () => `Revoked ${count} token(s).`);
    });
}
