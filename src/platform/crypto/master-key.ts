import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { writeFileDurably } from "../blobs/durable-file.js";

export const MASTER_KEY_FILE = "master.key";
const MASTER_KEY_BYTES = 32;

/**
 * The key that seals secrets at rest. Its bytes never leave this object in logs or
 * JSON: serialising it shows only its id, a hash that tells two master keys apart.
 */
export class MasterKey {
  readonly id: string;

  constructor(
    readonly bytes: Buffer,
    readonly source: "environment" | "file",
  ) {
    if (bytes.length !== MASTER_KEY_BYTES) throw new Error(`a master key has ${MASTER_KEY_BYTES} bytes, not ${bytes.length}`);
    this.id = createHash("sha256").update("shield master key id\n").update(bytes).digest("hex").slice(0, 16);
  }

  toJSON(): { id: string; source: string } {
    return { id: this.id, source: this.source };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `MasterKey(${this.id}, from ${this.source})`;
  }
}

/** Strict base64 (standard or URL-safe alphabet) of exactly 32 bytes, or null. */
export function decodeMasterKey(text: string): Buffer | null {
  const value = text.trim();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return null;
  const bytes = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length === MASTER_KEY_BYTES ? bytes : null;
}

/**
 * The operator's `SHIELD_MASTER_KEY` when given (already validated by the config schema),
 * else `<data dir>/master.key`, created on first start with 32 random bytes, mode 0600.
 * Two processes starting at once on one data directory end up with the same file: the
 * creation is exclusive and the loser reads the winner's key.
 * @throws Error when the file exists with the wrong size (never silently replaced: the
 * sealed secrets would be lost with it).
 */
export async function loadMasterKey(options: { dataDir: string; fromEnvironment?: string }): Promise<MasterKey> {
  if (options.fromEnvironment) {
    const bytes = decodeMasterKey(options.fromEnvironment);
    if (!bytes) throw new Error("SHIELD_MASTER_KEY must be the base64 of exactly 32 bytes");
    return new MasterKey(bytes, "environment");
  }
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  let bytes = await readIfExists(file);
  if (!bytes) {
    await writeFileDurably(file, randomBytes(MASTER_KEY_BYTES), { exclusive: true });
    bytes = await readIfExists(file);
  }
  if (!bytes || bytes.length !== MASTER_KEY_BYTES) {
    throw new Error(`${file} must hold exactly ${MASTER_KEY_BYTES} bytes (it holds ${bytes?.length ?? 0}); restore it from your backup or set SHIELD_MASTER_KEY`);
  }
  return new MasterKey(bytes, "file");
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
