import type { Command } from "commander";
import { updateSetting } from "../../modules/settings/index.js";
import { systemClock } from "../../shared/clock.js";
import type { CliContext } from "../cli-context.js";

export function register(settings: Command, cli: CliContext): void {
  settings
    .command("show")
    .description("Print every setting as JSON.")
    .action(async () => {
      const values = await cli.withDatabase(({ settings }) => settings.get());
      cli.print(true, values, () => "");
    });
  settings
    .command("set")
    .description("Change one setting; VALUE is JSON (a bare word is taken as a string).")
    .argument("<key>")
    .argument("<value>")
    .option("--json", "machine-readable output")
    .action(async (key: string, raw: string, options: { json?: boolean }) => {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
      const values = await cli.withDatabase(({ settings }) => updateSetting(settings, systemClock, cli.actor, key, value));
      cli.print(!!options.json, { [key]: values[key as keyof typeof values] }, () => `${key} = ${JSON.stringify(values[key as keyof typeof values])}`);
    });
}
