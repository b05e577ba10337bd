import type net from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSmtpMailer } from "./mailer.js";

describe("sending mail to an SMTP relay", () => {
  let relay: SMTPServer;
  let url: string;
  let connections = 0;
  const received: string[] = [];

  beforeAll(async () => {
    relay = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      disableReverseLookup: true,
      logger: false,
      onConnect(_session, callback) {
        connections++;
        callback();
      },
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          received.push(Buffer.concat(chunks).toString("utf8"));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", () => resolve()));
    url = `smtp://127.0.0.1:${(relay.server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));
  beforeEach(() => {
    connections = 0;
    received.length = 0;
  });

  const burst = (count: number) =>
    Array.from({ length: count }, (_, n) => ({ from: "security@example.com", to: `reporter${n}@example.org`, subject: `Receipt ${n}`, text: `We have your report ${n}.` }));

  it("sends a burst over a few reused connections, each message whole", async () => {
    const mailer = createSmtpMailer(url);
    try {
      await Promise.all(burst(12).map((mail, n) => mailer.send(mail, `receipt-${n}`)));
    } finally {
      mailer.close();
    }
    expect(received).toHaveLength(12);
    for (let n = 0; n < 12; n++) expect(received.find((m) => m.includes(`Message-ID: <receipt-${n}@shield>`))).toContain(`We have your report ${n}.`);
    expect(connections).toBeLessThanOrEqual(5);
  });

  it("opens a connection per message when the URL says pool=false", async () => {
    const mailer = createSmtpMailer(`${url}?pool=false`);
    try {
      for (const [n, mail] of burst(3).entries()) await mailer.send(mail, `receipt-${n}`);
    } finally {
      mailer.close();
    }
    expect(received).toHaveLength(3);
    expect(connections).toBe(3);
  });
});
