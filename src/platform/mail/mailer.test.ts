import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSmtpRelay, type SmtpRelay } from "../../../test/smtp-relay.js";
import { createSmtpMailer } from "./mailer.js";

describe("sending mail to an SMTP relay", () => {
  let relay: SmtpRelay;

  beforeAll(async () => {
    relay = await startSmtpRelay();
  });
  afterAll(() => relay.close());
  beforeEach(() => {
    relay.connections = 0;
    relay.received.length = 0;
  });

  const burst = (count: number) =>
    Array.from({ length: count }, (_, n) => ({ from: "security@example.com", to: `reporter${n}@example.org`, subject: `Receipt ${n}`, text: `We have your report ${n}.` }));

  it("sends a burst over a few reused connections, each message whole", async () => {
    const mailer = createSmtpMailer(relay.url);
    try {
      await Promise.all(burst(12).map((mail, n) => mailer.send(mail, `receipt-${n}`)));
    } finally {
      mailer.close();
    }
    expect(relay.received).toHaveLength(12);
    for (let n = 0; n < 12; n++) expect(relay.received.find((m) => m.includes(`Message-ID: <receipt-${n}@shield>`))).toContain(`We have your report ${n}.`);
    expect(relay.connections).toBeLessThanOrEqual(5);
  });

  it("opens a connection per message when the URL says pool=false", async () => {
    const mailer = createSmtpMailer(`${relay.url}?pool=false`);
    try {
      for (const [n, mail] of burst(3).entries()) await mailer.send(mail, `receipt-${n}`);
    } finally {
      mailer.close();
    }
    expect(relay.received).toHaveLength(3);
    expect(relay.connections).toBe(3);
  });
});
