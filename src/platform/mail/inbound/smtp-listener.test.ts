import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { SmtpListener, SmtpReply, type InboundEnvelope, type SmtpListenerOptions } from "./smtp-listener.js";

const run = promisify(execFile);

interface Harness {
  listener: SmtpListener;
  port: number;
  stored: Array<{ raw: Buffer; envelope: InboundEnvelope }>;
}

let open: SmtpListener[] = [];
afterEach(async () => {
  await Promise.all(open.map((l) => l.close()));
  open = [];
});

async function startListener(overrides: Partial<SmtpListenerOptions> = {}): Promise<Harness> {
  const stored: Harness["stored"] = [];
  const listener = new SmtpListener({
    host: "127.0.0.1",
    port: 0,
    serverName: "mx.test",
    maxMessageBytes: 64 * 1024,
    limits: { connectionsPerAddress: 10, messagesPerMinutePerAddress: 100, deliveriesInFlightPerAddress: 2 },
    acceptRecipient: async (address) => {
      if (address.toLowerCase() !== "security@example.com") throw new SmtpReply(550, "5.1.1 no such recipient here");
    },
    deliver: async (raw, envelope) => {
      stored.push({ raw, envelope });
    },
    logger: pino({ level: "silent" }),
    ...overrides,
  });
  const port = await listener.listen();
  open.push(listener);
  return { listener, port, stored };
}

/** swaks, a real SMTP client; resolves with its exit code and transcript. */
async function swaks(port: number, args: string[], quiet = true): Promise<{ code: number; transcript: string }> {
  try {
    const { stdout } = await run("swaks", ["--server", "127.0.0.1", "--port", String(port), ...(quiet ? ["--silent", "1"] : []), "--hide-informational", "--timeout", "20", ...args]);
    return { code: 0, transcript: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, transcript: `${e.stdout}${e.stderr}` };
  }
}

describe("SMTP listener", () => {
  it("answers 250 to a message for the program's address only after it is stored", async () => {
    const h = await startListener();
    const result = await swaks(h.port, ["--to", "security@example.com", "--from", "ada@example.org", "--header", "Subject: XSS in search", "--body", "Steps: <script>"]);
    expect(result.code).toBe(0);
    expect(h.stored).toHaveLength(1);
    expect(h.stored[0]!.envelope).toMatchObject({ mailFrom: "ada@example.org", rcptTo: ["security@example.com"], remoteAddress: "127.0.0.1" });
    expect(h.stored[0]!.raw.toString()).toContain("Subject: XSS in search");
  });

  it("refuses a foreign recipient with 550, so it is never an open relay", async () => {
    const h = await startListener();
    const result = await swaks(h.port, ["--to", "victim@elsewhere.example", "--from", "spammer@example.org"]);
    expect(result.code).not.toBe(0);
    expect(result.transcript).toMatch(/550 5\.1\.1/);
    expect(h.stored).toHaveLength(0);
  });

  it("answers 451 when storing fails, so the sender retries", async () => {
    const h = await startListener({
      deliver: async () => {
        throw new Error("disk full");
      },
    });
    const result = await swaks(h.port, ["--to", "security@example.com", "--from", "ada@example.org"]);
    expect(result.code).not.toBe(0);
    expect(result.transcript).toMatch(/451 4\.3\.0/);
  });

  it("announces SIZE and refuses a larger message", async () => {
    const h = await startListener({ maxMessageBytes: 2048 });
    const ehlo = await swaks(h.port, ["--to", "security@example.com", "--quit-after", "EHLO"], false);
    expect(ehlo.transcript).toMatch(/250-SIZE 2048|250 SIZE 2048/);
    const result = await swaks(h.port, ["--to", "security@example.com", "--from", "ada@example.org", "--body", "x".repeat(5000)]);
    expect(result.code).not.toBe(0);
    expect(result.transcript).toMatch(/552/);
    expect(h.stored).toHaveLength(0);
  });

  it("defers a client past its messages per minute with 451, not a 5xx", async () => {
    let clock = 1_000_000;
    const h = await startListener({ limits: { connectionsPerAddress: 10, messagesPerMinutePerAddress: 2, deliveriesInFlightPerAddress: 2 }, now: () => clock });
    for (let i = 0; i < 2; i++) expect((await swaks(h.port, ["--to", "security@example.com", "--from", "a@example.org"])).code).toBe(0);
    const third = await swaks(h.port, ["--to", "security@example.com", "--from", "a@example.org"]);
    expect(third.transcript).toMatch(/451 4\.7\.1/);
    clock += 61_000;
    expect((await swaks(h.port, ["--to", "security@example.com", "--from", "a@example.org"])).code).toBe(0);
    expect(h.stored).toHaveLength(3);
  });

  it("stores another address's message while one address's deliveries are queued", async () => {
    const releases: Array<() => void> = [];
    const order: string[] = [];
    const h = await startListener({
      limits: { connectionsPerAddress: 10, messagesPerMinutePerAddress: 100, deliveriesInFlightPerAddress: 1 },
      deliver: async (raw, envelope) => {
        const from = envelope.mailFrom ?? "";
        if (from.startsWith("flood")) await new Promise<void>((resolve) => releases.push(resolve));
        order.push(from);
      },
    });
    // The flooding sender's first message holds its lane; its second waits behind it.
    const flood = [swaks(h.port, ["--to", "security@example.com", "--from", "flood1@example.org"]), swaks(h.port, ["--to", "security@example.com", "--from", "flood2@example.org"])];
    await waitUntil(() => releases.length === 1);
    const other = await swaks(h.port, ["--to", "security@example.com", "--from", "calm@example.org", "--local-interface", "127.0.0.2"]);
    expect(other.code).toBe(0);
    expect(order).toEqual(["calm@example.org"]);
    releases.shift()!();
    await waitUntil(() => releases.length === 1);
    releases.shift()!();
    await Promise.all(flood);
    // Which of the flood's two messages took the lane first is up to the two clients.
    expect(order[0]).toBe("calm@example.org");
    expect(order.slice(1).sort()).toEqual(["flood1@example.org", "flood2@example.org"]);
  });

  it("answers 421 to a client holding too many connections", async () => {
    const h = await startListener({ limits: { connectionsPerAddress: 1, messagesPerMinutePerAddress: 100, deliveriesInFlightPerAddress: 2 } });
    const net = await import("node:net");
    const first = net.connect(h.port, "127.0.0.1");
    await new Promise((resolve) => first.once("data", resolve));
    const second = await swaks(h.port, ["--to", "security@example.com", "--from", "a@example.org"]);
    first.destroy();
    expect(second.code).not.toBe(0);
    expect(second.transcript).toMatch(/421/);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
