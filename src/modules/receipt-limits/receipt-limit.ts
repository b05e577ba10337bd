/**
 * How many automatic receipts one address may get (issue 12, "not a mail cannon"): anyone
 * can submit reports naming someone else's address, so without a limit Shield would mail
 * that person once per report. Pure rules; the counting across processes is in
 * receipt-limit.repository.ts.
 */

/** At most `perWindow` mails to one recipient in any `windowMs`; a digest counts as one. */
export interface ReceiptLimit {
  perWindow: number;
  windowMs: number;
}

/** What to do with one receipt for a recipient. */
export type ReceiptDecision =
  /** Mail it now: the window has room and no digest is waiting. */
  | { kind: "send" }
  /** Hold it back: it joins the recipient's digest, mailed at `digestDueAt`. */
  | { kind: "fold"; digestDueAt: Date }
  /** Never: the address is one of Shield's own. */
  | { kind: "own_address" };

/**
 * The form addresses are compared in: trimmed, lower case, without a `+tag` in the local
 * part (`security+r123@example.com` is `security@example.com`). Mail systems treat the local
 * part's case and tag their own way; erring towards "the same person" only ever sends less.
 */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  const at = trimmed.lastIndexOf("@");
  if (at <= 0) return trimmed;
  const local = trimmed.slice(0, at);
  const plus = local.indexOf("+");
  return `${plus > 0 ? local.slice(0, plus) : local}${trimmed.slice(at)}`;
}

/**
 * The address in a header value such as `Shield <security@example.com>`, or the value
 * itself when it has no angle brackets.
 */
export function addressIn(headerValue: string): string {
  const angled = /<([^<>]+)>\s*$/.exec(headerValue);
  return (angled ? angled[1]! : headerValue).trim();
}

/** True when `recipient` is one of Shield's own addresses (a receipt there would mail Shield itself, or loop). */
export function isOwnAddress(recipient: string, ownAddresses: readonly string[]): boolean {
  const normalized = normalizeAddress(recipient);
  return ownAddresses.some((own) => normalizeAddress(addressIn(own)) === normalized);
}

/**
 * When the window has room for one more mail, given the times of the mails already sent
 * to this recipient (any order): now if fewer than `perWindow` fall in the last
 * `windowMs`, otherwise when the oldest of the latest `perWindow` leaves the window.
 */
export function nextFreeSlot(limit: ReceiptLimit, sentAt: readonly Date[], now: Date): Date {
  const recent = sentAt.map((d) => d.getTime()).filter((t) => t > now.getTime() - limit.windowMs).sort((a, b) => b - a);
  if (recent.length < limit.perWindow) return now;
  return new Date(recent[limit.perWindow - 1]! + limit.windowMs);
}

/**
 * Decides one receipt. While a digest is waiting, every later receipt joins it, so that
 * receipts reach the recipient in the order they were written and the digest is not
 * overtaken by a receipt that found a free slot first.
 */
export function decideReceipt(
  limit: ReceiptLimit,
  input: { recipient: string; ownAddresses: readonly string[]; sentAt: readonly Date[]; digestWaiting: boolean; now: Date },
): ReceiptDecision {
  if (isOwnAddress(input.recipient, input.ownAddresses)) return { kind: "own_address" };
  const slot = nextFreeSlot(limit, input.sentAt, input.now);
  if (!input.digestWaiting && slot.getTime() <= input.now.getTime()) return { kind: "send" };
  return { kind: "fold", digestDueAt: slot };
}

/**
 * Shield's own addresses, which never get a receipt: the security and support contacts
 * of the settings, the From address of outgoing mail, and any further program address.
 */
export function shieldAddressesOf(settings: { securityEmail: string; supportEmail: string }, mailFrom?: string, more: readonly string[] = []): string[] {
  return [settings.securityEmail, settings.supportEmail, ...(mailFrom ? [mailFrom] : []), ...more];
}
