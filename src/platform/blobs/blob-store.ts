import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import type { Readable } from "node:stream";
import { DurableDirectories } from "./durable-directories.js";
import type { FileSystem } from "./file-system.js";

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
 * after it. Identical content is stored once. Every directory on the way is made durably
 * (fsynced into its parent) before a blob in it is relied on.
 */
export class BlobStore {
  private readonly files: FileSystem;

  constructor(
    readonly root: string,
    private readonly directories: DurableDirectories = new DurableDirectories(),
  ) {
    this.files = directories.files;
  }

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
    await this.directories.ensure(this.stagingDir);
    const tempPath = path.join(this.stagingDir, `${randomBytes(12).toString("hex")}.tmp`);
    const handle = await this.files.createExclusive(tempPath);
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
      await this.files.remove(tempPath);
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
    await this.files.syncFile(staged.tempPath);
    const target = this.pathOf(staged.sha256);
    const dir = path.dirname(target);
    await this.directories.ensure(dir);
    try {
      await this.files.link(staged.tempPath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await this.files.remove(staged.tempPath);
    }
    await this.files.syncDir(dir);
  }

  async discard(staged: StagedBlob): Promise<void> {
    await this.files.remove(staged.tempPath);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.files.stat(this.pathOf(sha256))) !== undefined;
  }

  /** @throws when the blob is not in the store (ENOENT) */
  async open(sha256: string): Promise<{ stream: Readable; size: number }> {
    const file = this.pathOf(sha256);
    const stat = await this.files.stat(file);
    if (!stat) throw Object.assign(new Error(`no blob ${sha256}`), { code: "ENOENT" });
    return { stream: this.files.openRead(file), size: stat.size };
  }
}
