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
  /** Messages whose bytes arrived while deliveries are held: not answered, not in `received`. */
  held: number;
  /** Answers messages again (held ones are not: their client has gone or will retry). */
  release(): void;
  close(): Promise<void>;
}

/**
 * With `holdDeliveries`, the relay reads each message and never answers it until `release`:
 * a sender stays in the middle of sending, as with a slow relay.
 */
export async function startSmtpRelay(options: { holdDeliveries?: boolean } = {}): Promise<SmtpRelay> {
  let holding = options.holdDeliveries ?? false;
  const relay: Omit<SmtpRelay, "url" | "close"> = {
    received: [],
    connections: 0,
    held: 0,
    release: () => {
      holding = false;
    },
  };
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
        if (holding) {
          relay.held++;
          return;
        }
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
