import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runCli } from "../src/cli/cli.js";

/** The repository root and the compiled CLI that operators run (`npx shield`). */
export const ROOT = path.resolve(import.meta.dirname, "..");
export const SHIELD_BIN = path.join(ROOT, "dist", "cli", "shield.js");

/**
 * True when dist/ is older than its sources, as `npm run build` decides it (scripts/build.js
 * keeps a stamp of the inputs of each part it compiles).
 */
export function isDistStale(): boolean {
  return spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.js"), "--check"], { cwd: ROOT, encoding: "utf8" }).status !== 0;
}

const BUILD_LOCK = path.join(os.tmpdir(), `shield-build-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}.lock`);

/**
 * Compiles `dist/` when a source is newer, so that process tests run today's code. Test
 * files run side by side: a lock directory lets one build while the others wait, since
 * a build racing a spawned CLI hands it half-written files. Type errors (possibly in
 * someone's unfinished file) do not stop tsc's emit; they are the typecheck's business,
 * so they are shown, not thrown.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 170_000;
  for (;;) {
    try {
      fs.mkdirSync(BUILD_LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // A lock older than any build is left over from a killed run.
      const lock = fs.statSync(BUILD_LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 150_000) fs.rmSync(BUILD_LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for another test file's build (${BUILD_LOCK})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (!isDistStale()) return;
    const result = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, encoding: "utf8" });
    if (!fs.existsSync(SHIELD_BIN)) throw new Error(`npm run build did not produce ${SHIELD_BIN}:\n${result.stdout}${result.stderr}`);
    if (result.status !== 0) console.warn(`npm run build reported errors (dist/ was emitted anyway):\n${result.stdout}${result.stderr}`);
  } finally {
    fs.rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/** The time a `beforeAll(ensureBuilt, BUILD_TIMEOUT_MS)` may take on a busy machine. */
export const BUILD_TIMEOUT_MS = 180_000;

/**
 * How long one CLI run may take. A run takes a second or two, but the machine that runs the
 * suite may be shared; a slow run is not a failure of the behaviour under test.
 */
export const CLI_TIMEOUT_MS = 60_000;

/** A clean environment for a child Shield: nothing from the developer's shell leaks in. */
export function shieldEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, SHIELD_LOG_LEVEL: "warn", ...env };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `shield ARGS…` in this process, through the same entry point the binary calls,
 * with its own environment and captured output: what an operator would see, without the
 * second or two a fresh Node process takes to load Shield. Spawning the binary itself is
 * covered by `spawnShield`'s smoke test.
 */
export function runShield(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const run = inProcessRuns.then(async () => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      env: shieldEnv(env),
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    });
    return { code, stdout, stderr };
  });
  inProcessRuns = run.catch(() => undefined);
  return run;
}

/**
 * In-process runs take turns. Separate processes writing one SQLite file wait for each
 * other's lock; in one process, better-sqlite3's busy wait would block the very event loop
 * the lock holder needs to finish its transaction.
 */
let inProcessRuns: Promise<unknown> = Promise.resolve();

/** Runs the compiled `shield ARGS…` in a process of its own, as an operator would. */
export function spawnShield(args: string[], env: Record<string, string | undefined>, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIELD_BIN, ...args], { cwd: ROOT, env: shieldEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`shield ${args.join(" ")} did not finish in time:\n${stdout}${stderr}`));
    }, options.timeoutMs ?? CLI_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a `--json` command that must succeed and returns its parsed output. */
export async function runShieldJson<T = any>(args: string[], env: Record<string, string | undefined>): Promise<T> {
  const result = await runShield([...args, "--json"], env);
  // With --json an error is JSON on stdout; anything else on stderr.
  if (result.code !== 0) throw new Error(`shield ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A port nobody listens on right now, for a child server that must be reachable at a known address. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `shield serve` on a free port and waits until `/readyz` answers 200. */
/**
 * Settings for a spawned Shield that takes mail in a crash test: its own database and data
 * directory, a fresh master key, no worker, and every DNS question of the mail checks
 * answered "no such name" (test/offline-dns.mjs), so it never touches the network.
 */
export function mailShieldEnv(databaseUrl: string, dataDir: string, extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SHIELD_DATA_DIR: dataDir,
    SHIELD_MASTER_KEY: randomBytes(32).toString("base64"),
    SHIELD_WORKER: "false",
    NODE_OPTIONS: `--import=${pathToFileURL(path.join(ROOT, "test", "offline-dns.mjs")).href}`,
    ...extra,
  };
}

export async function startShieldServer(env: Record<string, string | undefined>, options: { timeoutMs?: number } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [SHIELD_BIN, "serve"], {
    cwd: ROOT,
    env: shieldEnv({ SHIELD_HOST: "127.0.0.1", SHIELD_PORT: String(port), SHIELD_INTAKE_RATE_LIMIT: "1000", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    child,
    port,
    baseUrl,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop(signal = "SIGTERM") {
      if (!hasExited) child.kill(signal);
      return exited;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? CLI_TIMEOUT_MS);
  for (;;) {
    if (hasExited) throw new Error(`shield serve exited before it was ready:\n${stdout}${stderr}`);
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.status === 200) return server;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`shield serve was not ready within the time limit:\n${stdout}${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `probe` every 50 ms until it gives a value; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
