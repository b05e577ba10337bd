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
      // The same bytes are stored already, perhaps unreferenced and old: made young again, so
      // that start-up clean-up elsewhere (`removeLeftovers`) leaves them to the row about to name them.
      await this.files.touch(target);
    } finally {
      await this.files.remove(staged.tempPath);
    }
    await this.files.syncDir(dir);
  }

  /**
   * Removes what crashes left, older than `before`: staging files, and blobs that
   * `referenced` (asked a page of digests at a time) does not name. Returns how many of each.
   */
  async removeLeftovers(before: Date, referenced: (sha256s: string[]) => Promise<Set<string>>): Promise<{ staging: number; unreferenced: number }> {
    const old = async (file: string) => ((await this.files.stat(file))?.mtimeMs ?? Infinity) < before.getTime();
    let staging = 0;
    if (await this.files.stat(this.stagingDir)) {
      for (const entry of await this.files.readdir(this.stagingDir)) {
        const file = path.join(this.stagingDir, entry.name);
        if (!entry.isDirectory && (await old(file))) {
          await this.files.remove(file);
          staging++;
        }
      }
    }
    let unreferenced = 0;
    if (!(await this.files.stat(this.root))) return { staging, unreferenced };
    for (const dir of await this.files.readdir(this.root)) {
      if (!dir.isDirectory || !/^[0-9a-f]{2}$/.test(dir.name)) continue;
      const candidates: string[] = [];
      for (const entry of await this.files.readdir(path.join(this.root, dir.name))) {
        if (!entry.isDirectory && SHA256_HEX.test(entry.name) && entry.name.startsWith(dir.name) && (await old(this.pathOf(entry.name)))) candidates.push(entry.name);
      }
      for (let i = 0; i < candidates.length; i += 500) {
        const page = candidates.slice(i, i + 500);
        const named = await referenced(page);
        for (const sha256 of page) {
          if (named.has(sha256)) continue;
          await this.files.remove(this.pathOf(sha256));
          unreferenced++;
        }
      }
    }
    return { staging, unreferenced };
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
