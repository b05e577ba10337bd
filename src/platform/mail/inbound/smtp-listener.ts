import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import type { SMTPServer, SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import type { Logger } from "pino";

/** Who handed a message over, as the SMTP session saw it. */
export interface InboundEnvelope {
  /** The reverse path; null for the null sender (`MAIL FROM:<>`), as bounces use. */
  mailFrom: string | null;
  rcptTo: string[];
  remoteAddress: string;
  /** The name the client gave in HELO/EHLO: the client's word, not verified. */
  heloName: string;
}

/** Why a recipient is refused or a delivery deferred; the text goes to the sending server. */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SmtpListenerOptions {
  host: string;
  port: number;
  /** The name in the greeting and in Received headers. */
  serverName: string;
  /** Largest message, announced with SIZE and enforced. */
  maxMessageBytes: number;
  tls?: { cert: Buffer; key: Buffer };
  limits: {
    /** Open connections one client address may hold; more are answered 421. */
    connectionsPerAddress: number;
    /** Messages one client address may hand over per minute; more are deferred with 451. */
    messagesPerMinutePerAddress: number;
    /** Messages of one client address stored at the same time; the rest wait their turn. */
    deliveriesInFlightPerAddress: number;
  };
  /** Decides RCPT TO: resolves for an address Shield takes mail for, throws `SmtpReply` otherwise. */
  acceptRecipient(address: string): Promise<void>;
  /**
   * Stores the message. Resolves only once the raw message (and what it became) has
   * committed: only then does the sender hear 250. A throw is answered 451 (try again),
   * or the `SmtpReply`'s own code.
   */
  deliver(raw: Buffer, envelope: InboundEnvelope): Promise<void>;
  logger: Logger;
  /** For tests: the time, so the per-minute window can be driven. */
  now?: () => number;
}

/**
 * The SMTP way in (smtp-server). It takes mail only for the recipients `acceptRecipient`
 * accepts, so it is never an open relay, answers 250 only after `deliver` resolved, and
 * 4xx when it cannot store or a client sends too much, so a legitimate server retries
 * and nothing is lost. Deliveries of one client address queue behind each other
 * (at most `deliveriesInFlightPerAddress` at once), so a flood from one address cannot
 * hold up another's message.
 */
const require = createRequire(import.meta.url);

export class SmtpListener {
  private readonly server: SMTPServer;
  private readonly connections = new Map<string, number>();
  private readonly recent = new Map<string, number[]>();
  private readonly lanes = new Map<string, { running: number; waiting: Array<() => void> }>();
  private readonly now: () => number;
  private listening = false;

  constructor(private readonly options: SmtpListenerOptions) {
    this.now = options.now ?? Date.now;
    const disabledCommands = ["AUTH", ...(options.tls ? [] : ["STARTTLS"])];
    // smtp-server (CommonJS build) is required when a listener is made, so a Shield without
    // SHIELD_SMTP_LISTEN does not load it at start (decision 0013).
    const { SMTPServer } = require("smtp-server") as typeof import("smtp-server");
    this.server = new SMTPServer({
      name: options.serverName,
      banner: "Shield security desk",
      size: options.maxMessageBytes,
      authOptional: true,
      disabledCommands,
      disableReverseLookup: true,
      hideDSN: true,
      logger: false,
      socketTimeout: 60_000,
      closeTimeout: 10_000,
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
      onConnect: (session, callback) => callback(this.admitConnection(session) ?? undefined),
      onClose: (session) => this.releaseConnection(session),
      onMailFrom: (_address, session, callback) => callback(this.admitMessage(session) ?? undefined),
      onRcptTo: (address, _session, callback) => {
        this.checkRecipient(address).then(
          () => callback(),
          (error: unknown) => callback(asReply(error, 550, "5.1.1 no such recipient here")),
        );
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          () => callback(),
          (error: unknown) => {
            if (!(error instanceof SmtpReply)) options.logger.error({ err: error, remoteAddress: session.remoteAddress }, "SMTP listener: a message could not be stored; the sender was told to retry (451)");
            callback(asReply(error, 451, "4.3.0 the message could not be stored; please try again later"));
          },
        );
      },
    });
    this.server.on("error", (error) => options.logger.warn({ err: error }, "SMTP listener: connection error"));
  }

  /** Starts listening; resolves with the port (useful when 0 asked for a free one). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.server.off("error", reject);
        this.listening = true;
        const address = this.server.server.address();
        resolve(typeof address === "object" && address ? address.port : this.options.port);
      });
    });
  }

  /** Stops taking connections; a message being stored finishes first. Nothing to do when it never listened. */
  close(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private admitConnection(session: SMTPServerSession): SmtpReply | null {
    const address = session.remoteAddress;
    const open = this.connections.get(address) ?? 0;
    if (open >= this.options.limits.connectionsPerAddress) {
      return new SmtpReply(421, "4.7.0 too many connections from your address; please try again later");
    }
    this.connections.set(address, open + 1);
    (session as SMTPServerSession & { shieldCounted?: boolean }).shieldCounted = true;
    return null;
  }

  private releaseConnection(session: SMTPServerSession): void {
    if (!(session as SMTPServerSession & { shieldCounted?: boolean }).shieldCounted) return;
    const address = session.remoteAddress;
    const open = (this.connections.get(address) ?? 1) - 1;
    if (open <= 0) this.connections.delete(address);
    else this.connections.set(address, open);
  }

  private admitMessage(session: SMTPServerSession): SmtpReply | null {
    const address = session.remoteAddress;
    const now = this.now();
    const window = (this.recent.get(address) ?? []).filter((at) => now - at < 60_000);
    if (window.length >= this.options.limits.messagesPerMinutePerAddress) {
      this.recent.set(address, window);
      return new SmtpReply(451, "4.7.1 too many messages from your address; please try again later");
    }
    window.push(now);
    this.recent.set(address, window);
    if (this.recent.size > 10_000) this.forgetQuietAddresses(now);
    return null;
  }

  private forgetQuietAddresses(now: number): void {
    for (const [address, times] of this.recent) {
      if (times.every((at) => now - at >= 60_000)) this.recent.delete(address);
    }
  }

  private async checkRecipient(address: SMTPServerAddress): Promise<void> {
    await this.options.acceptRecipient(address.address);
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const raw = await readAll(stream, this.options.maxMessageBytes);
    if (stream.sizeExceeded) throw new SmtpReply(552, `5.3.4 the message is larger than ${this.options.maxMessageBytes} bytes`);
    const envelope: InboundEnvelope = {
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null,
      rcptTo: session.envelope.rcptTo.map((r) => r.address),
      remoteAddress: session.remoteAddress,
      heloName: session.hostNameAppearsAs ?? "",
    };
    await this.inLane(session.remoteAddress, () => this.options.deliver(raw, envelope));
  }

  /** Runs `work` when its client address has a free slot; slots of other addresses are not taken. */
  private async inLane<T>(address: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(address);
    if (!lane) {
      lane = { running: 0, waiting: [] };
      this.lanes.set(address, lane);
    }
    if (lane.running >= this.options.limits.deliveriesInFlightPerAddress) {
      await new Promise<void>((resolve) => lane!.waiting.push(resolve));
    }
    lane.running++;
    try {
      return await work();
    } finally {
      lane.running--;
      const next = lane.waiting.shift();
      if (next) next();
      else if (lane.running === 0) this.lanes.delete(address);
    }
  }
}

function asReply(error: unknown, fallbackCode: number, fallbackText: string): Error & { responseCode: number } {
  if (error instanceof SmtpReply) return Object.assign(new Error(error.message), { responseCode: error.responseCode });
  return Object.assign(new Error(fallbackText), { responseCode: fallbackCode });
}

/** Reads the message, keeping at most `limit` bytes (past it the rest is drained and refused). */
async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
