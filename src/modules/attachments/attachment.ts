import { DomainError } from "../../shared/errors.js";

/**
 * What Shield accepts as an attachment and how an attachment leaves it. Pure.
 *
 * Accepted, judged by content: images, PDF, UTF-8 plain text, archives (zip, tar,
 * gzip; stored, never unpacked) and video. Everything else is refused, executables
 * by name ("a Windows program") so the reporter knows why.
 */
export interface Attachment {
  id: number;
  reportId: number;
  messageId: number | null;
  sha256: string;
  /** As sent: hostile text. Escape it on pages; use `contentDispositionFor` in headers. */
  filename: string;
  contentType: string;
  size: number;
  createdAt: string;
  /** A binary OpenPGP message made in the reporter's browser (008); the team downloads it decrypted with `?decrypted=1`. */
  browserEncrypted?: boolean;
}

export interface AttachmentLimits {
  maxFileBytes: number;
  maxFiles: number;
  maxTotalBytes: number;
}

const IMAGES = ["image/png", "image/apng", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/avif", "image/heic", "image/heif"];
const VIDEOS = ["video/mp4", "video/x-m4v", "video/webm", "video/quicktime", "video/matroska", "video/vnd.avi", "video/mpeg", "video/ogg", "video/3gpp"];
const ARCHIVES = ["application/zip", "application/x-tar", "application/gzip"];
const DOCUMENTS = ["application/pdf"];
const ACCEPTED = new Set([...IMAGES, ...VIDEOS, ...ARCHIVES, ...DOCUMENTS]);

/** For the form and the docs: what may be attached. */
export const ACCEPTED_KINDS_TEXT =
  "images (PNG, JPEG, GIF, WebP, BMP, TIFF, AVIF, HEIC), PDF, plain text in UTF-8 (logs, scripts, source), archives (zip, tar, gzip; stored, never unpacked) and video (MP4, WebM, QuickTime, Matroska, AVI, MPEG, Ogg)";

const EXECUTABLES: Record<string, string> = {
  "application/x-msdownload": "a Windows program",
  "application/x-elf": "a Linux program",
  "application/x-mach-binary": "a macOS program",
  "application/java-vm": "a Java class file",
  "application/java-archive": "a Java archive",
  "application/vnd.android.package-archive": "an Android app",
  "application/wasm": "a WebAssembly module",
  "application/x-deb": "a Debian package",
  "application/x-rpm": "an RPM package",
  "application/x-apple-diskimage": "a macOS disk image",
  "application/x-google-chrome-extension": "a browser extension",
  "application/x-xpinstall": "a browser extension",
  "application/x-shockwave-flash": "a Flash program",
  "application/x.ms.shortcut": "a Windows shortcut",
  "application/vnd.ms-cab-compressed": "a Windows installer archive",
  "application/x-cfb": "a Microsoft compound file (installer or macro document)",
};

export type Classification = { ok: true; contentType: string } | { ok: false; why: string };

/**
 * Decides from sniffed content whether a file is accepted and under which type it is
 * recorded. Text is accepted only as UTF-8 without NUL bytes.
 */
export function classifyContent(content: { mime: string | null; isUtf8Text: boolean }): Classification {
  const { mime } = content;
  if (mime && ACCEPTED.has(mime)) return { ok: true, contentType: mime };
  if (mime && EXECUTABLES[mime]) return { ok: false, why: `is ${EXECUTABLES[mime]}; executables are refused` };
  if ((mime === null || mime.startsWith("text/") || mime === "application/xml") && content.isUtf8Text) {
    return { ok: true, contentType: "text/plain" };
  }
  if (mime) return { ok: false, why: `is of a type that is not accepted (${mime})` };
  return { ok: false, why: "is unknown binary data (text must be UTF-8)" };
}

/** "10 MB", "512 KB", "12 bytes". Powers of 1024, as upload limits are usually read. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${trim(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${trim(bytes / 1024)} KB`;
  return `${bytes} byte${bytes === 1 ? "" : "s"}`;
}

function trim(n: number): string {
  return n >= 10 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1).replace(/\.0$/, "");
}

/**
 * A file name safe to offer in a download: no control or bidirectional-override
 * characters, no path, no leading dot, bounded. Empty names become "attachment".
 */
export function sanitizeFilename(name: string): string {
  const cleaned = name
    .toWellFormed()
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
    .replace(/[/\\]/g, "_")
    .replace(/^[\s.]+/, "")
    .trim();
  const bounded = Array.from(cleaned).slice(0, 150).join("");
  return bounded || "attachment";
}

/**
 * `Content-Disposition: attachment` with an ASCII fallback and the exact name in
 * RFC 5987 `filename*` (RFC 6266 §4.3), so no header injection and no mojibake.
 */
export function contentDispositionFor(name: string): string {
  const safe = sanitizeFilename(name);
  const ascii = safe.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export const AttachmentNotEncryptedError = (reportId: number, attachmentId: number) =>
  new DomainError("attachment_not_encrypted", "invalid", `Attachment ${attachmentId} of report ${reportId} was not encrypted in the browser; download it without ?decrypted=1.`);

export const AttachmentNotFoundError = (reportId: number, attachmentId: number) =>
  new DomainError("attachment_not_found", "not_found", `Report ${reportId} has no attachment ${attachmentId}.`);
