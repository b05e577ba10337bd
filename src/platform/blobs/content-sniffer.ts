import { createReadStream } from "node:fs";
import fs from "node:fs/promises";

/** What a file is, judged by its bytes only (never by its name or the browser's claim). */
export interface SniffedContent {
  /** The detected media type, or null when no known signature matched. */
  mime: string | null;
  /** Whether the whole file is valid UTF-8 without NUL bytes (i.e. plain text). */
  isUtf8Text: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];

/**
 * Detects a file's type with `file-type` (magic numbers). Gzip is recognised by its own
 * magic number first, because file-type would inflate up to 16 MB of it to look for a
 * tar inside, and archives are stored, never unpacked. Files without a signature are
 * scanned as text.
 */
export async function sniffFile(file: string): Promise<SniffedContent> {
  const head = Buffer.alloc(GZIP_MAGIC.length);
  const handle = await fs.open(file, "r");
  let headLength: number;
  try {
    headLength = (await handle.read(head, 0, head.length, 0)).bytesRead;
  } finally {
    await handle.close();
  }
  if (headLength === GZIP_MAGIC.length && GZIP_MAGIC.every((byte, i) => head[i] === byte)) {
    return { mime: "application/gzip", isUtf8Text: false };
  }
  // Imported with the first upload, not at start (decision 0013).
  const { fileTypeFromFile } = await import("file-type");
  const detected = await fileTypeFromFile(file);
  if (detected && !detected.mime.startsWith("text/") && detected.mime !== "application/xml") {
    return { mime: detected.mime, isUtf8Text: false };
  }
  return { mime: detected?.mime ?? null, isUtf8Text: await isUtf8TextFile(file) };
}

async function isUtf8TextFile(file: string): Promise<boolean> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      if (chunk.includes(0)) return false;
      decoder.decode(chunk, { stream: true });
    }
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}
