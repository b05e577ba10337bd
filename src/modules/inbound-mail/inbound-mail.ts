/**
 * The rules of the e-mail channel, without technology: which addresses Shield takes
 * mail for, what a reply address looks like, which mail gets no receipt (RFC 3834), what
 * is a bounce, and how a message becomes a report's fields. Every input here is hostile.
 */

export const MAIL_CHANNELS = ["account_attack", "vulnerability", "sensitive"] as const;
export type MailChannel = (typeof MAIL_CHANNELS)[number];

export interface InboundAddressSettings {
  securityEmail: string;
  /** The channel of mail to `securityEmail`. */
  securityEmailChannel: MailChannel;
  /** Further addresses Shield takes mail for, each with its channel. */
  inboundAddresses: Array<{ address: string; channel: MailChannel }>;
}

export type RecipientKind = { kind: "program"; channel: MailChannel; address: string } | { kind: "reply"; reportId: number; mac: string; address: string };

/** Lower-cases the domain and trims; the local part keeps its case but is compared case-insensitively (as every real mail host does). */
export function normaliseAddress(address: string): string {
  return address.trim().replace(/^<|>$/g, "").toLowerCase();
}

function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** `security+r42.<mac>@example.com`: the program's address, tagged with the report and a MAC over its id. */
const REPLY_TAG = /^r([1-9][0-9]{0,15})\.([a-z2-7]{16,64})$/;

/**
 * What a recipient address is to Shield: one of the program's addresses (with its
 * channel), a report's reply address (id and MAC, still to be checked), or nothing
 * (refused: Shield is never a relay).
 */
export function classifyRecipient(address: string, settings: InboundAddressSettings): RecipientKind | null {
  const normal = normaliseAddress(address);
  if (normal === normaliseAddress(settings.securityEmail)) return { kind: "program", channel: settings.securityEmailChannel, address: normal };
  for (const entry of settings.inboundAddresses) {
    if (normal === normaliseAddress(entry.address)) return { kind: "program", channel: entry.channel, address: normal };
  }
  const parts = splitAddress(normal);
  const base = splitAddress(normaliseAddress(settings.securityEmail));
  if (!parts || !base || parts.domain !== base.domain) return null;
  const plus = parts.local.indexOf("+");
  if (plus < 0 || parts.local.slice(0, plus) !== base.local) return null;
  const tag = parts.local.slice(plus + 1).match(REPLY_TAG);
  if (!tag) return null;
  return { kind: "reply", reportId: Number(tag[1]), mac: tag[2]!, address: normal };
}

/** The reply address of a report: the security address with `+r<id>.<mac>`. */
export function replyAddressFor(securityEmail: string, reportId: number, mac: string): string {
  const base = splitAddress(securityEmail.trim());
  if (!base) throw new Error("the security e-mail setting is not an address");
  return `${base.local}+r${reportId}.${mac}@${base.domain}`;
}

export interface MailHeaders {
  /** Lower-cased names. */
  get(name: string): string | undefined;
}

export function headersOf(list: Array<{ key: string; value: string }>): MailHeaders {
  const map = new Map<string, string>();
  for (const { key, value } of list) if (!map.has(key.toLowerCase())) map.set(key.toLowerCase(), value);
  return { get: (name) => map.get(name.toLowerCase()) };
}

/**
 * Mail that must not be answered automatically (RFC 3834 §2 and common practice): the
 * null sender, `Auto-Submitted` other than `no`, `Precedence: bulk|list|junk`, mailing
 * lists (`List-Id`, `List-Unsubscribe`), and other auto-responders. Returns why, or null.
 */
export function whyNoAutomaticReply(headers: MailHeaders, envelopeFrom: string | null, ownAddresses: string[]): string | null {
  if (!envelopeFrom) return "the message came from the null sender (a bounce or notification)";
  const autoSubmitted = headers.get("auto-submitted")?.trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith("no")) return `the message is marked Auto-Submitted: ${autoSubmitted.slice(0, 40)}`;
  const precedence = headers.get("precedence")?.trim().toLowerCase();
  if (precedence && ["bulk", "list", "junk", "auto_reply"].includes(precedence)) return `the message is marked Precedence: ${precedence}`;
  if (headers.get("list-id") || headers.get("list-unsubscribe")) return "the message came through a mailing list";
  if (headers.get("x-auto-response-suppress")?.match(/all|autoreply/i)) return "the sender asked for no automatic replies";
  const own = new Set(ownAddresses.map(normaliseAddress));
  if (own.has(normaliseAddress(envelopeFrom))) return "the message came from one of Shield's own addresses";
  return null;
}

/** True for a delivery status notification (RFC 3464): a bounce of mail Shield sent. */
export function isDeliveryReport(headers: MailHeaders): boolean {
  const type = headers.get("content-type")?.toLowerCase() ?? "";
  return type.startsWith("multipart/report") && /report-type\s*=\s*"?delivery-status/.test(type);
}

export const MAX_TITLE = 200;
export const MAX_DESCRIPTION = 100_000;
export const MAX_NAME = 200;

export interface MailReportFields {
  title: string;
  description: string;
  reporterName: string;
  reporterEmail: string;
}

/**
 * The report a new message becomes. The subject is the title (cut to its limit at a
 * character boundary), the text part the description (the HTML part turned into text
 * when there is no text part), the sender the reporter. NUL characters and unpaired
 * surrogates, which no database stores faithfully, become U+FFFD; the raw original keeps
 * the exact bytes.
 */
export function reportFieldsFromMail(mail: { subject: string; text: string | null; html: string | null; from: { name: string; address: string } | null }, fallbackNote: string | null): MailReportFields {
  const subject = clean(mail.subject).replace(/\s+/g, " ").trim();
  const body = clean(mail.text ?? (mail.html ? htmlToText(mail.html) : "")).trim();
  const from = mail.from;
  const email = from?.address ? clean(from.address).trim() : "";
  const name = from?.name ? clean(from.name).replace(/\s+/g, " ").trim() : "";
  let description = body || "(The message has no text.)";
  if (fallbackNote) description = `${fallbackNote}\n\n${description}`;
  return {
    title: cut(subject || "(no subject)", MAX_TITLE),
    description: cut(description, MAX_DESCRIPTION),
    reporterName: cut(name || email.split("@")[0] || "Unknown sender", MAX_NAME),
    reporterEmail: email,
  };
}

function clean(text: string): string {
  return text.replace(/\u0000/g, "\uFFFD").toWellFormed();
}

function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** Just enough HTML-to-text for a description: tags dropped, entities of the usual kinds decoded, nothing interpreted. */
export function htmlToText(html: string): string {
  return html
    .slice(0, 2_000_000)
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|li|tr|h[1-6])\s*>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\n{3,}/g, "\n\n");
}

/** The subject of a receipt or reply in the reporter's thread: theirs with one "Re: ". */
export function replySubject(subject: string): string {
  const trimmed = subject.replace(/[\r\n]+/g, " ").trim() || "(no subject)";
  return /^re:/i.test(trimmed) ? trimmed : `Re: ${trimmed}`;
}

/** The reply text of a mail reply: the lines before the first quoted history, when there is any. */
export function replyBodyOf(text: string): string {
  const lines = text.split(/\r?\n/);
  const marker = lines.findIndex((line, i) => /^On .{1,200} wrote:\s*$/.test(line) || (line.startsWith(">") && lines.slice(i).every((l) => l.startsWith(">") || l.trim() === "")));
  const kept = marker > 0 ? lines.slice(0, marker) : lines;
  return kept.join("\n").trim() || text.trim();
}
