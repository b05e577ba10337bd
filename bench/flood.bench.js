// `npm run bench:flood`: is Shield fair under a flood (issue 12, item 9)? One client
// (127.0.0.1) saturates the public intake while another (127.0.0.2) submits one report
// every second. Receipts go to an SMTP sink in this process, which notes when each
// report's receipt arrives. Printed: each client's receipt delays (from the 201 to the
// mail at the sink: p50, p99, max), and Shield's CPU milliseconds per receipt while it
// works off the flood's backlog, beside a bare nodemailer sender's (bench/receipt-baseline.js)
// measured in the same run. It is a measurement: exit 0 whether the targets hold or not.
//
// Options (after `npm run bench:flood --`):
//   --seconds=10 --connections=20   how long the flood lasts, its concurrent connections
//   --max-drain=180                 seconds to wait after the flood for its receipts
//   --cpu-prof=DIR                  write a V8 CPU profile of the Shield process into DIR
//   --shield-env=KEY=VALUE          extra Shield setting (repeatable)
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SMTPServer } from "smtp-server";
import { freePort, sleep } from "./support.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "20" },
    "max-drain": { type: "string", default: "180" },
    "cpu-prof": { type: "string" },
    "shield-env": { type: "string", multiple: true, default: [] },
  },
});
const floodSeconds = Number(args.seconds);
const connections = Number(args.connections);
const maxDrainMs = Number(args["max-drain"]) * 1000;
const TARGET_P99_MS = 10_000;
const TARGET_CPU_MS = 1;
const CLOCK_TICK_MS = 10; // /proc/<pid>/stat counts in USER_HZ (100 per second on Linux)

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), "shield-flood-"));
const log = (line = "") => process.stdout.write(`${line}\n`);
const progress = (line) => process.stderr.isTTY && process.stderr.write(`\r${line.padEnd(78)}`);

// The sink: when each report's receipt (subject "[#id] We received your report") arrived.
const arrived = new Map();
const sink = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, callback) {
    let head = "";
    stream.on("data", (chunk) => {
      if (head.length < 4096) head += chunk.toString("latin1");
    });
    stream.on("end", () => {
      const id = /^Subject: \[#(\d+)\] We received your report/m.exec(head)?.[1];
      if (id) arrived.set(Number(id), performance.now());
      callback();
    });
  },
});
await new Promise((resolve) => sink.listen(0, "127.0.0.1", resolve));
const smtpUrl = `smtp://127.0.0.1:${sink.server.address().port}`;

const port = await freePort();
const dataDir = path.join(temporaryRoot, "data");
const env = {
  ...process.env,
  SHIELD_DATA_DIR: dataDir,
  SHIELD_HOST: "127.0.0.1",
  SHIELD_PORT: String(port),
  SHIELD_BASE_URL: "https://security.example.test",
  SMTP_URL: smtpUrl,
  SHIELD_LOG_LEVEL: "warn",
  SHIELD_INTAKE_RATE_LIMIT: "1000000000",
  ...Object.fromEntries(args["shield-env"].map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
};
const nodeArgs = [...(args["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(args["cpu-prof"])}`] : []), "dist/cli/shield.js", "serve"];
const errFile = path.join(temporaryRoot, "shield.log");
const logFd = fs.openSync(errFile, "w");
const shield = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: ["ignore", logFd, logFd] });
const shieldExited = new Promise((resolve) => shield.once("exit", resolve));
const baseUrl = `http://127.0.0.1:${port}`;
for (const deadline = Date.now() + 30_000; ; ) {
  try {
    if ((await fetch(`${baseUrl}/readyz`)).status === 200) break;
  } catch {}
  if (Date.now() > deadline) throw new Error(`Shield did not start:\n${fs.readFileSync(errFile, "utf8")}`);
  await sleep(100);
}

/** CPU milliseconds the Shield process has used so far. */
function shieldCpuMs() {
  const fields = fs.readFileSync(`/proc/${shield.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

let counter = 0;
const body = () =>
  JSON.stringify({
    channel: "vulnerability",
    title: `Stored XSS in project settings ${++counter}`,
    description: "The project description is rendered without escaping on the admin overview page. ".repeat(16),
    reporter: { name: "Ada Researcher", email: `ada${counter}@example.org` },
  });

function post(agent) {
  return new Promise((resolve, reject) => {
    const payload = body();
    const req = http.request(`${baseUrl}/api/v1/reports`, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, id: res.statusCode === 201 ? JSON.parse(text).id : undefined, at: performance.now() }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

const floodAgent = new http.Agent({ keepAlive: true, maxSockets: connections });
const calmAgent = new http.Agent({ keepAlive: true, localAddress: "127.0.0.2" });
// Warm-up: a few reports from each client, their receipts sent before the measurement.
await Promise.all(Array.from({ length: 20 }, () => post(floodAgent)));
await post(calmAgent);
for (const deadline = Date.now() + 20_000; arrived.size < 21 && Date.now() < deadline; ) await sleep(100);

const flood = new Map(); // id → time of the 201
const calm = new Map();
let floodRefused = 0;
let floodOn = true;
let calmOn = true;
const floodStart = performance.now();
const floodLoops = Array.from({ length: connections }, async () => {
  while (floodOn) {
    const answer = await post(floodAgent);
    if (answer.id) flood.set(answer.id, answer.at);
    else floodRefused++;
  }
});
const calmLoop = (async () => {
  for (let next = performance.now(); calmOn; next += 1000) {
    await sleep(Math.max(0, next - performance.now()));
    const answer = await post(calmAgent);
    if (answer.id) calm.set(answer.id, answer.at);
  }
})();
while (performance.now() - floodStart < floodSeconds * 1000) {
  await sleep(250);
  progress(`flood: ${flood.size} reports, ${arrived.size} receipts at the sink`);
}
floodOn = false;
await Promise.all(floodLoops);
const floodEnd = performance.now();
const cpuAtFloodEnd = shieldCpuMs();
const arrivedAtFloodEnd = arrived.size;

// The backlog: the calm client keeps writing once a second until the flood's receipts are out.
const drainStart = performance.now();
while ([...flood.keys()].some((id) => !arrived.has(id)) && performance.now() - drainStart < maxDrainMs) {
  await sleep(250);
  progress(`backlog: ${[...flood.keys()].filter((id) => !arrived.has(id)).length} receipts waiting`);
}
const drainEnd = performance.now();
const cpuAtDrainEnd = shieldCpuMs();
const arrivedAtDrainEnd = arrived.size;
calmOn = false;
await calmLoop;
for (const deadline = Date.now() + 15_000; [...calm.keys()].some((id) => !arrived.has(id)) && Date.now() < deadline; ) await sleep(100);
progress("");
if (process.stderr.isTTY) process.stderr.write("\r");

shield.kill("SIGTERM");
await shieldExited;
floodAgent.destroy();
calmAgent.destroy();

// The bare baseline, in the same run, to the same sink.
const baselineCount = 2000;
const baseline = await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, ["bench/receipt-baseline.js"], { cwd: root, env: { ...process.env, SMTP_URL: smtpUrl, COUNT: String(baselineCount) }, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`baseline exited ${code}`))));
});
sink.close();

function delays(answers) {
  const list = [...answers].map(([id, at]) => (arrived.has(id) ? arrived.get(id) - at : Infinity)).sort((a, b) => a - b);
  const at = (q) => list[Math.min(list.length - 1, Math.ceil(q * list.length) - 1)];
  return { count: list.length, missing: list.filter((d) => d === Infinity).length, p50: at(0.5), p99: at(0.99), max: list.at(-1) };
}
const seconds = (ms) => (ms === Infinity ? "never" : `${(ms / 1000).toFixed(2)} s`);
const row = (name, d) => `${name.padEnd(26)}${String(d.count).padStart(8)}${String(d.missing).padStart(9)}${seconds(d.p50).padStart(11)}${seconds(d.p99).padStart(11)}${seconds(d.max).padStart(11)}`;
if (process.env.FLOOD_TIMELINE) {
  const perSecond = new Map();
  for (const at of arrived.values()) perSecond.set(Math.floor((at - floodStart) / 1000), (perSecond.get(Math.floor((at - floodStart) / 1000)) ?? 0) + 1);
  log(`receipts per second since the flood began: ${[...perSecond].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(" ")}`);
}
const calmDelays = delays(calm);
const floodDelays = delays(flood);
const drained = arrivedAtDrainEnd - arrivedAtFloodEnd;
const cpuPerReceipt = drained > 0 ? (cpuAtDrainEnd - cpuAtFloodEnd) / drained : NaN;

log(`Flood: ${connections} connections for ${floodSeconds} s from 127.0.0.1: ${flood.size} reports stored (${Math.round(flood.size / ((floodEnd - floodStart) / 1000))}/s), ${floodRefused} refused.`);
log(`Second client: one report a second from 127.0.0.2 until the flood's receipts were out (${seconds(drainEnd - floodStart)} in all).`);
log("");
log(`${"receipt delay".padEnd(26)}${"reports".padStart(8)}${"no mail".padStart(9)}${"p50".padStart(11)}${"p99".padStart(11)}${"max".padStart(11)}`);
log(row("second client (1/s)", calmDelays));
log(row("flood", floodDelays));
log("");
log(`Backlog after the flood: ${drained} receipts in ${seconds(drainEnd - drainStart)} (${Math.round(drained / ((drainEnd - drainStart) / 1000))}/s)`);
log(`CPU per receipt, Shield working off the backlog: ${cpuPerReceipt.toFixed(2)} ms (all of Shield's process: worker, claims, the second client's intake; each report also mails the team a notice, to the security address while no team exists)`);
log(`CPU per mail, bare nodemailer pool to the same sink: ${baseline.cpuMsPerMail.toFixed(2)} ms (${Math.round(baseline.mailsPerSecond)}/s); ratio Shield/bare ${(cpuPerReceipt / baseline.cpuMsPerMail).toFixed(2)}`);
log("");
log(`Target: second client's receipts within 10 s at p99: ${calmDelays.p99 <= TARGET_P99_MS ? "met" : "NOT met"} (${seconds(calmDelays.p99)})`);
log(`Target: at most 1 CPU ms per receipt: ${cpuPerReceipt <= TARGET_CPU_MS ? "met" : "NOT met"} (${cpuPerReceipt.toFixed(2)} ms)`);
const failures = fs.readFileSync(errFile, "utf8").split("\n").filter((line) => line.includes("job failed")).length;
if (failures) log(`Shield logged ${failures} failed jobs (log kept: ${errFile})`);
else fs.rmSync(temporaryRoot, { recursive: true, force: true });
process.exit(0);
