import type { FastifyRequest } from "fastify";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import { DomainError } from "../../shared/errors.js";
import { describeBytes, discardUploads, stageUpload, type AcceptedUpload, type AttachmentLimits } from "../../modules/attachments/index.js";

/**
 * A multipart form as read: text fields decoded, accepted files staged (not yet
 * stored), and what was wrong with either, by field name.
 */
export interface MultipartForm {
  fields: Map<string, string>;
  uploads: AcceptedUpload[];
  problems: Record<string, string>;
  /** Whether the sender chose any file at all (to say that files are not kept when the form comes back). */
  hadFiles: boolean;
  /**
   * Fields named in `keepInvalidUtf8` that were not valid UTF-8: the bytes as sent. Their
   * value in `fields` has U+FFFD where bytes could not be read (decision 0010).
   */
  asSent: Map<string, Buffer>;
}

/** Per field: 1 MiB is far above the longest text field the schema allows (a 200 000-character key). */
const FIELD_BYTES = 1024 * 1024;
const MAX_FIELDS = 40;
/** Files past the allowed count are read and dropped up to this many; beyond it the request is refused outright. */
const EXTRA_FILES = 5;

/** On a form that comes back for another reason, next to a field whose bytes were not UTF-8 (and so were not kept). */
export const NOT_UTF8_AGAIN = "was not valid UTF-8 text: part of it could not be read (shown here as �). Sent again as it is, it is stored as shown; retype or paste it to send it as you meant it.";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

/**
 * Busboy is told to hand text fields over byte for byte (latin1), so that this decoder,
 * not a lenient one, decides about UTF-8: invalid bytes are never silently replaced. The
 * value is the lenient reading (U+FFFD where bytes could not be read), and `bytes` what was
 * sent; the caller either refuses the field or keeps those bytes (`keepInvalidUtf8`,
 * decision 0010). A part that declares its own charset (browsers never do) is decoded by
 * busboy in that charset: a character above U+00FF shows that it was, and then the bytes
 * are no longer known.
 */
function decodeField(raw: string): { ok: true; value: string } | { ok: false; value: string; bytes: Buffer | null } {
  if (/[^\u0000-\u00ff]/.test(raw)) return raw.includes("\uFFFD") ? { ok: false, value: raw, bytes: null } : { ok: true, value: raw };
  const bytes = Buffer.from(raw, "latin1");
  try {
    return { ok: true, value: utf8.decode(bytes) };
  } catch {
    return { ok: false, value: lenient.decode(bytes), bytes };
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of stream) {
    // discarded
  }
}

/**
 * Reads a `multipart/form-data` request: text fields into `fields` (the first value of
 * each name wins), files of `fileField` (null: none expected, all dropped) through the content check into the staging
 * area, within the attachment limits. Limits broken file by file become problems on
 * `fileField`, so the form can come back with every other input kept.
 * Staged files are the caller's to store or discard; on a thrown error they are
 * discarded here.
 * @throws the multipart plugin's errors (too many parts or files, malformed body)
 */
export async function readMultipartForm(
  request: FastifyRequest,
  blobs: BlobStore,
  limits: AttachmentLimits,
  fileField: string | null,
  options: { allowOpenPgpWhen?: (fieldsSoFar: Map<string, string>) => boolean; keepInvalidUtf8?: readonly string[] } = {},
): Promise<MultipartForm> {
  const fields = new Map<string, string>();
  const uploads: AcceptedUpload[] = [];
  const problems: Record<string, string> = {};
  const asSent = new Map<string, Buffer>();
  const fileProblems: string[] = [];
  let hadFiles = false;
  let count = 0;
  let total = 0;
  let tooMany = false;

  try {
    const parts = request.parts({
      defCharset: "latin1",
      limits: {
        fileSize: limits.maxFileBytes,
        files: limits.maxFiles + EXTRA_FILES,
        fields: MAX_FIELDS,
        fieldSize: FIELD_BYTES,
        parts: limits.maxFiles + EXTRA_FILES + MAX_FIELDS,
        headerPairs: 20,
      },
    });
    for await (const part of parts) {
      if (part.type === "file") {
        if (part.fieldname !== fileField || part.filename === "") {
          await drain(part.file);
          continue;
        }
        hadFiles = true;
        count++;
        if (count > limits.maxFiles) {
          tooMany = true;
          await drain(part.file);
          continue;
        }
        const name = part.filename;
        if (name.includes("\u0000") || name.length > 255) {
          await drain(part.file);
          fileProblems.push(`A file name is longer than 255 characters or contains a NUL character; rename the file.`);
          continue;
        }
        // Busboy reads file names leniently, as UTF-8 with each invalid byte replaced by
        // U+FFFD: a name with one cannot be kept as sent, so it is refused like a text field.
        if (name.includes("\uFFFD")) {
          await drain(part.file);
          fileProblems.push(`The name of “${name}” is not valid UTF-8 text: part of it could not be read (shown here as �). Rename the file and attach it again.`);
          continue;
        }
        // Fields sent before the file decide (the encrypting script sends its flag first).
        const outcome = await stageUpload(blobs, part.file, name, { allowOpenPgp: options.allowOpenPgpWhen?.(fields) ?? false });
        if (part.file.truncated) {
          if (outcome.ok) await discardUploads(blobs, [outcome.upload]);
          fileProblems.push(`“${name}” is larger than ${describeBytes(limits.maxFileBytes)}.`);
          continue;
        }
        if (!outcome.ok) {
          fileProblems.push(`“${name}” ${outcome.why}.`);
          continue;
        }
        total += outcome.upload.blob.size;
        if (total > limits.maxTotalBytes) {
          await discardUploads(blobs, [outcome.upload]);
          fileProblems.push(`“${name}” goes over ${describeBytes(limits.maxTotalBytes)} for all files together.`);
          continue;
        }
        uploads.push(outcome.upload);
      } else {
        const name = part.fieldname;
        if (fields.has(name)) continue;
        if (typeof part.value !== "string") {
          problems[name] = "must be text";
          fields.set(name, "");
          continue;
        }
        const decoded = decodeField(part.value);
        fields.set(name, decoded.value);
        if (part.valueTruncated) problems[name] = "is far too long";
        else if (!decoded.ok && decoded.bytes && options.keepInvalidUtf8?.includes(name)) asSent.set(name, decoded.bytes);
        else if (!decoded.ok) problems[name] = "is not valid UTF-8 text: part of it could not be read (shown here as �). Please retype or paste it again.";
      }
    }
  } catch (error) {
    await discardUploads(blobs, uploads);
    // The parser's own limits carry a status; file-system trouble carries a syscall.
    // Anything else is a body busboy could not parse: the sender's fault, not ours.
    const known = error as { statusCode?: number; syscall?: string };
    if (known.statusCode !== undefined || known.syscall !== undefined || error instanceof DomainError) throw error;
    throw new DomainError("form_unreadable", "invalid", "The form could not be read: the request is not well-formed multipart/form-data.");
  }

  if (tooMany) fileProblems.unshift(`At most ${limits.maxFiles} files can be attached.`);
  if (fileProblems.length && fileField) problems[fileField] = fileProblems.join(" ");
  return { fields, uploads, problems, hadFiles, asSent };
}
