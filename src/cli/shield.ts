#!/usr/bin/env node
import { runCli } from "./cli.js";

/** The `shield` command: see cli.ts; the command groups are listed in commands.ts. */
process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
