// `npm run bench:intake`: public intake throughput and latency of a real Shield process
// against bare durable baselines (bench/baseline-server.js), in one run on this machine:
// on SQLite a one-row server (for reference) and a same-work server (the durable work Shield
// does per report, by hand, with group commit); with --postgres the same again on PostgreSQL
// (one-row with a pool of 10, same-work with one multi-row statement per table per batch)
// and Shield on PostgreSQL, with --processes=N as N Shield processes on one database.
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
//   --postgres                                   also measure PostgreSQL (a fresh database per server, made from
//                                                SHIELD_BENCH_POSTGRES_URL, default postgres://root@127.0.0.1:5432/test)
//   --processes=1                                with --postgres: Shield processes on the one database, the load split
//                                                evenly between them (each prints its rate, and the total)
//   --sqlite=false                               with --postgres: skip the SQLite servers
//   --cpu-prof=DIR                               write a V8 CPU profile of the Shield process into DIR
//   --shield-cli=PATH                            another build of `shield` to measure (default dist/cli/shield.js)
//   --smtp                                       send mail to an SMTP sink in this process (SMTP_URL) instead of .eml files
//   --smtp-latency=0                             with --smtp: milliseconds the sink waits before its greeting and before
//                                                accepting each message, as a relay across a network would
//   --keep                                       keep the temporary directories (data, logs) and print where
import { spawn } from "node:child_process";
import fs from "node:fs";
import { cpuMs, describeLoad, freePort, sleep } from "./support.js";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import pg from "pg";
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
    postgres: { type: "boolean", default: false },
    processes: { type: "string", default: "1" },
    sqlite: { type: "string", default: "true" },
  },
});
const processes = Number(args.processes);
const POSTGRES_URL = process.env.SHIELD_BENCH_POSTGRES_URL ?? "postgres://root@127.0.0.1:5432/test";
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const drainSeconds = Number(args.drain);

// Issue 16: SQLite against the same-work baseline, PostgreSQL against the one-row baseline.
const SQLITE_TARGETS = { ratio: 0.8, p99Ratio: 1.5, cpuRatio: 1.25 };
const POSTGRES_TARGETS = { ratio: 0.5, p99Ms: 50 };
const TARGET_P99_MS = 50;
// Issue 12, item 9 (bench:flood): what one receipt may cost the Shield process.
const TARGET_RECEIPT_CPU_MS = 1;
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

async function load(url, seconds, connectionCount = connections) {
  return autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: BODY,
    connections: connectionCount,
    duration: seconds,
    ...(args.rate ? { overallRate: Number(args.rate) / (connections / connectionCount) } : {}),
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

/** CPU ms used so far by every PostgreSQL process on this machine, by pid (other work's backends included). */
function postgresCpu() {
  const byPid = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
      byPid.set(entry, cpuMs(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return byPid;
}

function postgresCpuSince(before) {
  let used = 0;
  for (const [pid, now] of postgresCpu()) used += now - (before.get(pid) ?? 0);
  return used;
}

/**
 * Warm-up, then the measured run; warns about any answer that was not 2xx. `targets` are
 * the server's processes ({url, pid}): the connections are split evenly between them.
 */
async function measure(name, targets, { postgres = false } = {}) {
  log(`  ${name}: warm-up ${warmup} s, then measuring ${duration} s with ${connections} connections${targets.length > 1 ? ` split between ${targets.length} processes` : ""}…`);
  const share = (i) => Math.floor(connections / targets.length) + (i < connections % targets.length ? 1 : 0);
  const runAll = (seconds) => Promise.all(targets.map((t, i) => load(t.url, seconds, share(i))));
  const runs = [];
  if (warmup > 0) runs.push(["warm-up", await runAll(warmup)]);
  const cpuBefore = targets.map((t) => cpuMs(t.pid));
  const dbBefore = postgres ? postgresCpu() : undefined;
  const measured = await runAll(duration);
  const cpuUsed = targets.map((t, i) => cpuMs(t.pid) - cpuBefore[i]);
  const dbCpu = dbBefore ? postgresCpuSince(dbBefore) : undefined;
  runs.push(["measured", measured]);
  let answered2xx = 0;
  for (const [label, results] of runs) {
    for (const result of results) {
      answered2xx += result["2xx"];
      const failures = describeFailures(result);
      if (result.non2xx || failures) log(`  ! ${name} ${label}: ${result.non2xx} non-2xx answers${failures ? ` (${failures})` : ""}`);
    }
  }
  const figuresOf = (result, cpu) => ({
    reqPerSec: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.average,
    non2xx: result.non2xx + result.errors + result.timeouts,
    // Server CPU per answered request: steadier than req/s when other work shares the machine.
    cpuPerRequest: cpu / Math.max(1, result["2xx"]),
  });
  const perProcess = measured.map((result, i) => figuresOf(result, cpuUsed[i]));
  const ok = measured.reduce((n, r) => n + r["2xx"], 0);
  const figures =
    perProcess.length === 1
      ? perProcess[0]
      : {
          reqPerSec: perProcess.reduce((n, f) => n + f.reqPerSec, 0),
          total: perProcess.reduce((n, f) => n + f.total, 0),
          // Percentiles of two runs do not add up: the worse process's stands for both.
          p50: Math.max(...perProcess.map((f) => f.p50)),
          p90: Math.max(...perProcess.map((f) => f.p90)),
          p99: Math.max(...perProcess.map((f) => f.p99)),
          max: Math.max(...perProcess.map((f) => f.max)),
          non2xx: perProcess.reduce((n, f) => n + f.non2xx, 0),
          cpuPerRequest: cpuUsed.reduce((n, c) => n + c, 0) / Math.max(1, ok),
        };
  figures.answered2xx = answered2xx;
  if (perProcess.length > 1) figures.perProcess = perProcess;
  if (dbCpu !== undefined) figures.dbCpuPerRequest = dbCpu / Math.max(1, ok);
  return figures;
}

/** A fresh PostgreSQL database for one server; dropped at the end of the bench. */
const postgresDatabases = [];
async function createPostgresDatabase(label) {
  const name = `shield_bench_${label}_${process.pid}_${postgresDatabases.length}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  postgresDatabases.push(name);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropPostgresDatabases() {
  if (postgresDatabases.length === 0) return;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    for (const name of postgresDatabases.splice(0)) await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

async function countPostgres(url, query) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(query)).rows;
  } finally {
    await client.end();
  }
}

/** A bare baseline (bench/baseline-server.js): `work` one-row or same-work, on `database` sqlite or postgres. */
async function benchBaseline(work, database) {
  const name = `baseline-${database}-${work}`;
  const port = await freePort();
  const env = { ...process.env, BASELINE_WORK: work, BASELINE_PORT: String(port) };
  let dataDir;
  if (database === "sqlite") {
    dataDir = path.join(temporaryRoot, `${name}-data`);
    fs.mkdirSync(dataDir);
    env.BASELINE_DATA_DIR = dataDir;
  } else {
    env.BASELINE_DATABASE_URL = await createPostgresDatabase(work.replace("-", "_"));
  }
  const handle = startChild(name, ["bench/baseline-server.js"], env);
  try {
    await waitUntil(handle, async () => fs.readFileSync(handle.outFile, "utf8").includes("listening"), "listening");
    const figures = await measure(name, [{ url: `http://127.0.0.1:${port}/api/v1/reports`, pid: handle.child.pid }], { postgres: database === "postgres" });
    figures.peakRss = peakRssMiB(handle.child.pid);
    await stopChild(handle);
    if (dataDir) {
      const db = new Database(path.join(dataDir, "baseline.db"), { readonly: true });
      figures.rows = db.prepare("select count(*) as n from reports").get().n;
      db.close();
    } else {
      figures.rows = Number((await countPostgres(env.BASELINE_DATABASE_URL, "select count(*) as n from reports"))[0].n);
    }
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


/** Shield's own group-commit figures, which it logs when it stops (`group commit:` line). */
function readGroupCommitLine(file) {
  try {
    const line = fs.readFileSync(file, "utf8").split("\n").find((l) => l.includes('"group commit"'));
    return line ? JSON.parse(line) : undefined;
  } catch {
    return undefined;
  }
}

/** Shield on `database` (sqlite, or postgres with `count` processes on one database and one data directory). */
async function benchShield(database = "sqlite", count = 1) {
  const dataDir = path.join(temporaryRoot, `shield-${database}-${count}-data`);
  const env = { ...process.env };
  // Production defaults: nothing inherited from the caller's shell may change them.
  for (const key of Object.keys(env)) if (key.startsWith("SHIELD_") || key === "DATABASE_URL" || key === "SMTP_URL") delete env[key];
  const changed = {
    SHIELD_HOST: "127.0.0.1",
    SHIELD_DATA_DIR: dataDir,
    SHIELD_INTAKE_RATE_LIMIT: BENCH_INTAKE_RATE_LIMIT,
  };
  if (database === "postgres") changed.DATABASE_URL = await createPostgresDatabase(`shield${count}`);
  const sink = args.smtp ? await startSmtpSink() : undefined;
  if (sink) changed.SMTP_URL = sink.url;
  for (const pair of args["shield-env"]) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--shield-env wants KEY=VALUE, got ${pair}`);
    changed[pair.slice(0, at)] = pair.slice(at + 1);
  }
  log("  shield settings that differ from a default install:");
  log(`    SHIELD_PORT=<free port>, SHIELD_DATA_DIR=<fresh temporary directory>${database === "sqlite" ? " (SQLite, WAL, synchronous=FULL)" : `, DATABASE_URL=<fresh PostgreSQL database>${count > 1 ? ` shared by ${count} processes (and the data directory too)` : ""}`}`);
  log(`    SHIELD_INTAKE_RATE_LIMIT=${BENCH_INTAKE_RATE_LIMIT} (default 10 per client per minute; it exists for real clients, and here one client sends everything)`);
  for (const pair of args["shield-env"]) log(`    ${pair} (from --shield-env)`);
  if (sink) log(`    SMTP_URL=${sink.url} (a sink in the bench process${Number(args["smtp-latency"]) > 0 ? `, ${args["smtp-latency"]} ms before its greeting and before accepting each message` : ""})`);
  log(`    everything else default: log level ${changed.SHIELD_LOG_LEVEL ?? "info"}, outbox worker ${changed.SHIELD_WORKER ?? "on"}${sink ? "" : " (receipts as fsynced .eml files)"}`);
  const handles = [];
  const targets = [];
  try {
    // One after the other: the first migrates the database, the others find it ready.
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const nodeArgs = [];
      if (args["cpu-prof"]) {
        fs.mkdirSync(args["cpu-prof"], { recursive: true });
        nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${path.resolve(args["cpu-prof"])}`);
      }
      nodeArgs.push(path.resolve(root, args["shield-cli"]), "serve");
      const handle = startChild(`shield-${database}-${i + 1}`, nodeArgs, { ...env, ...changed, SHIELD_PORT: String(port) });
      handles.push(handle);
      const base = `http://127.0.0.1:${port}`;
      await waitUntil(handle, async () => (await fetch(`${base}/readyz`)).status === 200, "ready (/readyz)");
      targets.push({ url: `${base}/api/v1/reports`, pid: handle.child.pid });
    }
    const figures = await measure(count > 1 ? `shield ×${count}` : "shield", targets, { postgres: database === "postgres" });
    const workerOn = !["false", "0"].includes(changed.SHIELD_WORKER ?? "true");
    if (workerOn && drainSeconds > 0) {
      // Under load the worker gets few turns at the database; with the load gone, how fast
      // it works off the receipts shows what one receipt costs.
      log(`  shield: no load for ${drainSeconds} s, counting the receipts the worker writes meanwhile…`);
      // Receipt jobs finished, not mail files: one reporter address sends every report here, so
      // past its receipt limit (issue 12) its receipts are folded into a digest, not mailed each.
      const receiptJobsDone = async () =>
        database === "sqlite"
          ? (() => {
              const db = new Database(path.join(dataDir, "shield.db"), { readonly: true });
              try {
                return db.prepare("select count(*) as n from jobs where kind = 'mail.receipt' and state = 'done'").get().n;
              } finally {
                db.close();
              }
            })()
          : Number((await countPostgres(changed.DATABASE_URL, "select count(*) as n from jobs where kind = 'mail.receipt' and state = 'done'"))[0].n);
      const before = { eml: countReceipts(dataDir, sink), done: await receiptJobsDone(), cpu: handles.reduce((n, h) => n + cpuMs(h.child.pid), 0) };
      await sleep(drainSeconds * 1000);
      const cpu = handles.reduce((n, h) => n + cpuMs(h.child.pid), 0) - before.cpu;
      const written = countReceipts(dataDir, sink) - before.eml;
      const done = (await receiptJobsDone()) - before.done;
      figures.drain = { written, done, perSecond: done / drainSeconds, cpuPerReceipt: done > 0 ? cpu / done : NaN };
    }
    figures.peakRss = Math.max(...handles.map((h) => peakRssMiB(h.child.pid)));
    for (const handle of handles) await stopChild(handle);
    if (database === "sqlite") {
      const db = new Database(path.join(dataDir, "shield.db"), { readonly: true });
      figures.rows = db.prepare("select count(*) as n from reports").get().n;
      figures.jobs = db.prepare("select kind, state, count(*) as n from jobs group by kind, state order by kind, state").all();
      db.close();
    } else {
      figures.rows = Number((await countPostgres(changed.DATABASE_URL, "select count(*) as n from reports"))[0].n);
      figures.jobs = await countPostgres(changed.DATABASE_URL, "select kind, state, count(*) as n from jobs group by kind, state order by kind, state");
    }
    figures.receipts = countReceipts(dataDir, sink);
    if (sink) figures.smtpConnections = sink.connections;
    figures.logLines = 0;
    figures.logBytes = 0;
    figures.groupCommit = [];
    for (const handle of handles) {
      const logText = fs.readFileSync(handle.outFile, "utf8");
      figures.logLines += logText.split("\n").length - 1;
      figures.logBytes += Buffer.byteLength(logText);
      const line = readGroupCommitLine(handle.outFile);
      if (line) figures.groupCommit.push(line);
    }
    return figures;
  } finally {
    for (const handle of handles) await stopChild(handle);
    if (sink) await new Promise((resolve) => sink.server.close(resolve));
  }
}

const fmt = (n, digits = 1) => (n == null || Number.isNaN(n) ? "-" : n.toFixed(digits));

function printTable(rows) {
  const header = ["", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "CPU ms/req", "db CPU ms/req", "peak RSS MiB"];
  const lines = rows.map(([name, f]) => [name, fmt(f.reqPerSec), fmt(f.p50, 0), fmt(f.p90, 0), fmt(f.p99, 0), fmt(f.max, 0), String(f.non2xx), fmt(f.cpuPerRequest, 2), fmt(f.dbCpuPerRequest, 2), fmt(f.peakRss)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  log(row(header));
  for (const line of lines) log(row(line));
}

const verdict = (ok) => (ok ? "PASS" : "MISS");

function describeShield(label, shield) {
  const jobs = shield.jobs.map((j) => `${j.kind} ${j.state} ${j.n}`).join(", ") || "none";
  log(`${label} reports stored: ${shield.rows} (2xx answered: ${shield.answered2xx}); outbox jobs: ${jobs}; ${shield.smtpConnections === undefined ? `receipt .eml files: ${shield.receipts}` : `receipts at the SMTP sink: ${shield.receipts}, over ${shield.smtpConnections} SMTP connections`}`);
  if (shield.perProcess) {
    shield.perProcess.forEach((f, i) => log(`${label} process ${i + 1}: ${fmt(f.reqPerSec)} req/s, p50 ${fmt(f.p50, 0)} ms, p99 ${fmt(f.p99, 0)} ms, ${fmt(f.cpuPerRequest, 2)} CPU ms/req`));
    log(`${label} all processes: ${fmt(shield.reqPerSec)} req/s`);
  }
  for (const [i, gc] of shield.groupCommit.entries()) {
    log(`${label} group commit${shield.groupCommit.length > 1 ? ` (process ${i + 1})` : ""}: ${gc.batches} commits of ${fmt(gc.units / Math.max(1, gc.batches))} reports on average; the audit head held ${fmt(gc.headHeldMsPerCommit, 2)} ms per commit (p99 ${fmt(gc.headHeldMsP99, 1)} ms), commits ${fmt(gc.commitMsPerCommit, 2)} ms each`);
  }
  if (shield.drain) {
    log(
      `${label} receipts with no load: ${shield.drain.done} receipt jobs done in ${drainSeconds} s (${fmt(shield.drain.perSecond)}/s; ${shield.drain.written} mailed, the rest folded into the one reporter's digest past its receipt limit), ` +
        `${fmt(shield.drain.cpuPerReceipt, 2)} CPU ms per receipt job, with its notice job (target ≤ ${TARGET_RECEIPT_CPU_MS} ms, issue 12 item 9, which bench:flood measures with mailed receipts: ${verdict(shield.drain.cpuPerReceipt <= TARGET_RECEIPT_CPU_MS)})`,
    );
  }
  log(`${label} log: ${shield.logLines} lines, ${fmt(shield.logBytes / Math.max(1, shield.answered2xx), 0)} bytes per accepted report`);
}

async function main() {
  log(`intake bench: POST /api/v1/reports, ${BODY.length}-byte JSON body (description ${REPORT.description.length} chars), ${connections} connections, warm-up ${warmup} s + ${duration} s measured per server`);
  if (args.rate) log(`offered load: ${args.rate} requests/s in all (--rate), so req/s shows what was offered, not the ceiling`);
  log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}; load generator (autocannon) runs in this process on the same machine`);
  const loadBefore = describeLoad();
  log(`before: ${loadBefore.text}${loadBefore.busy ? " — the machine is busy with other work: expect low, scattered figures" : ""}`);
  const only = args.only;
  const results = [];
  const run = async (name, description, bench) => {
    log(`${name} (${description}):`);
    const figures = await bench();
    figures.loadAfter = describeLoad().text;
    log(`  ${figures.loadAfter}`);
    results.push([name, figures]);
    return figures;
  };
  const sqlite = args.sqlite !== "false";
  if (sqlite && only !== "shield") {
    await run("sqlite one-row", "bench/baseline-server.js: Fastify + better-sqlite3, WAL, synchronous=FULL, one insert, no validation, no logging", () => benchBaseline("one-row", "sqlite"));
    await run("sqlite same-work", "Fastify + better-sqlite3 with group commit: hashed token, row, FTS5 row, HMAC-chained audit event, two jobs, one transaction", () => benchBaseline("same-work", "sqlite"));
  }
  if (sqlite && only !== "baseline") await run("shield sqlite", `node ${args["shield-cli"]} serve`, () => benchShield("sqlite"));
  if (args.postgres) {
    if (only !== "shield") {
      await run("pg one-row", "Fastify + pg, pool of 10, one autocommitted insert", () => benchBaseline("one-row", "postgres"));
      await run("pg same-work", "Fastify + pg with group commit: one unnest insert per table per batch, audit head taken last", () => benchBaseline("same-work", "postgres"));
    }
    if (only !== "baseline") {
      await run("shield pg", `node ${args["shield-cli"]} serve, DATABASE_URL=postgres://…`, () => benchShield("postgres", 1));
      if (processes > 1) await run(`shield pg ×${processes}`, `${processes} × node ${args["shield-cli"]} serve on one database`, () => benchShield("postgres", processes));
    }
  }

  const loadAfter = describeLoad();
  log(`after: ${loadAfter.text}${loadAfter.busy ? " — the machine was busy with other work during the run: compare CPU ms/req rather than req/s" : ""}`);
  log();
  printTable(results);
  const figure = (name) => results.find(([n]) => n === name)?.[1];
  for (const [name, f] of results) if (name.includes("one-row") || name.includes("same-work")) log(`${name} rows stored: ${f.rows} (2xx answered: ${f.answered2xx})`);
  for (const [name, f] of results) if (name.startsWith("shield")) describeShield(name, f);
  log();
  const ratio = (a, b, key) => (a && b ? a[key] / b[key] : undefined);
  const atRate = Boolean(args.rate);
  const shieldSqlite = figure("shield sqlite");
  const sqliteSame = figure("sqlite same-work");
  const sqliteOne = figure("sqlite one-row");
  if (shieldSqlite && sqliteOne) log(`sqlite: shield ÷ one-row req/s ${fmt(ratio(shieldSqlite, sqliteOne, "reqPerSec"), 2)} (for reference)`);
  if (shieldSqlite && sqliteSame) {
    const r = ratio(shieldSqlite, sqliteSame, "reqPerSec");
    const p = ratio(shieldSqlite, sqliteSame, "p99");
    const c = ratio(shieldSqlite, sqliteSame, "cpuPerRequest");
    log(`sqlite: shield ÷ same-work req/s ${fmt(r, 2)}${atRate ? " (at a fixed offered rate: not a target figure)" : `  target ≥ ${SQLITE_TARGETS.ratio}  ${verdict(r >= SQLITE_TARGETS.ratio)}`}`);
    log(`sqlite: shield ÷ same-work p99   ${fmt(p, 2)}  target ≤ ${SQLITE_TARGETS.p99Ratio}  ${verdict(p <= SQLITE_TARGETS.p99Ratio)}`);
    log(`sqlite: shield ÷ same-work CPU   ${fmt(c, 2)}  target ≤ ${SQLITE_TARGETS.cpuRatio}  ${verdict(c <= SQLITE_TARGETS.cpuRatio)}`);
  }
  const pgOne = figure("pg one-row");
  const pgSame = figure("pg same-work");
  for (const [name, f] of results) {
    if (!name.startsWith("shield pg")) continue;
    if (pgSame) log(`postgres: ${name} ÷ same-work req/s ${fmt(ratio(f, pgSame, "reqPerSec"), 2)}, p99 ${fmt(ratio(f, pgSame, "p99"), 2)}, CPU ${fmt(ratio(f, pgSame, "cpuPerRequest"), 2)} (for reference)`);
    if (pgOne) {
      const r = ratio(f, pgOne, "reqPerSec");
      log(`postgres: ${name} ÷ one-row req/s ${fmt(r, 2)}${atRate ? " (at a fixed offered rate: not a target figure)" : `  target ≥ ${POSTGRES_TARGETS.ratio}  ${verdict(r >= POSTGRES_TARGETS.ratio)}`}`);
    }
    log(`postgres: ${name} p99 ${fmt(f.p99, 0)} ms at ${connections} connections  target ≤ ${POSTGRES_TARGETS.p99Ms} ms  ${verdict(f.p99 <= POSTGRES_TARGETS.p99Ms)}`);
  }
  const onePg = figure("shield pg");
  const manyPg = figure(`shield pg ×${processes}`);
  if (onePg && manyPg) log(`postgres: ${processes} processes ÷ 1 process req/s ${fmt(manyPg.reqPerSec / onePg.reqPerSec, 2)}  target ≥ 1  ${verdict(manyPg.reqPerSec >= onePg.reqPerSec)}`);
  if (shieldSqlite && !sqliteSame) log(`shield sqlite p99 ${fmt(shieldSqlite.p99, 0)} ms (no same-work baseline, no ratio)`);
  if (!atRate && results.some(([n]) => n.startsWith("shield"))) {
    log(`note: with ${connections} connections always waiting, mean latency = ${connections} ÷ req/s (Little's law), so p99 ≤ ${TARGET_P99_MS} ms needs well over ${fmt((connections * 1000) / TARGET_P99_MS, 0)} req/s`);
  }
  if (args["cpu-prof"]) log(`CPU profiles of the Shield processes in ${path.resolve(args["cpu-prof"])}`);
}

async function cleanUp() {
  for (const handle of [...children]) await stopChild(handle);
  await dropPostgresDatabases().catch((error) => log(`  ! could not drop the bench's PostgreSQL databases: ${error}`));
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
