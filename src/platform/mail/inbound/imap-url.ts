/**
 * `SHIELD_IMAP_URL` read into what the IMAP poller needs. Kept apart from the poller so
 * that reading the configuration does not load the IMAP client.
 */

/** What is done with a message on the server once Shield has stored it. */
export type AfterStored = { kind: "seen" } | { kind: "move"; folder: string } | { kind: "delete" };

/** A mailbox to poll, as read from `SHIELD_IMAP_URL`. */
export interface ImapMailbox {
  host: string;
  port: number;
  /** `imaps://`: TLS from the start; `imap://`: STARTTLS when the server offers it. */
  secure: boolean;
  user: string;
  password: string;
  /** The folder polled (the URL's path; `INBOX` when it has none). */
  mailbox: string;
  afterStored: AfterStored;
}

export class ImapUrlError extends Error {}

/**
 * Reads `imaps://user:password@host[:port]/MAILBOX[?move=FOLDER|?delete=true]`. User and
 * password are percent-decoded (an `@` in the user name is written `%40`).
 * @throws ImapUrlError saying what is wrong, never echoing the password
 */
export function parseImapUrl(text: string): ImapMailbox {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ImapUrlError("must be a URL such as imaps://user:password@imap.example.com/INBOX");
  }
  if (url.protocol !== "imap:" && url.protocol !== "imaps:") throw new ImapUrlError("must start with imaps:// (or imap://, which uses STARTTLS when offered)");
  if (!url.hostname) throw new ImapUrlError("must name the IMAP server's host");
  if (!url.username || !url.password) throw new ImapUrlError("must carry the mailbox's user name and password (imaps://user:password@host/INBOX)");
  const secure = url.protocol === "imaps:";
  const mailbox = decodeURIComponent(url.pathname.replace(/^\/+/, "")) || "INBOX";
  const move = url.searchParams.get("move");
  const remove = url.searchParams.get("delete");
  for (const key of url.searchParams.keys()) {
    if (key !== "move" && key !== "delete") throw new ImapUrlError(`knows no option "${key}" (only move=FOLDER or delete=true)`);
  }
  if (move !== null && remove !== null) throw new ImapUrlError("takes move=FOLDER or delete=true, not both");
  if (remove !== null && remove !== "true") throw new ImapUrlError("takes delete=true or no delete option");
  if (move !== null && !move.trim()) throw new ImapUrlError("move= needs a folder name");
  if (move !== null && move === mailbox) throw new ImapUrlError("move= must name another folder than the one polled");
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    mailbox,
    afterStored: move !== null ? { kind: "move", folder: move } : remove !== null ? { kind: "delete" } : { kind: "seen" },
  };
}
