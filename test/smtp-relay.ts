import type net from "node:net";
import { SMTPServer } from "smtp-server";

/** A real SMTP server on loopback that accepts every message and keeps it, for tests that send mail. */
export interface SmtpRelay {
  /** `smtp://127.0.0.1:<port>`, as `SMTP_URL` takes it. */
  url: string;
  /** Each message as received (headers and body). */
  received: string[];
  /** How many connections clients opened so far. */
  connections: number;
  close(): Promise<void>;
}

export async function startSmtpRelay(): Promise<SmtpRelay> {
  const relay: Omit<SmtpRelay, "url" | "close"> = { received: [], connections: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    onConnect(_session, callback) {
      relay.connections++;
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        relay.received.push(Buffer.concat(chunks).toString("utf8"));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return Object.assign(relay, {
    url: `smtp://127.0.0.1:${(server.server.address() as net.AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
