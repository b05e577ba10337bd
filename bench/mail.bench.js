// `npm run bench:mail`: the SMTP listener's throughput and latency (issue 13). Postfix's
// smtp-source sends N messages over C connections to Shield's listener, and in the same run
// to a bare smtp-server sink (bench/mail-sink.js) that writes and fsyncs each raw message
// before its 250. The two run one after the other as child processes, never together.
// Printed for both: messages/s, the time from the end of DATA to the 250 (p50, p99, max,
// measured for every message by a small proxy in this process that both sides go through),
// CPU ms per message of the server process; then the ratio of the rates and whether Shield
// stored as many reports as it answered 250s. It is a measurement: exit 0 whether the
// targets (ratio ≥ 0.5, p99 ≤ 200 ms at 20 connections, reports = 250s) hold or not.
//
// Shield runs with its outbox worker off (receipts are queued, not sent), SPF/DKIM/DMARC
// asking a DNS that answers "no such name" (test/offline-dns.mjs: no network), its
// per-address limits opened (all mail comes from 127.0.0.1, as from an MX in front of it).
//
// Options (after `npm run bench:mail --`):
//   --messages=5000 --connections=20   N and C
//   --size=0                           smtp-source -l: extra body bytes per message
//   --warmup=100                       messages sent to each server first, not measured
//   --postgres                         Shield on a fresh PostgreSQL database made from SHIELD_BENCH_POSTGRES_URL
//                                      (default postgres://root@127.0.0.1:5432/test) instead of SQLite
//   --cpu-prof=DIR                     write a V8 CPU profile of the Shield process into DIR
//   --shield-env=KEY=VALUE             extra Shield setting (repeatable)
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, promisify } from "node:util";
import pg from "pg";
import { cpuMs, describeLoad, freePort, sleep } from "./support.js";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "5000" },
    connections: { type: "string", default: "20" },
    size: { type: "string", default: "0" },
    warmup: { type: "string", default: "100" },
    postgres: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    "shield-env": { type: "string", multiple: true, default: [] },
  },
});
const messages = Number(args.messages);
const connections = Number(args.connections);
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 200;
const log = (line = "") => process.stdout.write(`${line}\n`);
const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), "shield-mail-bench-"));

for (const tool of ["/usr/sbin/smtp-source"]) {
  if (!fs.existsSync(tool)) {
    log(`bench:mail needs ${tool} (Debian's postfix package; .ci/run installs it)`);
    process.exit(1);
  }
}

/**
 * A TCP proxy in front of `targetPort` that times, for each message, the end of its DATA
 * (the client's "\r\n.\r\n" after a 354) until the server's reply, and counts 250s.
 */
async function startTimingProxy(targetPort) {
  const figures = { latencies: [], replies250: 0, otherReplies: new Map() };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    let inData = false;
    let sentAt = null;
    let tail = "";
    let lines = "";
    client.on("data", (chunk) => {
      upstream.write(chunk);
      if (!inData) return;
      const text = tail + chunk.toString("latin1");
      if (text.includes("\r\n.\r\n")) {
        inData = false;
        sentAt = performance.now();
        tail = "";
      } else tail = text.slice(-4);
    });
    upstream.on("data", (chunk) => {
      client.write(chunk);
      lines += chunk.toString("latin1");
      let end;
      while ((end = lines.indexOf("\r\n")) >= 0) {
        const line = lines.slice(0, end);
        lines = lines.slice(end + 2);
        if (sentAt !== null && /^\d{3} /.test(line)) {
          figures.latencies.push(performance.now() - sentAt);
          sentAt = null;
          if (line.startsWith("250")) figures.replies250++;
          else figures.otherReplies.set(line.slice(0, 3), (figures.otherReplies.get(line.slice(0, 3)) ?? 0) + 1);
        } else if (line.startsWith("354")) {
          inData = true;
          tail = "\r\n"; // the body may begin with "." on its own line only after a CRLF
        }
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    figures,
    reset() {
      figures.latencies = [];
      figures.replies250 = 0;
      figures.otherReplies = new Map();
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function smtpSource(port, count) {
  const started = performance.now();
  // -d: each session keeps its connection for its messages, as Postfix's connection cache does.
  await run("/usr/sbin/smtp-source", ["-d", "-s", String(connections), "-m", String(count), ...(args.size === "0" ? [] : ["-l", args.size]), "-f", "flood@flood.example.net", "-t", "security@example.com", "-M", "flood.example.net", `127.0.0.1:${port}`], { timeout: 3_600_000 });
  return (performance.now() - started) / 1000;
}

/** Measures one server already listening on `port` (process `pid`): warm-up, then N messages over C connections. */
async function measure(name, port, pid) {
  const proxy = await startTimingProxy(port);
  if (Number(args.warmup) > 0) await smtpSource(proxy.port, Number(args.warmup));
  const warmup250 = proxy.figures.replies250;
  proxy.reset();
  const cpuBefore = cpuMs(pid);
  const seconds = await smtpSource(proxy.port, messages);
  const cpu = cpuMs(pid) - cpuBefore;
  await sleep(200);
  await proxy.close();
  const sorted = [...proxy.figures.latencies].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return {
    name,
    seconds,
    rate: proxy.figures.replies250 / seconds,
    replies250: proxy.figures.replies250,
    warmup250,
    other: [...proxy.figures.otherReplies].map(([code, n]) => `${n}×${code}`).join(" "),
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? NaN,
    cpuPerMessage: cpu / Math.max(1, proxy.figures.replies250),
  };
}

function spawnLogged(file, argv, env) {
  const fd = fs.openSync(path.join(temporaryRoot, file), "w");
  const child = spawn(process.execPath, argv, { cwd: root, env, stdio: ["ignore", "pipe", fd] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, exited };
}

log(`node ${process.version}, ${os.cpus().length} cores; ${describeLoad().text} at the start`);
log(`smtp-source: ${messages} messages (after ${args.warmup} to warm up) over ${connections} connections, each connection reused (-d), body ${args.size === "0" ? "smtp-source's default" : `${args.size} bytes`}`);

// The bare sink.
const sinkPort = await freePort();
const sinkDir = path.join(temporaryRoot, "sink");
fs.mkdirSync(sinkDir);
const sink = spawnLogged("sink.log", ["bench/mail-sink.js"], { ...process.env, PORT: String(sinkPort), DIR: sinkDir });
await new Promise((resolve) => sink.child.stdout.once("data", resolve));
const bare = await measure("bare smtp-server + fsync", sinkPort, sink.child.pid);
sink.child.kill("SIGTERM");
await sink.exited;
fs.rmSync(sinkDir, { recursive: true, force: true });

// Shield.
let databaseUrl;
let dropDatabase = async () => {};
if (args.postgres) {
  const adminUrl = process.env.SHIELD_BENCH_POSTGRES_URL ?? "postgres://root@127.0.0.1:5432/test";
  const name = `shield_mail_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  databaseUrl = url.href;
  dropDatabase = async () => {
    const again = new pg.Client({ connectionString: adminUrl });
    await again.connect();
    await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await again.end();
  };
}
const dataDir = path.join(temporaryRoot, "data");
const smtpPort = await freePort();
const httpPort = await freePort();
const shieldEnv = {
  ...process.env,
  SHIELD_DATA_DIR: dataDir,
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  SHIELD_HOST: "127.0.0.1",
  SHIELD_PORT: String(httpPort),
  SHIELD_BASE_URL: "https://security.example.com",
  SHIELD_LOG_LEVEL: "warn",
  SHIELD_WORKER: "false",
  SHIELD_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
  SHIELD_SMTP_MAX_CONNECTIONS: String(connections + 10),
  SHIELD_SMTP_MESSAGES_PER_MINUTE: "1000000000",
  NODE_OPTIONS: `--import=${pathToFileURL(path.join(root, "test", "offline-dns.mjs")).href}`,
  ...Object.fromEntries(args["shield-env"].map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
};
const nodeArgs = [...(args["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(args["cpu-prof"])}`] : []), "dist/cli/shield.js", "serve"];
const shield = spawnLogged("shield.log", nodeArgs, shieldEnv);
for (const deadline = Date.now() + 60_000; ; ) {
  try {
    if ((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200) break;
  } catch {}
  if (Date.now() > deadline) throw new Error(`Shield did not start:\n${fs.readFileSync(path.join(temporaryRoot, "shield.log"), "utf8")}`);
  await sleep(100);
}
const ours = await measure(`Shield (${args.postgres ? "PostgreSQL" : "SQLite"})`, smtpPort, shield.child.pid);
shield.child.kill("SIGTERM");
await shield.exited;

// What Shield stored, read from its database after it stopped.
const { loadConfig } = await import(pathToFileURL(path.join(root, "dist", "config.js")).href);
const { openDatabase } = await import(pathToFileURL(path.join(root, "dist", "platform", "db", "database.js")).href);
const config = loadConfig({ SHIELD_DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
const database = openDatabase(config.database);
const countOf = async (table) => Number((await database.db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
const reports = await countOf("reports");
const inbound = await countOf("inbound_messages");
await database.close();
await dropDatabase();

const ms = (v) => (Number.isNaN(v) ? "-" : `${v.toFixed(1)} ms`);
log("");
log(`${"".padEnd(28)}${"msg/s".padStart(9)}${"250s".padStart(7)}${"p50 DATA→250".padStart(15)}${"p99".padStart(11)}${"max".padStart(11)}${"CPU/msg".padStart(11)}  other replies`);
for (const r of [bare, ours]) {
  log(`${r.name.padEnd(28)}${r.rate.toFixed(1).padStart(9)}${String(r.replies250).padStart(7)}${ms(r.p50).padStart(15)}${ms(r.p99).padStart(11)}${ms(r.max).padStart(11)}${ms(r.cpuPerMessage).padStart(11)}  ${r.other || "none"}`);
}
const ratio = ours.rate / bare.rate;
const answered = ours.warmup250 + ours.replies250;
const verdict = (ok) => (ok ? "PASS" : "MISS");
log("");
log(`  ${verdict(ratio >= TARGET_RATIO)}  ratio Shield/bare ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO})`);
log(`  ${verdict(ours.p99 <= TARGET_P99_MS)}  Shield p99 from the end of DATA to 250 at ${connections} connections: ${ms(ours.p99)} (target ≤ ${TARGET_P99_MS} ms)`);
log(`  ${verdict(reports === answered && inbound === answered)}  reports stored ${reports}, messages stored ${inbound}, 250s answered ${answered} (warm-up included)`);
log(`${describeLoad().text} at the end`);
fs.rmSync(temporaryRoot, { recursive: true, force: true });
process.exit(0);
