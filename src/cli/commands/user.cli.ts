import { Option, type Command } from "commander";
import { addTeamMember, listUsers, ROLES } from "../../modules/people/index.js";
import { systemClock } from "../../shared/clock.js";
import type { CliContext } from "../cli-context.js";

export function register(user: Command, cli: CliContext): void {
  user
    .command("add")
    .description("Add a team member.")
    .argument("<email>")
    .addOption(new Option("--role <role>", "what they may do").choices(ROLES).makeOptionMandatory())
    .option("--name <name>", "display name (default: the part of the address before @)")
    .option("--json", "machine-readable output")
    .action(async (email: string, options: { role: string; name?: string; json?: boolean }) => {
      const { createInvite } = await import("../../modules/auth/index.js");
      const { member, invite } = await cli.withDatabase(async ({ db }, config) => {
        const added = await addTeamMember(db, systemClock, cli.actor, { email, name: options.name, role: options.role });
        return { member: added, invite: await createInvite({ db, clock: systemClock }, cli.actor, added.email, await cli.linkBaseUrl(db, config)) };
      });
      cli.print(!!options.json, { ...member, inviteUrl: invite.url, inviteExpiresAt: invite.expiresAt }, () =>
        [
          `Added ${member.email} as ${member.role} (id ${member.id}).`,
          `Send them this link to set their password and authenticator app (it works once, until ${invite.expiresAt}):`,
          `  ${invite.url}`,
        ].join("\n"),
      );
    });
  user
    .command("invite")
    .description(
      "Print a new one-time link (valid 48 hours) for a member to set their password and authenticator app; it replaces their older links. For a member who is set up already it is the way back in after a lost phone: using it replaces their password, authenticator, recovery codes and passkeys.",
    )
    .argument("<email>")
    .option("--json", "machine-readable output")
    .action(async (email: string, options: { json?: boolean }) => {
      const { createInvite } = await import("../../modules/auth/index.js");
      const invite = await cli.withDatabase(async ({ db }, config) => createInvite({ db, clock: systemClock }, cli.actor, email, await cli.linkBaseUrl(db, config)));
      cli.print(!!options.json, { email: invite.member.email, inviteUrl: invite.url, inviteExpiresAt: invite.expiresAt }, () => invite.url);
    });
  user
    .command("list")
    .description("List team members.")
    .option("--json", "machine-readable output")
    .action(async (options: { json?: boolean }) => {
      const members = await cli.withDatabase(({ db }) => listUsers(db));
      cli.print(!!options.json, members, () =>
        members.length ? members.map((m) => `${String(m.id).padStart(4)}  ${m.role.padEnd(8)} ${m.email}${m.disabledAt ? " (disabled)" : ""}`).join("\n") : "No team members yet.",
      );
    });
}
