// `npm run bench:queue`: the team's queue and search on a SQLite database of a million
// reports, through a real Shield process, against the same queries run bare with
// better-sqlite3 in this process (the baseline), in one run on this machine.
//
// 1. A fresh data directory; `shield migrate` creates the schema.
// 2. The reports are inserted with better-sqlite3 in large transactions. Everything Shield
//    derives from a report is kept as Shield keeps it: `next_deadline_at` comes from the
//    app's own `computeNextDeadline` (dist/), the full-text index from migration 007's
//    triggers, and the `report_deadline_basis` row from `deadlineBasisOf`, so Shield finds
//    nothing to recompute when it starts.
// 3. Shield serves the file (worker off: the bench measures reads, not the minute check)
//    and each scenario is requested sequentially with a viewer's bearer token; the same
//    SELECT is then timed bare (for the search: the statements Shield's `listReports` runs,
//    read from Kysely's log, since its plan depends on how many reports match). p50/p95/p99,
//    Shield's peak memory (VmHWM) and the ratio of p95s are printed, with PASS/MISS against
//    the target (p95 < 50 ms).
//
// It is a measurement: the exit code is 0 whether the target is met or not.
//
// Options (after `npm run bench:queue --`):
//   --reports=1000000   how many reports to insert
//   --requests=200      measured requests per scenario (after --warmup=20)
//   --keep              keep the data directory and print where (reuse it with --data=DIR)
//   --data=DIR          use a filled data directory from an earlier --keep run (skips the fill)
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import { freePort } from "./support.js";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => path.join(root, "dist", p);
const { computeNextDeadline, deadlineBasisOf } = await import(dist("modules/reports/next-deadline.js"));
const { DEFAULT_SETTINGS } = await import(dist("modules/settings/settings.js"));
const { searchWords } = await import(dist("modules/reports/report-search.js"));
const { listReports } = await import(dist("modules/reports/report.repository.js"));

const { values: args } = parseArgs({
  options: {
    reports: { type: "string", default: "1000000" },
    requests: { type: "string", default: "200" },
    warmup: { type: "string", default: "20" },
    keep: { type: "boolean", default: false },
    data: { type: "string" },
  },
});
const REPORTS = Number(args.reports);
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const TARGET_P95_MS = 50;
const DAY = 86_400_000;

// ---- data ---------------------------------------------------------------------------

/** A deterministic generator, so that two runs fill the same database. */
let seed = 0x2f6e2b1;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];

// Security words first (frequent), then a long tail of made-up words so that the index
// has many terms of every frequency, as real text does.
const COMMON = (
  "the a of in to and is on with when by for an user page request server admin account password token session cookie header " +
  "stored reflected xss csrf ssrf sql injection redirect open bypass authentication authorization access control privilege escalation " +
  "remote code execution upload file path traversal api endpoint parameter response leak disclosure email reset link invite " +
  "oauth callback state missing validation rate limit brute force enumeration subdomain takeover dns certificate tls webhook " +
  "report export import billing invoice project settings profile avatar comment attachment preview markdown render script " +
  "browser mobile android ios desktop integration slack calendar search filter sort pagination graphql json xml deserialization"
).split(" ");
const SYLLABLES = "ka lo mi ne ru sa ti vo ze pa qu bri dra fen gol hin jux kor lum mev nor pix"
  .split(" ");
const RARE = [];
for (let i = 0; i < 20000; i++) RARE.push(pick(SYLLABLES) + pick(SYLLABLES) + pick(SYLLABLES) + (i % 7));
/** Zipf-like: the common words most of the time, the tail the rest. */
function word() {
  const r = random();
  if (r < 0.8) return COMMON[Math.floor(COMMON.length * random() * random())];
  return RARE[Math.floor(RARE.length * random() * random())];
}
function sentence(min, max) {
  const n = min + Math.floor(random() * (max - min + 1));
  const out = [];
  for (let i = 0; i < n; i++) out.push(word());
  return out.join(" ");
}

const CHANNELS = [
  ["vulnerability", 0.7],
  ["support", 0.15],
  ["sensitive", 0.1],
  ["account_attack", 0.05],
];
function channel() {
  let r = random();
  for (const [name, share] of CHANNELS) if ((r -= share) < 0) return name;
  return "vulnerability";
}
const SEVERITIES = ["critical", "high", "medium", "medium", "low", "low", "none"];
const CLOSED = ["duplicate", "informative", "not_applicable", "spam"];

/** One report row as Shield would have stored it by `now`: lifecycle dates in order, the derived deadline computed by the app. */
function buildReport(i, now) {
  // Three years of history, denser towards now; about 2 % still open.
  const ageMs = Math.floor(3 * 365 * DAY * Math.pow(random(), 1.6));
  const receivedMs = now - ageMs;
  const ch = channel();
  const iso = (ms) => new Date(Math.min(ms, now)).toISOString();
  const r = {
    channel: ch,
    state: "new",
    severity: null,
    receivedAt: iso(receivedMs),
    acknowledgedAt: null,
    triagedAt: null,
    resolvedAt: null,
    closedAt: null,
    disclosedAt: null,
    needsInfoSince: null,
    pausedMs: 0,
    ownerId: null,
  };
  const openChance = ageMs < 30 * DAY ? 0.5 : 0.01;
  const roll = random();
  if (ch === "support") {
    r.state = "routed_to_support";
    r.closedAt = iso(receivedMs + 3_600_000);
  } else if (roll < openChance) {
    const step = random();
    r.state = step < 0.3 ? "new" : step < 0.6 ? "acknowledged" : step < 0.7 ? "needs_info" : "triaged";
    if (r.state !== "new") {
      r.ownerId = 1;
      r.acknowledgedAt = iso(receivedMs + random() * 80 * 3_600_000);
    }
    if (r.state === "needs_info") r.needsInfoSince = iso(receivedMs + 90 * 3_600_000);
    if (r.state === "triaged") {
      r.severity = pick(SEVERITIES);
      r.triagedAt = iso(receivedMs + random() * 12 * DAY);
    }
  } else if (random() < 0.35) {
    r.state = pick(CLOSED);
    r.closedAt = iso(receivedMs + random() * 5 * DAY);
  } else {
    r.ownerId = 1;
    r.severity = pick(SEVERITIES.slice(0, 6));
    r.acknowledgedAt = iso(receivedMs + random() * 80 * 3_600_000);
    r.triagedAt = iso(receivedMs + 90 * 3_600_000 + random() * 10 * DAY);
    r.resolvedAt = iso(receivedMs + 12 * DAY + random() * 60 * DAY);
    r.state = random() < 0.4 ? "disclosed" : "resolved";
    if (r.state === "disclosed") r.disclosedAt = iso(receivedMs + 80 * DAY);
  }
  r.updatedAt = [r.receivedAt, r.acknowledgedAt, r.triagedAt, r.resolvedAt, r.closedAt, r.disclosedAt, r.needsInfoSince].filter(Boolean).sort().at(-1);
  r.nextDeadlineAt = computeNextDeadline(r, DEFAULT_SETTINGS, new Date(now));
  r.title = sentence(5, 10);
  r.description = sentence(25, 60);
  // Ascending stand-ins for the SHA-256 of a tracking token: the same width and index, but
  // appended in order, which keeps the fill fast (a real one is looked up, never scanned).
  r.trackingHash = i.toString(16).padStart(64, "0");
  return r;
}

function run(cmd, argv, env) {
  return execFileSync(cmd, argv, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function fill(dataDir, dbFile) {
  const env = { SHIELD_DATA_DIR: dataDir, DATABASE_URL: dbFile, SHIELD_LOG_LEVEL: "warn" };
  run(process.execPath, [dist("cli/shield.js"), "migrate"], env);
  run(process.execPath, [dist("cli/shield.js"), "user", "add", "owner@bench.test", "--role", "triager"], env);
  run(process.execPath, [dist("cli/shield.js"), "user", "add", "viewer@bench.test", "--role", "viewer"], env);
  const token = JSON.parse(run(process.execPath, [dist("cli/shield.js"), "token", "create", "viewer@bench.test", "--json"], env)).token;
  fs.writeFileSync(path.join(dataDir, "bench-token"), token);

  const db = new Database(dbFile);
  // Loading only: the bench's own file, nothing acknowledged to anyone is at stake.
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  const ownerId = db.prepare("select id from users where email = 'owner@bench.test'").get().id;
  const insert = db.prepare(`insert into reports (channel, state, source, title, description, reporter_name, reporter_email, severity, owner_id,
    tracking_hash, received_at, acknowledged_at, triaged_at, resolved_at, closed_at, disclosed_at, needs_info_since, state_before_needs_info, paused_ms, updated_at, next_deadline_at)
    values (@channel, @state, 'api', @title, @description, 'Bench Reporter', 'reporter@bench.test', @severity, @ownerId,
    @trackingHash, @receivedAt, @acknowledgedAt, @triagedAt, @resolvedAt, @closedAt, @disclosedAt, @needsInfoSince, @stateBeforeNeedsInfo, @pausedMs, @updatedAt, @nextDeadlineAt)`);
  const now = Date.now();
  const BATCH = 50_000;
  const started = performance.now();
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const r = buildReport(i, now);
      insert.run({ ...r, ownerId: r.ownerId == null ? null : ownerId, stateBeforeNeedsInfo: r.state === "needs_info" ? "acknowledged" : null });
    }
  });
  for (let from = 0; from < REPORTS; from += BATCH) {
    batch(from, Math.min(REPORTS, from + BATCH));
    const done = Math.min(REPORTS, from + BATCH);
    const s = (performance.now() - started) / 1000;
    process.stdout.write(`\r  filled ${done.toLocaleString("en")} / ${REPORTS.toLocaleString("en")} reports (${s.toFixed(0)} s, ${Math.round(done / s).toLocaleString("en")}/s)`);
  }
  process.stdout.write("\n");
  // Shield puts each new report into the full-text index as it stores it (insertReport);
  // the fill does it for all of them at once.
  process.stdout.write("  indexing the reports' text…");
  db.exec("insert into report_search (rowid, title, description, messages) select id, title, description, '' from reports");
  process.stdout.write(` done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  db.prepare("insert into report_deadline_basis (id, targets, updated_at) values (1, ?, ?) on conflict (id) do update set targets = excluded.targets").run(
    deadlineBasisOf(DEFAULT_SETTINGS),
    new Date(now).toISOString(),
  );
  db.exec("analyze");
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return (performance.now() - started) / 1000;
}

// ---- measuring ----------------------------------------------------------------------

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

function peakMemoryMb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function startShield(dataDir, dbFile) {
  const port = await freePort();
  const child = spawn(process.execPath, [dist("cli/shield.js"), "serve"], {
    cwd: root,
    env: { ...process.env, SHIELD_DATA_DIR: dataDir, DATABASE_URL: dbFile, SHIELD_PORT: String(port), SHIELD_HOST: "127.0.0.1", SHIELD_WORKER: "false", SHIELD_LOG_LEVEL: "warn", SHIELD_API_RATE_LIMIT: "1000000000" },
    stdio: ["ignore", "ignore", fs.openSync(path.join(dataDir, "shield.log"), "a")],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Shield exited (${child.exitCode}); see ${dataDir}/shield.log`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {}
    if (Date.now() > deadline) throw new Error("Shield did not start within 2 minutes");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function timeRequests(url, token) {
  const samples = [];
  let last;
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const t = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    last = await response.json();
    if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(last)}`);
    if (i >= WARMUP) samples.push(performance.now() - t);
  }
  return { samples, last };
}

/** The statements (text and parameters) Shield's `listReports` runs for `filter` on this database, as Kysely logs them. */
async function statementsOf(dbFile, filter) {
  const statements = [];
  const db = new Kysely({
    dialect: new SqliteDialect({ database: new Database(dbFile, { readonly: true }) }),
    log: (event) => statements.push({ sql: event.query.sql, parameters: event.query.parameters }),
  });
  try {
    await listReports(db, filter);
  } finally {
    await db.destroy();
  }
  return statements;
}

function timeBare(fn) {
  const samples = [];
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const t = performance.now();
    fn();
    if (i >= WARMUP) samples.push(performance.now() - t);
  }
  return samples;
}

// ---- main ---------------------------------------------------------------------------

const dataDir = args.data ?? fs.mkdtempSync(path.join(os.tmpdir(), "shield-bench-queue-"));
const dbFile = path.join(dataDir, "shield.db");
console.log(`bench:queue — ${os.cpus().length} CPUs, Node ${process.version}`);
if (!args.data) {
  console.log(`Filling ${REPORTS.toLocaleString("en")} reports into ${dbFile}`);
  const seconds = fill(dataDir, dbFile);
  console.log(`  done in ${seconds.toFixed(0)} s; file ${(fs.statSync(dbFile).size / 1e6).toFixed(0)} MB`);
}
const token = fs.readFileSync(path.join(dataDir, "bench-token"), "utf8").trim();

const SEARCH = "password reset";
const scenarios = [
  {
    name: "queue (sort=deadline, limit=50)",
    path: "/api/v1/reports?sort=deadline&limit=50",
    sql: "select * from reports order by (next_deadline_at is null), next_deadline_at, id limit 50",
  },
  {
    name: "filtered queue (state=new, channel=vulnerability)",
    path: "/api/v1/reports?sort=deadline&state=new&channel=vulnerability&limit=50",
    sql: "select * from reports where +state in ('new') and +channel in ('vulnerability') order by (next_deadline_at is null), next_deadline_at, id limit 50",
  },
  {
    name: "newest first, state=new (the API's default order)",
    path: "/api/v1/reports?state=new&limit=50",
    statements: await statementsOf(dbFile, { states: ["new"], limit: 50, offset: 0 }),
  },
  {
    name: "newest first, open, channel=sensitive, page 5",
    path: "/api/v1/reports?state=new,acknowledged,triaged&channel=sensitive&limit=50&offset=200",
    statements: await statementsOf(dbFile, { states: ["new", "acknowledged", "triaged"], channels: ["sensitive"], limit: 50, offset: 200 }),
  },
  {
    name: `search q="${SEARCH}" (newest first)`,
    path: `/api/v1/reports?q=${encodeURIComponent(SEARCH)}&limit=50`,
    statements: await statementsOf(dbFile, { words: searchWords(SEARCH), limit: 50, offset: 0 }),
  },
];

let shield;
const results = [];
try {
  shield = await startShield(dataDir, dbFile);
  console.log(`Shield is serving ${shield.url} (pid ${shield.child.pid}); ${REQUESTS} sequential requests per scenario after ${WARMUP} warm-up`);
  for (const s of scenarios) {
    const { samples, last } = await timeRequests(shield.url + s.path, token);
    s.total = `${last.total.toLocaleString("en")}${last.totalIsExact === false ? "+" : ""}`;
    s.shield = summarise(samples);
  }
  const memory = peakMemoryMb(shield.child.pid);

  const bare = new Database(dbFile, { readonly: true });
  for (const s of scenarios) {
    const statements = (s.statements ?? [{ sql: s.sql, parameters: [] }]).map(({ sql, parameters }) => ({ statement: bare.prepare(sql), sql, parameters }));
    s.bare = summarise(timeBare(() => statements.forEach(({ statement, parameters }) => statement.all(...parameters))));
    s.plan = statements.map(({ sql, parameters }) => bare.prepare(`explain query plan ${sql}`).all(...parameters).map((r) => r.detail).join(" / "));
  }
  bare.close();

  const f = (ms) => `${ms.toFixed(1)} ms`.padStart(9);
  console.log("");
  console.log(`${"scenario".padEnd(52)} ${"p50".padStart(9)} ${"p95".padStart(9)} ${"p99".padStart(9)} | bare p50  bare p95 | ratio p95 | target`);
  for (const s of scenarios) {
    const verdict = s.shield.p95 < TARGET_P95_MS ? "PASS" : "MISS";
    results.push(verdict);
    console.log(
      `${s.name.padEnd(52)} ${f(s.shield.p50)} ${f(s.shield.p95)} ${f(s.shield.p99)} | ${f(s.bare.p50)} ${f(s.bare.p95)} | ${(s.shield.p95 / s.bare.p95).toFixed(1).padStart(8)}x | ${verdict} (p95 < ${TARGET_P95_MS} ms; ${s.total} matching)`,
    );
  }
  console.log(`Shield peak memory (VmHWM): ${memory.toFixed(0)} MB`);
  console.log("");
  console.log("Query plans of the bare queries:");
  for (const s of scenarios) console.log(`  ${s.name}: ${s.plan.join("\n    then: ")}`);
} finally {
  if (shield) {
    shield.child.kill("SIGTERM");
    await new Promise((r) => shield.child.once("exit", r));
  }
  if (args.keep || args.data) console.log(`Data kept in ${dataDir}`);
  else fs.rmSync(dataDir, { recursive: true, force: true });
}
console.log(results.every((r) => r === "PASS") ? "PASS" : "MISS");
