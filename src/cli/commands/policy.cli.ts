import type { Command } from "commander";
import { importPolicy, listPolicyVariables, MAX_POLICY_CHARS, PUBLIC_PAGES, setPolicyVariable } from "../../modules/policy/index.js";
import { systemClock } from "../../shared/clock.js";
import type { CliContext } from "../cli-context.js";
import { readImportFile } from "./import-file.js";

export function register(policy: Command, cli: CliContext): void {
  policy
    .command("import")
    .description("Show FILE at /security from now on (earlier versions are kept). Refuses, storing nothing, if a {{ site.* }} variable is unknown.")
    .argument("<file>", "Markdown with front matter (title, description)")
    .option("--json", "machine-readable output")
    .action(async (file: string, options: { json?: boolean }) => {
      const source = readImportFile(file, MAX_POLICY_CHARS * 4);
      const result = await cli.withDatabase(({ db }) => importPolicy(db, systemClock, cli.actor, source));
      cli.print(!!options.json, result, () =>
        [
          result.unchanged
            ? `"${result.title}" is the current policy already; nothing changed.`
            : `Imported "${result.title}" as policy version ${result.id} (${result.characters} characters${result.variables.length ? `; variables ${result.variables.map((v) => `site.${v}`).join(", ")}` : ""}). It is shown at /security.`,
          ...result.linksNotServed.map(
            (link) =>
              `Warning: line ${link.line} links to ${link.href}, which leads to ${link.path}, where Shield serves nothing (its pages: ${PUBLIC_PAGES.join(", ")}; the team key is /security/pgp-key.asc). Change the link and import the file again.`,
          ),
        ].join("\n"),
      );
    });
  policy
    .command("vars")
    .description("List the {{ site.* }} variables a policy can use: built in (from the settings) and custom (set-var).")
    .option("--json", "machine-readable output")
    .action(async (options: { json?: boolean }) => {
      const list = await cli.withDatabase(async ({ db, settings }, config) => listPolicyVariables(db, { settings: await settings.get(), baseUrl: await cli.linkBaseUrl(db, config) }));
      cli.print(!!options.json, list, () => {
        const width = Math.max(...[...list.builtIn, ...list.custom].map((v) => v.name.length)) + 5;
        return [
          "Built in (change them with `shield settings set`):",
          ...list.builtIn.map((v) => `  ${`site.${v.name}`.padEnd(width)} ${v.value}`),
          "Custom (`shield policy set-var NAME VALUE`):",
          ...(list.custom.length ? list.custom.map((v) => `  ${`site.${v.name}`.padEnd(width)} ${v.value}`) : ["  none"]),
          ...(list.unknownInPolicy.length
            ? ["Warning: the current policy uses variables without a value; the page shows them as [site.NAME]:", ...list.unknownInPolicy.map((u) => `  site.${u.name} (line ${u.line})`)]
            : []),
        ].join("\n");
      });
    });
  policy
    .command("set-var")
    .description("Set a custom {{ site.NAME }} variable for the policy page (one line of text; built-in names are refused).")
    .argument("<name>", "lower-case letters, digits and _")
    .argument("<value>")
    .option("--json", "machine-readable output")
    .action(async (name: string, value: string, options: { json?: boolean }) => {
      const result = await cli.withDatabase(({ db }) => setPolicyVariable(db, systemClock, cli.actor, name, value));
      cli.print(!!options.json, result, () => `site.${result.name} = ${result.value}${result.previous === null ? "" : ` (was ${result.previous})`}`);
    });
}
