// `npm run bench:cli`: how fast the `shield` command and `npm start` are ready, against a
// bare `node -e 0` measured in the same run on this machine.
//
// 1. A fresh data directory; `shield migrate` and a few `shield user add` fill it (untimed).
// 2. Rounds of: `node -e 0`, `shield --help`, `shield user list --json`, one after the
//    other so that a busy machine slows all three alike. Medians and the ratio to the
//    baseline are printed, with PASS/MISS against the targets (0.3 s and 0.6 s).
// 3. `npm start` with sources unchanged since the build (`npm run bench:cli` builds first):
//    the time from spawning npm until Shield's /readyz answers 200, then SIGTERM; PASS/MISS
//    against 3 s.
//
// It is a measurement: the exit code is 0 whether the targets are met or not.
//
// Options (after `npm run bench:cli --`):
//   --rounds=10    rounds of the three commands
//   --starts=3     measured `npm start` runs
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort, sleep } from "./support.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const shieldBin = path.join(root, "dist", "cli", "shield.js");
const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "10" }, starts: { type: "string", default: "3" } } });
const ROUNDS = Number(args.rounds);
const STARTS = Number(args.starts);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-bench-cli-"));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, SHIELD_DATA_DIR: dataDir, SHIELD_LOG_LEVEL: "warn" };

function run(argv, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { cwd: root, env: { ...env, ...extraEnv }, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${argv.join(" ")} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return { seconds, stdout: result.stdout };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const s = (seconds) => `${seconds.toFixed(3)} s`;

/** Seconds from spawning `npm start` until /readyz answers 200. */
async function timeNpmStart() {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn("npm", ["start", "--silent"], {
    cwd: root,
    env: { ...env, SHIELD_HOST: "127.0.0.1", SHIELD_PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
  let exited = false;
  const done = new Promise((resolve) => child.on("exit", () => resolve((exited = true))));
  try {
    for (;;) {
      if (exited) throw new Error(`npm start exited before it was ready:\n${stderr}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (response.status === 200) return Number(process.hrtime.bigint() - started) / 1e9;
      } catch {
        // Not listening yet.
      }
      if (Number(process.hrtime.bigint() - started) > 180e9) throw new Error(`npm start was not ready within 180 s:\n${stderr}`);
      await sleep(10);
    }
  } finally {
    // npm starts a shell that starts node: signal the whole group.
    if (!exited) process.kill(-child.pid, "SIGTERM");
    await done;
  }
}

try {
  run([process.execPath, shieldBin, "migrate"]);
  for (const name of ["ada", "grace", "linus", "margaret", "ken"]) run([process.execPath, shieldBin, "user", "add", `${name}@team.example.test`, "--role", "triager"]);
  const expected = JSON.parse(run([process.execPath, shieldBin, "user", "list", "--json"]).stdout).length;
  if (expected !== 5) throw new Error(`user list --json listed ${expected} members, not 5`);

  const times = { baseline: [], help: [], list: [] };
  for (let round = 0; round < ROUNDS; round++) {
    times.baseline.push(run([process.execPath, "-e", "0"]).seconds);
    times.help.push(run([process.execPath, shieldBin, "--help"]).seconds);
    times.list.push(run([process.execPath, shieldBin, "user", "list", "--json"]).seconds);
  }
  const baseline = median(times.baseline);
  const line = (label, values, target, base = baseline) => {
    const m = median(values);
    return `${label.padEnd(28)} median ${s(m).padStart(9)}  (min ${s(Math.min(...values))}, max ${s(Math.max(...values))})  ${(m / base).toFixed(1).padStart(5)}× node -e 0  target < ${target} s: ${m < target ? "PASS" : "MISS"}`;
  };
  console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${ROUNDS} rounds, ${STARTS} starts`);
  console.log(`${"node -e 0 (baseline)".padEnd(28)} median ${s(baseline).padStart(9)}  (min ${s(Math.min(...times.baseline))}, max ${s(Math.max(...times.baseline))})`);
  console.log(line("shield --help", times.help, 0.3));
  console.log(line("shield user list --json", times.list, 0.6));

  // Sources edited since the build would make npm start compile: that is not this measurement.
  if (spawnSync(process.execPath, [path.join(root, "scripts", "build.js"), "--check"]).status !== 0) throw new Error("sources changed since the build; run the bench again");
  const starts = [];
  const startBaselines = [];
  for (let i = 0; i < STARTS; i++) {
    startBaselines.push(run([process.execPath, "-e", "0"]).seconds);
    starts.push(await timeNpmStart());
  }
  console.log(line("npm start, ready (unchanged)", starts, 3, median(startBaselines)));
  // The machine is shared: the load at the end tells whether it changed during the run.
  console.log(`load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; the npm start ratio is to node -e 0 measured beside those starts (median ${s(median(startBaselines))})`);
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
