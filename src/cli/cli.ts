import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { DomainError } from "../shared/errors.js";
import { CliContext, CliError, type CliStreams } from "./cli-context.js";
import { COMMAND_GROUPS } from "./commands.js";

const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

/** The configuration refusal's exit code (EX_CONFIG), which service managers know not to retry blindly. */
const EXIT_CONFIG = 78;

/**
 * Runs `shield ARGS…` against the given streams and resolves to its exit code; it never
 * exits the process. Only the command group named in ARGS is imported (and with it the
 * modules it needs): the others are listed for `--help` by name and description alone.
 *
 * Every command that prints something for people also takes `--json` for scripts. Errors
 * go to stderr as a line for people, or with `--json` to stdout as
 * `{"error":{"code","message","fields"?}}`, the API's form; either way the exit code is
 * not 0.
 */
export async function runCli(args: string[], streams: CliStreams): Promise<number> {
  const context = new CliContext(streams);
  const json = args.includes("--json");
  const program = new Command()
    .name("shield")
    .description("Shield, a self-hosted security response desk.")
    .version(VERSION)
    .showHelpAfterError(!json)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
      // With --json the usage error is reported once, as JSON, below.
      outputError: (text, write) => (json ? undefined : write(text)),
    });

  const wanted = args[0] === "help" ? args[1] : args.find((arg) => !arg.startsWith("-"));
  for (const group of COMMAND_GROUPS) {
    const command = program.command(group.name).description(group.description);
    if (group.name === wanted) (await group.load()).register(command, context);
  }

  try {
    await program.parseAsync(args, { from: "user" });
    return context.exitCode;
  } catch (error) {
    return report(error, json, streams);
  }
}

async function report(error: unknown, json: boolean, streams: CliStreams): Promise<number> {
  const write = (code: string, message: string, fields?: Record<string, string>, prefix = "shield: ") => {
    if (json) {
      streams.stdout.write(`${JSON.stringify({ error: { code, message, ...(fields ? { fields } : {}) } }, null, 2)}\n`);
      return;
    }
    streams.stderr.write(`${prefix}${message}\n`);
    if (fields) for (const [field, text] of Object.entries(fields)) streams.stderr.write(`  ${field}: ${text}\n`);
  };
  if (error instanceof CommanderError) {
    // --help and --version end this way too, with exit code 0 and their text written.
    if (error.exitCode !== 0) {
      if (json) write("invalid_arguments", error.message.replace(/^error: /, ""));
    }
    return error.exitCode;
  }
  if (error instanceof DomainError) {
    write(error.code, error.message, error.fields);
    return 1;
  }
  if (error instanceof CliError) {
    write(error.code, error.message);
    return 1;
  }
  const { ConfigError } = await import("../config.js");
  if (error instanceof ConfigError) {
    // Its message says already that it is Shield that cannot start.
    write(error.code, error.message, undefined, "");
    return EXIT_CONFIG;
  }
  write("failed", error instanceof Error ? error.message : String(error));
  return 1;
}
