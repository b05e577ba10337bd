import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** What a message's parts and headers decoded to. Every string in it is hostile text. */
export interface ParsedMail {
  messageId: string | null;
  inReplyTo: string | null;
  /** Message-IDs from References and In-Reply-To, each with its angle brackets, in order. */
  references: string[];
  subject: string;
  from: ParsedAddress | null;
  replyTo: ParsedAddress | null;
  to: ParsedAddress[];
  cc: ParsedAddress[];
  date: string | null;
  /** Lower-cased header names with their unfolded values, top-level headers only. */
  headers: Array<{ key: string; value: string }>;
  text: string | null;
  html: string | null;
  attachments: ParsedAttachment[];
}

export interface ParsedAddress {
  name: string;
  address: string;
}

export interface ParsedAttachment {
  filename: string | null;
  mimeType: string;
  disposition: string | null;
  contentId: string | null;
  content: Uint8Array;
}

export interface MimeParserLimits {
  /** A parse that takes longer is abandoned (its worker is ended and replaced). */
  timeoutMs: number;
  maxNestingDepth: number;
  maxPartCount: number;
  maxHeadersBytes: number;
  /** The parser's own heap: a message that needs more ends its worker, not the server. */
  maxHeapMb: number;
}

export const DEFAULT_MIME_PARSER_LIMITS: MimeParserLimits = {
  timeoutMs: 15_000,
  maxNestingDepth: 32,
  maxPartCount: 500,
  maxHeadersBytes: 512 * 1024,
  maxHeapMb: 512,
};

export type MimeParseFailure = "timeout" | "too_deep" | "too_many_parts" | "headers_too_large" | "out_of_memory" | "malformed";

/** The message could not be read within the limits; the raw original is still kept by the caller. */
export class MimeParseError extends Error {
  constructor(
    readonly reason: MimeParseFailure,
    message: string,
  ) {
    super(message);
    this.name = "MimeParseError";
  }
}

/**
 * The worker's code. It is plain CommonJS handed to `new Worker(..., { eval: true })`, so
 * the same code runs from the TypeScript sources (tests) and from dist/ (the server),
 * and it loads postal-mime from the path the main thread resolved.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const PostalMime = require(workerData.postalMimePath).default;
const limits = workerData.limits;
const REASONS = { EMAXNESTINGDEPTH: "too_deep", EMAXPARTCOUNT: "too_many_parts", EMAXHEADERSIZE: "headers_too_large", EMAXFORWARDEDADDRESSES: "too_many_parts" };
function mailbox(a) {
  if (!a) return null;
  if (a.group) return a.group.length ? { name: String(a.group[0].name || ""), address: String(a.group[0].address || "") } : null;
  return { name: String(a.name || ""), address: String(a.address || "") };
}
function mailboxes(list) {
  const out = [];
  for (const a of list || []) {
    if (a.group) for (const m of a.group) out.push({ name: String(m.name || ""), address: String(m.address || "") });
    else out.push({ name: String(a.name || ""), address: String(a.address || "") });
  }
  return out;
}
parentPort.on("message", async ({ id, raw }) => {
  try {
    const email = await PostalMime.parse(raw, {
      attachmentEncoding: "arraybuffer",
      maxNestingDepth: limits.maxNestingDepth,
      maxPartCount: limits.maxPartCount,
      maxHeadersSize: limits.maxHeadersBytes,
      maxRfc822NestingDepth: 0,
    });
    const transfer = [];
    const attachments = email.attachments.map((a) => {
      const bytes = a.content instanceof ArrayBuffer ? new Uint8Array(a.content) : new Uint8Array(a.content.buffer, a.content.byteOffset, a.content.byteLength);
      if (!transfer.includes(bytes.buffer)) transfer.push(bytes.buffer);
      return { filename: a.filename ?? null, mimeType: String(a.mimeType || "application/octet-stream"), disposition: a.disposition ?? null, contentId: a.contentId ?? null, content: bytes };
    });
    const headers = [];
    const topLevel = email.headers.length > 0 ? email.headers : [];
    for (const h of topLevel) headers.push({ key: String(h.key), value: String(h.value) });
    const mail = {
      messageId: email.messageId || null,
      inReplyTo: email.inReplyTo || null,
      referencesHeader: email.references || null,
      subject: email.subject || "",
      from: mailbox(email.from),
      replyTo: email.replyTo && email.replyTo.length ? mailbox(email.replyTo[0]) : null,
      to: mailboxes(email.to),
      cc: mailboxes(email.cc),
      date: email.date || null,
      headers,
      text: typeof email.text === "string" ? email.text : null,
      html: typeof email.html === "string" ? email.html : null,
      attachments,
    };
    parentPort.postMessage({ id, ok: true, mail }, transfer);
  } catch (error) {
    const reason = REASONS[error && error.code] || "malformed";
    parentPort.postMessage({ id, ok: false, reason, message: String((error && error.message) || error).slice(0, 300) });
  }
});
`;

interface Pending {
  resolve: (mail: ParsedMail) => void;
  reject: (error: Error) => void;
  raw: Uint8Array;
}

interface WorkerMailShape extends Omit<ParsedMail, "references"> {
  referencesHeader: string | null;
}

/**
 * postal-mime in a worker thread, one message at a time, with limits on time, depth,
 * part count, header size and heap. A message that breaks a limit, or the parser, ends in
 * `MimeParseError`; a runaway parse is ended by terminating the worker, so the server's
 * own thread never holds a hostile message.
 */
export class MimeParser {
  private worker: Worker | null = null;
  private readonly queue: Array<{ id: number } & Pending> = [];
  private current: ({ id: number; timer: NodeJS.Timeout } & Pending) | null = null;
  private nextId = 1;
  private closed = false;
  private readonly postalMimePath = createRequire(import.meta.url).resolve("postal-mime");

  constructor(private readonly limits: MimeParserLimits = DEFAULT_MIME_PARSER_LIMITS) {}

  /** Parses a copy of `raw` (the caller keeps its bytes). */
  parse(raw: Uint8Array): Promise<ParsedMail> {
    if (this.closed) return Promise.reject(new Error("the MIME parser is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, resolve, reject, raw });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error("the MIME parser is closed"));
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.reject(new Error("the MIME parser is closed"));
      this.current = null;
    }
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { postalMimePath: this.postalMimePath, limits: this.limits },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.maxHeapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
    });
    worker.unref();
    worker.on("message", (reply: { id: number; ok: boolean; mail?: WorkerMailShape; reason?: MimeParseFailure; message?: string }) => {
      const task = this.current;
      if (!task || task.id !== reply.id) return;
      clearTimeout(task.timer);
      this.current = null;
      if (reply.ok && reply.mail) task.resolve(shapeMail(reply.mail));
      else task.reject(new MimeParseError(reply.reason ?? "malformed", describeFailure(reply.reason ?? "malformed", reply.message ?? "")));
      this.pump();
      // An idle parser does not keep the process alive.
      if (!this.current) worker.unref();
    });
    const onDeath = (error: Error | number) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const task = this.current;
      this.current = null;
      if (task) {
        clearTimeout(task.timer);
        const outOfMemory = error instanceof Error && /ERR_WORKER_OUT_OF_MEMORY|heap/i.test(`${(error as NodeJS.ErrnoException).code ?? ""} ${error.message}`);
        task.reject(outOfMemory ? new MimeParseError("out_of_memory", "the message needs more memory to parse than a message may use") : new MimeParseError("malformed", `the parser stopped on this message: ${error instanceof Error ? error.message : `exit ${error}`}`));
      }
      this.pump();
    };
    worker.on("error", onDeath);
    worker.on("exit", (code) => onDeath(code));
    this.worker = worker;
    return worker;
  }

  private pump(): void {
    if (this.current || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    const worker = this.ensureWorker();
    const timer = setTimeout(() => {
      if (this.current?.id !== next.id) return;
      this.current = null;
      next.reject(new MimeParseError("timeout", `the message took longer than ${this.limits.timeoutMs} ms to parse`));
      // The only way to stop a parse in progress; a fresh worker takes the next message.
      if (this.worker === worker) this.worker = null;
      void worker.terminate();
      this.pump();
    }, this.limits.timeoutMs);
    this.current = { ...next, timer };
    worker.ref();
    const copy = new Uint8Array(next.raw);
    worker.postMessage({ id: next.id, raw: copy }, [copy.buffer]);
  }
}

function describeFailure(reason: MimeParseFailure, detail: string): string {
  switch (reason) {
    case "too_deep":
      return "the message's parts are nested deeper than Shield reads";
    case "too_many_parts":
      return "the message has more parts than Shield reads";
    case "headers_too_large":
      return "the message's headers are larger than Shield reads";
    default:
      return `the message could not be parsed: ${detail}`;
  }
}

const MESSAGE_ID = /<[^<>\s]{1,250}>/g;

function shapeMail(mail: WorkerMailShape): ParsedMail {
  const { referencesHeader, ...rest } = mail;
  const references = [...(referencesHeader ?? "").matchAll(MESSAGE_ID), ...(mail.inReplyTo ?? "").matchAll(MESSAGE_ID)].map((m) => m[0]);
  return { ...rest, messageId: firstMessageId(mail.messageId), inReplyTo: firstMessageId(mail.inReplyTo), references: [...new Set(references)].slice(-50) };
}

function firstMessageId(value: string | null): string | null {
  if (!value) return null;
  const match = value.match(/<[^<>\s]{1,250}>/);
  return match ? match[0] : null;
}
