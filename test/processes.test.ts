import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/platform/db/database.js";
import { systemClock } from "../src/shared/clock.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runShieldJson, startShieldServer, waitFor, type ServerProcess } from "./cli.js";
import { createTestDatabase, forEachDatabase, testDatabaseKinds, type TestDatabase } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { GOOD_PASSWORD, totpCodeAt } from "./sign-in.js";
import { startSmtpRelay, type SmtpRelay } from "./smtp-relay.js";

/**
 * Shield as operators run it: `node dist/cli/shield.js serve` in its own process, killed,
 * restarted, two at a time, with real mail. Each test cleans up its processes.
 */
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const running = new Set<ServerProcess>();
async function start(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startShieldServer(env);
  running.add(server);
  void server.exited.then(() => running.delete(server));
  return server;
}
afterAll(async () => {
  await Promise.all([...running].map((s) => s.stop("SIGKILL")));
});

const scratch: string[] = [];
function scratchDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-proc-"));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

/** A master key shared by processes on one database, as the README asks of operators. */
const masterKey = () => randomBytes(32).toString("base64");

interface Answer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: { connection: "close", ...options.headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, text, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const postReport = (server: ServerProcess, input: object) =>
  request(`${server.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(input) });

/** Posts a report and SIGKILLs the server the moment the 201's status line arrives. */
function postReportAndKillOn201(server: ServerProcess, input: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json", connection: "close" } }, (res) => {
      if (res.statusCode === 201) server.child.kill("SIGKILL");
      res.resume();
      resolve(res.statusCode!);
    });
    req.on("error", reject);
    req.end(JSON.stringify(input));
  });
}

/**
 * A team member with an API token, made the way an operator makes one: with the CLI. A
 * fresh database gets its schema first (`shield migrate`): the other commands refuse a
 * database Shield has not set up rather than create one.
 */
async function createMemberWithCli(env: Record<string, string>, role: string): Promise<string> {
  const email = `${role}-${randomBytes(3).toString("hex")}@team.example.test`;
  await runShieldJson(["migrate"], env);
  await runShieldJson(["user", "add", email, "--role", role], env);
  const { token } = await runShieldJson<{ token: string }>(["token", "create", email], env);
  return token;
}


forEachDatabase((kind) => {
  describe("durability", () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(kind);
    });
    afterAll(async () => database.drop());

    it("keeps every report that was answered 201, even when the server is killed with SIGKILL right after", async () => {
      const env = { DATABASE_URL: database.url, SHIELD_DATA_DIR: scratchDir(), SHIELD_MASTER_KEY: masterKey() };
      const token = await createMemberWithCli(env, "triager");
      const submitted = [];
      for (let round = 0; round < 3; round++) {
        const server = await start(env);
        const input = buildReportInput({ title: `Survives kill -9, round ${round} ${randomBytes(4).toString("hex")}` });
        expect(await postReportAndKillOn201(server, input)).toBe(201);
        expect(await server.exited).toMatchObject({ signal: "SIGKILL" });
        submitted.push(input);
      }

      const server = await start(env);
      const auth = { authorization: `Bearer ${token}` };
      const list = JSON.parse((await request(`${server.baseUrl}/api/v1/reports?limit=200`, { headers: auth })).text);
      for (const input of submitted) {
        const summary = list.reports.find((r: { title: string }) => r.title === input.title);
        expect(summary, input.title).toBeDefined();
        const report = JSON.parse((await request(`${server.baseUrl}/api/v1/reports/${summary.id}`, { headers: auth })).text);
        expect(report).toMatchObject({ title: input.title, description: input.description, state: "new", reporter: { email: input.reporter.email } });
      }
      expect(list.total).toBe(submitted.length);
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    }, 180_000);
  });
});

describe.runIf(testDatabaseKinds().includes("postgres"))("two processes on one PostgreSQL database", () => {
  let database: TestDatabase;
  let relay: SmtpRelay;

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    relay = await startSmtpRelay();
  });
  afterAll(async () => {
    await relay.close();
    await database.drop();
  });

  it("sends each receipt exactly once while both run the outbox worker", async () => {
    const shared = { DATABASE_URL: database.url, SMTP_URL: relay.url, SHIELD_WORKER_POLL_MS: "50", SHIELD_LOG_LEVEL: "info", SHIELD_MASTER_KEY: masterKey() };
    const servers = await Promise.all([start({ ...shared, SHIELD_DATA_DIR: scratchDir() }), start({ ...shared, SHIELD_DATA_DIR: scratchDir() })]);

    const ids: number[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => postReport(servers[i % 2]!, buildReportInput())));
      for (const answer of answers) {
        expect(answer.status).toBe(201);
        ids.push(JSON.parse(answer.text).id);
      }
    }

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await waitFor("every receipt job to be done", async () => {
        const { rows } = await client.query<{ n: number }>("select count(*)::int as n from jobs where kind = 'mail.receipt' and state = 'done'");
        return rows[0]!.n === ids.length ? true : undefined;
      }, 60_000);
    } finally {
      await client.end();
    }

    const receiptsFor = new Map<number, number>();
    for (const message of relay.received) {
      const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(message)?.[1]?.replace(/\r?\n[ \t]/g, " ") ?? "";
      const match = /^\[#(\d+)\] We received your report/.exec(subject);
      if (match) receiptsFor.set(Number(match[1]), (receiptsFor.get(Number(match[1])) ?? 0) + 1);
    }
    expect([...receiptsFor.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect([...receiptsFor.entries()].filter(([, count]) => count !== 1)).toEqual([]);

    // Both workers took part; otherwise this would prove nothing about sharing the queue.
    // A worker logs a job after the commit that marks it done, and the log line crosses a
    // pipe: wait until the lines are all here (or more than one process claims a job).
    const logged = () => servers.map((s) => s.stdout().split("\n").filter((line) => line.includes('"msg":"job done"') && line.includes('"kind":"mail.receipt"')).length);
    const receiptsSentBy = await waitFor("each process's log of the receipts it sent", () => {
      const counts = logged();
      return counts[0]! + counts[1]! >= ids.length ? counts : undefined;
    });
    expect(receiptsSentBy[0]! + receiptsSentBy[1]!).toBe(ids.length);
    expect(receiptsSentBy.every((n) => n > 0)).toBe(true);
    for (const server of servers) expect(await server.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);

  it("writes one audit chain that verifies when both take reports at the same moment", async () => {
    const shared = { DATABASE_URL: database.url, SHIELD_WORKER: "false", SHIELD_INTAKE_RATE_LIMIT: "100000", SHIELD_MASTER_KEY: masterKey() };
    // A fresh database of its own: the chain of the test above is keyed with another master key.
    const own = await createTestDatabase("postgres");
    try {
      const env = { ...shared, DATABASE_URL: own.url };
      const first = await start({ ...env, SHIELD_DATA_DIR: scratchDir() });
      const second = await start({ ...env, SHIELD_DATA_DIR: scratchDir() });
      const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => postReport(i % 2 ? second : first, buildReportInput({ title: `both ${i}` }))));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
      const ids = answers.map((a) => JSON.parse(a.text).id as number);
      for (const server of [first, second]) expect(await server.stop()).toEqual({ code: 0, signal: null });

      const verified = await runShieldJson(["audit", "verify"], { DATABASE_URL: own.url, SHIELD_MASTER_KEY: env.SHIELD_MASTER_KEY });
      expect(verified.problems).toEqual([]);
      expect(verified.ok).toBe(true);
      const client = new pg.Client({ connectionString: own.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ seq: number; subject_id: string }>("select seq, subject_id from audit_events where action = 'report.received' order by seq");
        // Each report once, in one order: the numbers run without a gap or a repeat across both processes.
        expect(rows.map((r) => Number(r.subject_id)).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
        expect(new Set(rows.map((r) => r.seq)).size).toBe(120);
      } finally {
        await client.end();
      }
    } finally {
      await own.drop();
    }
  }, 180_000);
});

describe("stopping", () => {
  it("finishes the request in flight on SIGTERM, then exits 0", async () => {
    const dataDir = scratchDir();
    const server = await start({ SHIELD_DATA_DIR: dataDir });
    const input = buildReportInput({ title: `In flight during SIGTERM ${randomBytes(4).toString("hex")}` });
    const body = Buffer.from(JSON.stringify(input));

    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    let response = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (response += chunk));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    // A keep-alive client, as browsers and proxies are: the server must still let go of it.
    socket.write(`POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 40));
    await new Promise((r) => setTimeout(r, 300));

    server.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    expect(server.child.exitCode).toBeNull();
    socket.write(body.subarray(40));

    // Promptly: not when the idle keep-alive connection would time out (72 s).
    const stillRunning = new Promise((resolve) => setTimeout(() => resolve("still running 15 s after its last answer"), 15_000).unref());
    expect(await Promise.race([server.exited, stillRunning])).toEqual({ code: 0, signal: null });
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 201 /);
    const id = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)).id;

    const database = openDatabase({ kind: "sqlite", file: path.join(dataDir, "shield.db") });
    try {
      const row = await database.db.selectFrom("reports").select(["id", "title"]).where("id", "=", id).executeTakeFirst();
      expect(row).toEqual({ id, title: input.title });
    } finally {
      await database.close();
    }
  }, 120_000);
});

/**
 * A browser over real HTTP: keeps cookies, sends them back, and fills each form's CSRF
 * field from the last page it showed.
 */
class HttpBrowser {
  readonly cookies = new Map<string, string>();
  lastPage = "";
  constructor(private readonly baseUrl: string) {}

  private absorb(answer: Answer): Answer {
    for (const line of answer.headers["set-cookie"] ?? []) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair!.indexOf("=");
      const [name, value] = [pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim()];
      if (value === "" || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    if (String(answer.headers["content-type"] ?? "").startsWith("text/html")) this.lastPage = answer.text;
    return answer;
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([n, v]) => `${n}=${v}`).join("; ") } : {};
  }

  async get(url: string): Promise<Answer> {
    return this.absorb(await request(new URL(url, this.baseUrl).toString(), { headers: this.cookieHeader() }));
  }

  async post(url: string, fields: Record<string, string>): Promise<Answer> {
    const csrf = /name="_csrf" value="([^"]+)"/.exec(this.lastPage)?.[1];
    if (!csrf) throw new Error("no CSRF field on the last page");
    const body = new URLSearchParams({ _csrf: csrf, ...fields }).toString();
    return this.absorb(
      await request(new URL(url, this.baseUrl).toString(), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...this.cookieHeader() }, body }),
    );
  }
}

describe("first start", () => {
  let server: ServerProcess;
  let setupUrl: string;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    server = await start({ SHIELD_DATA_DIR: scratchDir(), SHIELD_LOG_LEVEL: "info" });
    setupUrl = await waitFor("the setup link", () => new RegExp(`(${server.baseUrl}/setup/[A-Za-z0-9_-]{20,})\\n`).exec(server.stderr())?.[1]);
    secrets.setupToken = new URL(setupUrl).pathname.split("/").pop()!;
  });
  afterAll(async () => server.stop());

  it("prints a one-time setup link whose form creates the admin and hands out a working API token", { timeout: 120_000 }, async () => {
    expect(server.stderr()).toContain("Shield has no admin yet. Create the first admin here (the link works until their authenticator is set up; a restart prints a new one):");
    const browser = new HttpBrowser(server.baseUrl);
    const page = await browser.get(setupUrl);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.text).toContain(`<form method="post" action="${new URL(setupUrl).pathname}"`);
    for (const field of ["email", "name", "password", "passwordAgain"]) expect(page.text).toContain(`<label for="${field}">`);

    const fields = { email: "ada@team.example.test", name: "Ada Admin", password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD };
    const wrong = await browser.post(setupUrl, { ...fields, email: "not-an-address" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('id="email-error"');
    expect(wrong.text).toContain('value="Ada Admin"');

    const created = await browser.post(setupUrl, fields);
    expect(created.status).toBe(303);
    expect(created.headers.location).toBe("/team/enrol");
    const enrol = await browser.get("/team/enrol");
    secrets.totpSecret = /id="totp-secret">([^<]+)</.exec(enrol.text)![1]!.replace(/\s/g, "");
    const done = await browser.post("/team/enrol", { code: await totpCodeAt(secrets.totpSecret, systemClock) });
    expect(done.status).toBe(200);
    secrets.apiToken = /id="api-token">(shd_[A-Za-z0-9_-]+)</.exec(done.text)?.[1] ?? "";
    expect(secrets.apiToken).not.toBe("");
    for (const [name, value] of browser.cookies) secrets[`cookie ${name}`] = value;

    const reports = await request(`${server.baseUrl}/api/v1/reports`, { headers: { authorization: `Bearer ${secrets.apiToken}` } });
    expect(reports.status).toBe(200);
    expect(JSON.parse(reports.text)).toMatchObject({ total: 0 });

    const again = await request(setupUrl);
    expect(again.status).toBe(404);
    expect(again.text).toContain("This setup link is no longer valid.");
    const stranger = new HttpBrowser(server.baseUrl);
    await stranger.get("/login");
    expect((await stranger.post(setupUrl, { ...fields, email: "mallory@example.com" })).status).toBe(404);
  });

  it("never writes tokens, passwords, the tracking link or the report's text to its logs", { timeout: 120_000 }, async () => {
    expect(secrets.apiToken).toMatch(/^shd_/);
    const description = `Private detail ${randomBytes(8).toString("hex")}: the admin password is hunter2.`;
    const submitted = await postReport(server, buildReportInput({ description }));
    expect(submitted.status).toBe(201);
    const { id, trackingUrl } = JSON.parse(submitted.text);
    secrets.trackingToken = trackingUrl.split("/").pop();
    expect(secrets.trackingToken!.length).toBeGreaterThan(20);

    expect((await request(`${server.baseUrl}/api/v1/reports/${id}`, { headers: { authorization: `Bearer ${secrets.apiToken}` } })).status).toBe(200);
    await request(`${server.baseUrl}/security/reports/${secrets.trackingToken}`);
    await request(setupUrl);

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    const stdout = server.stdout();
    // The logs are there and say what happened, without the secrets.
    expect(stdout).toContain('"msg":"report received"');
    expect(stdout).toContain('"url":"/setup/[redacted]"');
    expect(stdout).toContain('"url":"/security/reports/[redacted]"');
    expect(stdout).toContain(`"url":"/api/v1/reports/${id}"`);
    const leaks: Record<string, string> = { ...secrets, password: GOOD_PASSWORD, description, hunter2: "hunter2" };
    expect(Object.keys(leaks).filter((name) => stdout.includes(leaks[name]!))).toEqual([]);
    // The setup link goes to the terminal on purpose; nothing else secret does.
    expect(Object.keys(leaks).filter((name) => name !== "setupToken" && server.stderr().includes(leaks[name]!))).toEqual([]);
  });
});
