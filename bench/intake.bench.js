// `npm run bench:intake`: public intake throughput and latency of a real Shield process
// against a bare durable baseline (bench/baseline-server.js), in one run on this machine.
//
// Each server runs as its own child process over 127.0.0.1 with a fresh temporary data
// directory, gets a warm-up and then a measured autocannon run with the same report body,
// and is stopped (SIGTERM) before the next one starts, so the two never share the CPU and
// Shield's outbox worker cannot eat into the baseline's run. It is a measurement: the exit
// code is 0 whether the targets are met or not (non-zero only if the bench itself failed).
//
// Options (after `npm run bench:intake --`):
//   --duration=15 --warmup=3 --connections=50    seconds, seconds, concurrent connections
//   --rate=N                                     offer N requests/s in all instead of as many as the server takes
//                                                (latency at a given load rather than at saturation)
//   --drain=8                                    seconds without load after Shield's run, to count the receipts its worker writes
//   --shield-env=KEY=VALUE                       extra Shield setting (repeatable), e.g. SHIELD_WORKER=false
//   --only=shield|baseline                       run one side only (no ratio)
//   --cpu-prof=DIR                               write a V8 CPU profile of the Shield process into DIR
//   --shield-cli=PATH                            another build of `shield` to measure (default dist/cli/shield.js)
//   --smtp                                       send mail to an SMTP sink in this process (SMTP_URL) instead of .eml files
//   --smtp-latency=0                             with --smtp: milliseconds the sink waits before its greeting and before
//                                                accepting each message, as a relay across a network would
//   --keep                                       keep the temporary directories (data, logs) and print where
import { spawn } from "node:child_process";
import fs from "node:fs";
import { freePort, sleep } from "./support.js";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import { SMTPServer } from "smtp-server";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    drain: { type: "string", default: "8" },
    rate: { type: "string" },
    "shield-env": { type: "string", multiple: true, default: [] },
    only: { type: "string" },
    "cpu-prof": { type: "string" },
    "shield-cli": { type: "string", default: "dist/cli/shield.js" },
    keep: { type: "boolean", default: false },
    smtp: { type: "boolean", default: false },
    "smtp-latency": { type: "string", default: "0" },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const drainSeconds = Number(args.drain);

const TARGET_RATIO = 0.8;
const TARGET_P99_MS = 50;
// Far above what one client can send in a minute here: the intake limit (default 10 per
// client address per minute) protects against real abusive clients, and the bench is one
// client address sending everything.
const BENCH_INTAKE_RATE_LIMIT = "1000000000";

/** A realistic vulnerability report: a 1–2 KB Markdown description, steps, impact, credit. */
const REPORT = {
  channel: "vulnerability",
  title: "Stored XSS in project settings lets a maintainer run script in an admin's session",
  description: [
    "## Summary",
    "",
    "The **Project description** field on `/projects/:id/settings` is stored as entered and later rendered",
    "without escaping on the admin overview page (`/admin/projects`). A user with the *maintainer* role can",
    "store a payload that runs in the browser of every administrator who opens the overview.",
    "",
    "## Details",
    "",
    "The settings form posts `description` to `PATCH /api/projects/:id`. The API keeps the value byte for",
    "byte, which is fine, but the admin overview template builds the table row with string concatenation:",
    "",
    "```js",
    "row.innerHTML = `<td>${project.name}</td><td>${project.description}</td>`;",
    "```",
    "",
    "Because the page is served from the same origin as the API and the session cookie is not `HttpOnly`,",
    "the script can read `document.cookie` and call any admin endpoint, including `POST /api/users/:id/role`.",
    "",
    "Tested on version 4.12.3 (self-hosted, default configuration) with Firefox 128 and Chromium 126.",
    "The Content-Security-Policy header is absent on `/admin/*`, so an inline handler is enough; no external",
    "script is needed. The issue does not need any interaction beyond the admin opening the overview page.",
    "",
    "## Suggested fix",
    "",
    "Render the description with `textContent` (or the template engine's escaping), mark the session cookie",
    "`HttpOnly`, and send the same CSP on the admin pages as on the rest of the application.",
  ].join("\n"),
  steps: "1. Log in as a maintainer.\n2. Set the project description to `<img src=x onerror=fetch('/api/users/2/role',{method:'POST',body:'admin'})>`.\n3. Log in as an admin and open /admin/projects.\n4. The maintainer is now an admin.",
  impact: "Privilege escalation from maintainer to administrator; full takeover of the instance.",
  asset: "app.example.com",
  reporter: { name: "Ada Researcher", email: "ada.researcher@example.org" },
  credit: { name: "Ada R.", url: "https://ada.example.org" },
  aiUsed: false,
};
const BODY = JSON.stringify(REPORT);

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), "shield-bench-"));
const children = new Set();

function log(line = "") {
  process.stdout.write(`${line}\n`);
}


/** Starts `node <args>` with output to files, so the bench does not pay for reading the logs. */
function startChild(name, nodeArgs, env) {
  const outFile = path.join(temporaryRoot, `${name}.stdout.log`);
  const errFile = path.join(temporaryRoot, `${name}.stderr.log`);
  const out = fs.openSync(outFile, "w");
  const err = fs.openSync(errFile, "w");
  const child = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: ["ignore", out, err] });
  fs.closeSync(out);
  fs.closeSync(err);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const handle = { name, child, outFile, errFile, exited, hasExited: false };
  exited.then(() => {
    handle.hasExited = true;
    children.delete(handle);
  });
  children.add(handle);
  return handle;
}

function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

async function waitUntil(handle, isReady, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle.hasExited) {
      throw new Error(`${handle.name} exited before it was ready:\n${tail(handle.errFile)}\n${tail(handle.outFile)}`);
    }
    if (await isReady().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${handle.name} was not ${what} after ${timeoutMs / 1000} s:\n${tail(handle.errFile)}`);
}

/** CPU time (user + system) a live process has used so far, in ms (Linux clock ticks are 10 ms). */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The machine is shared: say how busy it was, since other work lowers and scatters the figures. */
function describeLoad() {
  const [one] = os.loadavg();
  let pressure = "";
  try {
    pressure = `, CPU pressure avg10 ${/some avg10=([\d.]+)/.exec(fs.readFileSync("/proc/pressure/cpu", "utf8"))?.[1]}%`;
  } catch {
    // Not every kernel has pressure stall information.
  }
  return { busy: one > os.cpus().length * 0.5, text: `load average ${one.toFixed(2)} on ${os.cpus().length} cores${pressure}` };
}

/** Peak resident set size (VmHWM) of a live process, in MiB. */
function peakRssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kb / 1024;
}

async function stopChild(handle) {
  if (handle.hasExited) return;
  handle.child.kill("SIGTERM");
  const outcome = await Promise.race([handle.exited, sleep(20_000).then(() => undefined)]);
  if (!outcome) {
    log(`  ! ${handle.name} did not stop within 20 s of SIGTERM; killing it`);
    handle.child.kill("SIGKILL");
    await handle.exited;
  } else if (outcome.code !== 0) {
    log(`  ! ${handle.name} stopped with code ${outcome.code} signal ${outcome.signal}:\n${tail(handle.errFile)}`);
  }
}

async function load(url, seconds) {
  return autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: BODY,
    connections,
    duration: seconds,
    ...(args.rate ? { overallRate: Number(args.rate) } : {}),
  });
}

function describeFailures(result) {
  const parts = [];
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    if (!status.startsWith("2")) parts.push(`HTTP ${status} × ${count}`);
  }
  if (result.errors) parts.push(`${result.errors} connection errors`);
  if (result.timeouts) parts.push(`${result.timeouts} timeouts`);
  return parts.join(", ");
}

/** Warm-up, then the measured run; warns about any answer that was not 2xx. */
async function measure(name, url, pid) {
  log(`  ${name}: warm-up ${warmup} s, then measuring ${duration} s with ${connections} connections…`);
  const runs = [];
  if (warmup > 0) runs.push(["warm-up", await load(url, warmup)]);
  const cpuBefore = cpuMs(pid);
  const measured = await load(url, duration);
  const cpuUsed = cpuMs(pid) - cpuBefore;
  runs.push(["measured", measured]);
  let answered2xx = 0;
  for (const [label, result] of runs) {
    answered2xx += result["2xx"];
    const failures = describeFailures(result);
    if (result.non2xx || failures) log(`  ! ${name} ${label}: ${result.non2xx} non-2xx answers${failures ? ` (${failures})` : ""}`);
  }
  return {
    reqPerSec: measured.requests.average,
    total: measured.requests.total,
    p50: measured.latency.p50,
    p90: measured.latency.p90,
    p99: measured.latency.p99,
    max: measured.latency.max,
    mean: measured.latency.average,
    non2xx: measured.non2xx + measured.errors + measured.timeouts,
    // Server CPU per answered request: steadier than req/s when other work shares the machine.
    cpuPerRequest: cpuUsed / Math.max(1, measured["2xx"]),
    answered2xx,
  };
}

async function benchBaseline() {
  const dataDir = path.join(temporaryRoot, "baseline-data");
  fs.mkdirSync(dataDir);
  const port = await freePort();
  const handle = startChild("baseline", ["bench/baseline-server.js"], { ...process.env, BASELINE_DATA_DIR: dataDir, BASELINE_PORT: String(port) });
  try {
    await waitUntil(handle, async () => fs.readFileSync(handle.outFile, "utf8").includes("listening"), "listening");
    const figures = await measure("baseline", `http://127.0.0.1:${port}/api/v1/reports`, handle.child.pid);
    figures.peakRss = peakRssMiB(handle.child.pid);
    await stopChild(handle);
    const db = new Database(path.join(dataDir, "baseline.db"), { readonly: true });
    figures.rows = db.prepare("select count(*) as n from reports").get().n;
    db.close();
    return figures;
  } finally {
    await stopChild(handle);
  }
}

/** With --smtp: a sink that accepts every message, after `--smtp-latency` ms at its greeting and at each message's end, and counts the receipts (Message-ID `<receipt-…@shield>`). */
async function startSmtpSink() {
  const latency = Number(args["smtp-latency"]);
  const later = (callback) => (latency > 0 ? setTimeout(callback, latency) : callback());
  const sink = { receipts: 0, connections: 0 };
  sink.server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    // A relay would look the client up; here that lookup would time out and be measured instead.
    disableReverseLookup: true,
    logger: false,
    onConnect(_session, callback) {
      sink.connections++;
      later(() => callback());
    },
    onData(stream, _session, callback) {
      let head = "";
      stream.on("data", (chunk) => {
        if (head.length < 4096) head += chunk.toString("latin1");
      });
      stream.on("end", () => {
        if (/^Message-ID: <receipt-/im.test(head)) sink.receipts++;
        later(() => callback());
      });
    },
  });
  await new Promise((resolve) => sink.server.listen(0, "127.0.0.1", resolve));
  sink.url = `smtp://127.0.0.1:${sink.server.server.address().port}`;
  return sink;
}

/** Receipts sent so far: to the SMTP sink, or written by the file mailer (`outbox/receipt-<report>-job-<job>.eml`). */
function countReceipts(dataDir, sink) {
  if (sink) return sink.receipts;
  const outbox = path.join(dataDir, "outbox");
  return fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((f) => f.startsWith("receipt-") && f.endsWith(".eml")).length : 0;
}

async function benchShield() {
  const dataDir = path.join(temporaryRoot, "shield-data");
  const port = await freePort();
  const env = { ...process.env };
  // Production defaults: nothing inherited from the caller's shell may change them.
  for (const key of Object.keys(env)) if (key.startsWith("SHIELD_") || key === "DATABASE_URL" || key === "SMTP_URL") delete env[key];
  const changed = {
    SHIELD_HOST: "127.0.0.1",
    SHIELD_PORT: String(port),
    SHIELD_DATA_DIR: dataDir,
    SHIELD_INTAKE_RATE_LIMIT: BENCH_INTAKE_RATE_LIMIT,
  };
  const sink = args.smtp ? await startSmtpSink() : undefined;
  if (sink) changed.SMTP_URL = sink.url;
  for (const pair of args["shield-env"]) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--shield-env wants KEY=VALUE, got ${pair}`);
    changed[pair.slice(0, at)] = pair.slice(at + 1);
  }
  log("  shield settings that differ from a default install:");
  log(`    SHIELD_PORT=${port}, SHIELD_DATA_DIR=<fresh temporary directory> (SQLite, WAL, synchronous=FULL)`);
  log(`    SHIELD_INTAKE_RATE_LIMIT=${BENCH_INTAKE_RATE_LIMIT} (default 10 per client per minute; it exists for real clients, and here one client sends everything)`);
  for (const pair of args["shield-env"]) log(`    ${pair} (from --shield-env)`);
  if (sink) log(`    SMTP_URL=${sink.url} (a sink in the bench process${Number(args["smtp-latency"]) > 0 ? `, ${args["smtp-latency"]} ms before its greeting and before accepting each message` : ""})`);
  log(`    everything else default: log level ${changed.SHIELD_LOG_LEVEL ?? "info"}, outbox worker ${changed.SHIELD_WORKER ?? "on"}${sink ? "" : " (receipts as fsynced .eml files)"}`);
  const nodeArgs = [];
  if (args["cpu-prof"]) {
    fs.mkdirSync(args["cpu-prof"], { recursive: true });
    nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${path.resolve(args["cpu-prof"])}`);
  }
  nodeArgs.push(path.resolve(root, args["shield-cli"]), "serve");
  const handle = startChild("shield", nodeArgs, { ...env, ...changed });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(handle, async () => (await fetch(`${base}/readyz`)).status === 200, "ready (/readyz)");
    const figures = await measure("shield", `${base}/api/v1/reports`, handle.child.pid);
    const workerOn = !["false", "0"].includes(changed.SHIELD_WORKER ?? "true");
    if (workerOn && drainSeconds > 0) {
      // Under load the worker gets few turns at the one SQLite connection; with the load
      // gone, how fast it works off the receipts shows what one receipt costs.
      log(`  shield: no load for ${drainSeconds} s, counting the receipts the worker writes meanwhile…`);
      const before = { eml: countReceipts(dataDir, sink), cpu: cpuMs(handle.child.pid) };
      await sleep(drainSeconds * 1000);
      const written = countReceipts(dataDir, sink) - before.eml;
      figures.drain = { written, perSecond: written / drainSeconds, cpuPerReceipt: (cpuMs(handle.child.pid) - before.cpu) / Math.max(1, written) };
    }
    figures.peakRss = peakRssMiB(handle.child.pid);
    await stopChild(handle);
    const db = new Database(path.join(dataDir, "shield.db"), { readonly: true });
    figures.rows = db.prepare("select count(*) as n from reports").get().n;
    figures.jobs = db.prepare("select kind, state, count(*) as n from jobs group by kind, state order by kind, state").all();
    db.close();
    figures.receipts = countReceipts(dataDir, sink);
    if (sink) figures.smtpConnections = sink.connections;
    const logText = fs.readFileSync(handle.outFile, "utf8");
    figures.logLines = logText.split("\n").length - 1;
    figures.logBytes = Buffer.byteLength(logText);
    return figures;
  } finally {
    await stopChild(handle);
    if (sink) await new Promise((resolve) => sink.server.close(resolve));
  }
}

const fmt = (n, digits = 1) => (n == null || Number.isNaN(n) ? "-" : n.toFixed(digits));

function printTable(rows) {
  const header = ["", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "CPU ms/req", "peak RSS MiB"];
  const lines = rows.map(([name, f]) => [name, fmt(f.reqPerSec), fmt(f.p50, 0), fmt(f.p90, 0), fmt(f.p99, 0), fmt(f.max, 0), String(f.non2xx), fmt(f.cpuPerRequest, 2), fmt(f.peakRss)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  log(row(header));
  for (const line of lines) log(row(line));
}

async function main() {
  log(`intake bench: POST /api/v1/reports, ${BODY.length}-byte JSON body (description ${REPORT.description.length} chars), ${connections} connections, warm-up ${warmup} s + ${duration} s measured per server`);
  if (args.rate) log(`offered load: ${args.rate} requests/s in all (--rate), so req/s shows what was offered, not the ceiling`);
  log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}; load generator (autocannon) runs in this process on the same machine`);
  const loadBefore = describeLoad();
  log(`before: ${loadBefore.text}${loadBefore.busy ? " — the machine is busy with other work: expect low, scattered figures" : ""}`);
  const only = args.only;
  const results = [];
  if (only !== "shield") {
    log("baseline (bench/baseline-server.js: Fastify + better-sqlite3, WAL, synchronous=FULL, one insert, no validation, no logging):");
    results.push(["baseline", await benchBaseline()]);
  }
  if (only !== "baseline") {
    log(`shield (node ${args["shield-cli"]} serve):`);
    results.push(["shield", await benchShield()]);
  }

  const loadAfter = describeLoad();
  log(`after: ${loadAfter.text}${loadAfter.busy ? " — the machine was busy with other work during the run: compare CPU ms/req rather than req/s" : ""}`);
  log();
  printTable(results);
  const baseline = results.find(([n]) => n === "baseline")?.[1];
  const shield = results.find(([n]) => n === "shield")?.[1];
  if (baseline) log(`baseline rows stored: ${baseline.rows} (2xx answered: ${baseline.answered2xx})`);
  if (shield) {
    const jobs = shield.jobs.map((j) => `${j.kind} ${j.state} ${j.n}`).join(", ") || "none";
    log(`shield reports stored: ${shield.rows} (2xx answered: ${shield.answered2xx}); outbox jobs: ${jobs}; ${shield.smtpConnections === undefined ? `receipt .eml files: ${shield.receipts}` : `receipts at the SMTP sink: ${shield.receipts}, over ${shield.smtpConnections} SMTP connections`}`);
    if (shield.drain) {
      log(`shield receipts with no load: ${shield.drain.written} in ${drainSeconds} s (${fmt(shield.drain.perSecond)}/s, ${fmt(shield.drain.cpuPerReceipt, 2)} CPU ms each)`);
    }
    log(`shield log: ${shield.logLines} lines, ${fmt(shield.logBytes / Math.max(1, shield.answered2xx), 0)} bytes per accepted report`);
  }
  if (baseline && shield) {
    const ratio = shield.reqPerSec / baseline.reqPerSec;
    const verdict = (ok) => (ok ? "PASS" : "MISS");
    log();
    log(`ratio shield ÷ baseline req/s: ${fmt(ratio, 2)}`);
    if (args.rate) log(`target req/s ratio ≥ ${TARGET_RATIO}: not measured at a fixed offered rate (both sides were offered ${args.rate} req/s); run without --rate`);
    else log(`target req/s ratio ≥ ${TARGET_RATIO}:              ${fmt(ratio, 2)}  ${verdict(ratio >= TARGET_RATIO)}`);
    if (args.rate) log(`baseline p99 at the same offered rate: ${fmt(baseline.p99, 0)} ms`);
    log(`target shield p99 ≤ ${TARGET_P99_MS} ms at ${connections} connections: ${fmt(shield.p99, 0)} ms  ${verdict(shield.p99 <= TARGET_P99_MS)}`);
  } else if (shield) {
    log();
    log(`target shield p99 ≤ ${TARGET_P99_MS} ms at ${connections} connections: ${fmt(shield.p99, 0)} ms  ${shield.p99 <= TARGET_P99_MS ? "PASS" : "MISS"} (no baseline, no ratio)`);
  }
  if (shield && !args.rate) {
    log(`note: with ${connections} connections always waiting, mean latency = ${connections} ÷ req/s (Little's law), so p99 ≤ ${TARGET_P99_MS} ms needs well over ${fmt((connections * 1000) / TARGET_P99_MS, 0)} req/s`);
  }
  if (args["cpu-prof"]) log(`CPU profile of the Shield process in ${path.resolve(args["cpu-prof"])}`);
}

async function cleanUp() {
  for (const handle of [...children]) await stopChild(handle);
  if (args.keep) log(`kept ${temporaryRoot}`);
  else fs.rmSync(temporaryRoot, { recursive: true, force: true });
}

process.once("SIGINT", () => {
  cleanUp().finally(() => process.exit(130));
});

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
} finally {
  await cleanUp();
}
