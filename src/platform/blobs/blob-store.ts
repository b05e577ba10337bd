import { createHash, randomBytes } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

/** Bytes received into a temporary file, not yet part of the store. */
export interface StagedBlob {
  tempPath: string;
  sha256: string;
  size: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Content-addressed files under one directory: `<root>/<first two hex>/<sha256>`.
 * Bytes arrive in a temporary file (`<root>/.staging/`, same file system), and become
 * part of the store only through `commit`, which makes them durable (fsync, link into
 * place, fsync of the directories) so that a database row naming the blob can commit
 * after it. Identical content is stored once.
 */
export class BlobStore {
  constructor(readonly root: string) {}

  private get stagingDir(): string {
    return path.join(this.root, ".staging");
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error("not a sha256 hex digest");
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  /**
   * Copies `source` into a temporary file while hashing it. The caller bounds the
   * source's length (the multipart parser cuts files at the configured limit).
   * The temporary file is removed if reading fails.
   */
  async stage(source: AsyncIterable<Uint8Array>): Promise<StagedBlob> {
    await fs.mkdir(this.stagingDir, { recursive: true, mode: 0o700 });
    const tempPath = path.join(this.stagingDir, `${randomBytes(12).toString("hex")}.tmp`);
    const handle = await fs.open(tempPath, "wx", 0o600);
    const hash = createHash("sha256");
    let size = 0;
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        await handle.write(chunk);
      }
    } catch (error) {
      await handle.close();
      await fs.rm(tempPath, { force: true });
      throw error;
    }
    await handle.close();
    return { tempPath, sha256: hash.digest("hex"), size };
  }

  /**
   * Makes a staged blob part of the store, on disk before this resolves. When the same
   * content is stored already, the staged copy is dropped: a hard link never replaces
   * an existing file, so two uploads of the same bytes cannot clobber each other.
   */
  async commit(staged: StagedBlob): Promise<void> {
    const handle = await fs.open(staged.tempPath, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const target = this.pathOf(staged.sha256);
    const dir = path.dirname(target);
    const createdDir = !(await exists(dir));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await fs.link(staged.tempPath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await fs.rm(staged.tempPath, { force: true });
    }
    await syncDir(dir);
    if (createdDir) await syncDir(this.root);
  }

  async discard(staged: StagedBlob): Promise<void> {
    await fs.rm(staged.tempPath, { force: true });
  }

  async has(sha256: string): Promise<boolean> {
    return exists(this.pathOf(sha256));
  }

  /** @throws when the blob is not in the store (ENOENT) */
  async open(sha256: string): Promise<{ stream: ReadStream; size: number }> {
    const file = this.pathOf(sha256);
    const stat = await fs.stat(file);
    return { stream: createReadStream(file), size: stat.size };
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
