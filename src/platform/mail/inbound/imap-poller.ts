import type { ImapFlow } from "imapflow";
import type { Logger } from "pino";
import { headerFields, splitHeader } from "./raw-mime.js";
import type { ImapMailbox, AfterStored } from "./imap-url.js";
import type { InboundEnvelope } from "./smtp-listener.js";

/** Where the poller got to in a mailbox: the highest UID it has finished, per UIDVALIDITY. */
export interface ImapCursor {
  lastUid(mailbox: string, uidValidity: string): Promise<number>;
  /** Records that every message up to `uid` is finished; never moves back. */
  remember(mailbox: string, uidValidity: string, uid: number): Promise<void>;
}

export interface ImapPollerOptions {
  mailbox: ImapMailbox;
  /**
   * Largest message taken, in bytes. A larger one is left on the server, flagged
   * (`\Flagged` and the keyword `$ShieldTooLarge`), and the team is told by a stand-in
   * message made from its headers (see `standInForTooLarge`), delivered with `tooLarge`.
   */
  maxMessageBytes: number;
  /** How often to look when the server sends no news (IDLE), in milliseconds. */
  pollEveryMs: number;
  cursor: ImapCursor;
  /**
   * Stores the message; resolves only once it (and what it became) has committed. Only
   * then is it flagged, moved or deleted on the server. A throw leaves it where it is,
   * to be taken again at the next poll.
   */
  deliver(raw: Buffer, envelope: InboundEnvelope, about?: { tooLarge: { size: number } }): Promise<void>;
  logger: Logger;
}

/** The header fields of a too-large message that its stand-in keeps: who, to whom, what, when, and its thread. */
const STAND_IN_FIELDS = ["return-path", "delivered-to", "x-original-to", "from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references"];

export interface PollOutcome {
  /** Messages handed to `deliver` that it took (stored, or recognised as already stored). */
  delivered: number;
  /** Messages `deliver` refused (they stay on the server for the next poll). */
  failed: number;
  /** Messages larger than the limit: left on the server, flagged, and told to the team by a stand-in. */
  tooLarge: number;
}

/**
 * The IMAP way in (imapflow): takes the new messages of one mailbox folder, hands each to
 * `deliver`, and only after that resolved marks it `\Seen` (or moves or deletes it, as
 * the URL asks). The highest UID finished is kept per UIDVALIDITY through `cursor`, so a
 * restart downloads nothing twice; when the server's UIDVALIDITY changes, the folder is
 * read again from the start and `deliver`'s deduplication recognises what it has. A
 * failed message holds the cursor below it, so it is tried again at the next poll.
 * `start()` keeps one connection, woken by the server's IDLE news and a timer.
 */
/** imapflow, imported when a poller first connects rather than when Shield starts without a mailbox (decision 0013). */
let imapFlow: typeof import("imapflow") | undefined;
async function loadImapFlow(): Promise<typeof import("imapflow")> {
  return (imapFlow ??= await import("imapflow"));
}

export class ImapPoller {
  private stopped = true;
  private running: Promise<void> | null = null;
  private client: ImapFlow | null = null;
  private wake: (() => void) | null = null;
  private readonly key: string;
  /** Connections on which the folder of `?move=` is known to exist. */
  private readonly movesTo = new WeakSet<ImapFlow>();

  constructor(private readonly options: ImapPollerOptions) {
    const m = options.mailbox;
    this.key = `${m.user}@${m.host.toLowerCase()}:${m.port}/${m.mailbox}`;
  }

  /** The mailbox named without its password, for logs and the cursor. */
  get mailboxKey(): string {
    return this.key;
  }

  /** Connects, takes what is waiting, logs out: one poll, for tests and one-off runs. */
  async pollOnce(): Promise<PollOutcome> {
    await loadImapFlow();
    const client = this.connectClient();
    await client.connect();
    try {
      return await this.takeNewMessages(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  /** Polls in the background until `stop()`: reconnects after errors with a growing pause (up to 5 minutes). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.loop();
  }

  /**
   * Stops after the message in hand is stored and settled on the server (closing the
   * connection under it would leave it stored but unmarked, or hang a command); a poll
   * that does not finish within 10 s has its connection closed.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const running = this.running;
    if (running) {
      const timer = setTimeout(() => this.client?.close(), 10_000);
      try {
        await running;
      } finally {
        clearTimeout(timer);
      }
    }
    this.running = null;
  }

  private async loop(): Promise<void> {
    await loadImapFlow();
    let pause = 1000;
    while (!this.stopped) {
      try {
        await this.session();
        pause = 1000;
      } catch (error) {
        if (this.stopped) break;
        this.options.logger.warn({ err: error, mailbox: this.key, retryInMs: pause }, "IMAP poller: the mailbox could not be read; trying again");
      }
      if (this.stopped) break;
      await this.sleep(pause);
      pause = Math.min(pause * 2, 5 * 60_000);
    }
  }

  /** One connection: poll now, then whenever the server says something arrived or the timer runs out. */
  private async session(): Promise<void> {
    const client = this.connectClient();
    this.client = client;
    let news = true;
    const onNews = () => {
      news = true;
      this.wake?.();
    };
    const onClose = () => this.wake?.();
    client.on("exists", onNews);
    client.on("close", onClose);
    client.on("error", (error) => this.options.logger.warn({ err: error, mailbox: this.key }, "IMAP poller: connection error"));
    try {
      await client.connect();
      while (!this.stopped && client.usable) {
        if (news) {
          news = false;
          const outcome = await this.takeNewMessages(client);
          if (outcome.delivered + outcome.failed + outcome.tooLarge > 0) this.options.logger.info({ mailbox: this.key, ...outcome }, "IMAP poller: mailbox read");
          if (outcome.failed > 0) throw new Error(`${outcome.failed} message(s) could not be stored`);
        }
        await this.sleep(this.options.pollEveryMs);
        news = true;
      }
    } finally {
      client.off("exists", onNews);
      client.off("close", onClose);
      this.client = null;
      if (client.usable) await client.logout().catch(() => client.close());
      else client.close();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  /** A client not yet connected; imapflow is loaded (`loadImapFlow`) before the first. */
  private connectClient(): ImapFlow {
    const m = this.options.mailbox;
    return new imapFlow!.ImapFlow({
      host: m.host,
      port: m.port,
      secure: m.secure,
      auth: { user: m.user, pass: m.password },
      logger: false,
      // A hostile or broken server cannot make the client buffer more than one message.
      maxLiteralSize: this.options.maxMessageBytes + 64 * 1024,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 5 * 60_000,
      // IDLE (or the NOOP fallback) soon after each poll, so new mail is announced at once.
      autoIdleDelay: 500,
      maxIdleTime: Math.min(this.options.pollEveryMs, 25 * 60_000),
    });
  }

  /**
   * Takes every message above the cursor of the folder's current UIDVALIDITY, oldest
   * first. The cursor advances past a message only once it is stored and settled on the
   * server, and never past one that failed.
   */
  private async takeNewMessages(client: ImapFlow): Promise<PollOutcome> {
    const outcome: PollOutcome = { delivered: 0, failed: 0, tooLarge: 0 };
    const { cursor, afterStored } = { cursor: this.options.cursor, afterStored: this.options.mailbox.afterStored };
    // The folder stored mail moves to is made when missing (an existing one is left as it is),
    // so that a missing folder does not leave every stored message unsettled.
    if (afterStored.kind === "move" && !this.movesTo.has(client)) {
      await client.mailboxCreate(afterStored.folder);
      this.movesTo.add(client);
    }
    const lock = await client.getMailboxLock(this.options.mailbox.mailbox);
    try {
      const box = client.mailbox;
      if (!box) throw new Error("the mailbox did not open");
      const uidValidity = box.uidValidity.toString();
      const lastUid = await cursor.lastUid(this.key, uidValidity);
      if (box.exists === 0) return outcome;
      // `n:*` also answers the highest message when it is below n: filter.
      const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
      const uids = (Array.isArray(found) ? found : []).filter((uid) => uid > lastUid).sort((a, b) => a - b);
      let finishedUpTo = lastUid;
      let blocked = false;
      for (const uid of uids) {
        if (this.stopped && this.running) break;
        const head = await client.fetchOne(String(uid), { uid: true, size: true }, { uid: true });
        if (!head) continue; // expunged meanwhile
        if ((head.size ?? 0) > this.options.maxMessageBytes) {
          outcome.tooLarge++;
          const size = head.size ?? 0;
          this.options.logger.warn({ mailbox: this.key, uid, size, limit: this.options.maxMessageBytes }, "IMAP poller: a message is larger than SHIELD_MAIL_MAX_BYTES; it is left in the mailbox, flagged, and the team gets its headers");
          const fields = await client.fetchOne(String(uid), { uid: true, headers: STAND_IN_FIELDS }, { uid: true });
          const standIn = standInForTooLarge(fields && fields.headers ? fields.headers : Buffer.alloc(0), size, this.options.maxMessageBytes, this.options.mailbox.mailbox);
          try {
            await this.options.deliver(standIn, envelopeOf(standIn), { tooLarge: { size } });
          } catch (error) {
            outcome.failed++;
            blocked = true;
            this.options.logger.error({ err: error, mailbox: this.key, uid }, "IMAP poller: the notice of a too-large message could not be stored; it is tried again at the next poll");
            continue;
          }
          await client.messageFlagsAdd(String(uid), ["\\Flagged", "$ShieldTooLarge"], { uid: true });
          if (!blocked) {
            finishedUpTo = uid;
            await cursor.remember(this.key, uidValidity, uid);
          }
          continue;
        }
        const message = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
        if (!message || !message.source) continue;
        try {
          await this.options.deliver(message.source, envelopeOf(message.source));
        } catch (error) {
          outcome.failed++;
          blocked = true;
          this.options.logger.error({ err: error, mailbox: this.key, uid }, "IMAP poller: a message could not be stored; it stays in the mailbox for the next poll");
          continue;
        }
        outcome.delivered++;
        await settle(client, uid, afterStored);
        if (!blocked) {
          finishedUpTo = uid;
          await cursor.remember(this.key, uidValidity, uid);
        }
      }
      if (!blocked && finishedUpTo > lastUid) await cursor.remember(this.key, uidValidity, finishedUpTo);
      return outcome;
    } finally {
      lock.release();
    }
  }
}

/** Marks, moves or deletes a stored message on the server. */
async function settle(client: ImapFlow, uid: number, afterStored: AfterStored): Promise<void> {
  const range = String(uid);
  await client.messageFlagsAdd(range, ["\\Seen"], { uid: true });
  if (afterStored.kind === "move") await client.messageMove(range, afterStored.folder, { uid: true });
  else if (afterStored.kind === "delete") await client.messageDelete(range, { uid: true });
}

/**
 * The message the team gets in place of one too large to take: the original's own header
 * fields (so sender, recipients, subject and thread are read as usual), its subject marked,
 * and a text that says what happened and where the original is. It names no UID, so the
 * same message found again after a UIDVALIDITY change makes the same bytes and is
 * recognised as already stored.
 */
export function standInForTooLarge(headers: Buffer, size: number, limit: number, folder: string): Buffer {
  const fields = headerFields(splitHeader(Buffer.concat([headers, Buffer.from("\r\n\r\n")])).headerText);
  const kept = fields.filter((f) => f.name !== "subject").map((f) => f.raw.split("\n").join("\r\n"));
  const subject = fields.find((f) => f.name === "subject")?.value ?? "(no subject)";
  const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  const text = [
    `Shield did not take this message from the mailbox: it is ${size} bytes (${mb(size)}), larger than SHIELD_MAIL_MAX_BYTES (${limit} bytes, ${mb(limit)}).`,
    "",
    `The original is still in the mailbox folder "${folder}", untouched except that it is flagged (\\Flagged and the keyword $ShieldTooLarge). Read it there with a mail client, or raise SHIELD_MAIL_MAX_BYTES and move it back into the folder as a new message.`,
    "",
    "What is written here comes from the original's headers only: the sender, recipients, subject and date above are the original's. Its sender got no receipt.",
  ].join("\r\n");
  return Buffer.from(
    [...kept, `Subject: [too large to take, ${mb(size)}] ${subject}`, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", text, ""].join("\r\n"),
    "utf8",
  );
}

const ADDRESS = /[^\s<>(),;:"@]{1,64}@[A-Za-z0-9.-]{1,253}/g;

/**
 * A mailbox has no SMTP envelope: the delivering server's `Return-Path` stands for the
 * reverse path (`<>` is the null sender), and `Delivered-To`, `X-Original-To`, `To` and
 * `Cc` for the recipients, so that reply addresses and channels are found as over SMTP.
 */
export function envelopeOf(raw: Buffer): InboundEnvelope {
  const fields = headerFields(splitHeader(raw).headerText);
  const values = (name: string) => fields.filter((f) => f.name === name).map((f) => f.value);
  const returnPath = values("return-path")[0];
  let mailFrom: string | null;
  if (returnPath !== undefined) mailFrom = returnPath.match(ADDRESS)?.[0] ?? null;
  else mailFrom = values("from")[0]?.match(ADDRESS)?.[0] ?? null;
  const rcptTo: string[] = [];
  for (const name of ["delivered-to", "x-original-to", "to", "cc"]) {
    for (const value of values(name)) {
      for (const address of value.match(ADDRESS) ?? []) {
        if (!rcptTo.some((a) => a.toLowerCase() === address.toLowerCase()) && rcptTo.length < 100) rcptTo.push(address);
      }
    }
  }
  return { mailFrom, rcptTo, remoteAddress: "", heloName: "" };
}
