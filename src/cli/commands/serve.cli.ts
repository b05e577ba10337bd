import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";

export function register(command: Command, cli: CliContext): void {
  command.action(async () => {
    const config = await cli.config();
    const [{ serve }, { createLogger }] = await Promise.all([import("../../main.js"), import("../../platform/logger.js")]);
    await serve(config, createLogger(config.SHIELD_LOG_LEVEL));
  });
}
