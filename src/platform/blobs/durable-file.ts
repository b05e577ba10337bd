import path from "node:path";
import { takeRandomBytes } from "../crypto/secrets.js";
import { DurableDirectories } from "./durable-directories.js";
import { nodeFileSystem, type FileSystem } from "./file-system.js";

export interface DurableWriteOptions {
  /**
   * Never replace an existing file: the write succeeds only if `target` did not exist,
   * even when several processes race to create it (a hard link is atomic and refuses
   * to overwrite, where a rename would silently replace the winner's file).
   */
  exclusive?: boolean;
  /** Where directories are made durable (and which file system is written); a fresh one by default. */
  directories?: DurableDirectories;
}

/** The name a file is written under before it gets its own: `.name.<random>.tmp` beside it. */
export const TEMPORARY_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * Writes a file so that it is either wholly there or not at all, and on disk before
 * we return: directory made durably, temporary file (0600), fsync, rename, fsync of the directory.
 * @returns false only with `exclusive` when the file existed already (nothing was written).
 */
export async function writeFileDurably(target: string, data: string | Uint8Array, options: DurableWriteOptions = {}): Promise<boolean> {
  const directories = options.directories ?? new DurableDirectories();
  const files = directories.files;
  const dir = path.dirname(target);
  await directories.ensure(dir);
  const temporary = path.join(dir, `.${path.basename(target)}.${takeRandomBytes(6).toString("hex")}.tmp`);
  const handle = await files.createExclusive(temporary);
  try {
    await handle.write(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (options.exclusive) {
    try {
      await files.link(temporary, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    } finally {
      await files.remove(temporary);
    }
  } else {
    await files.rename(temporary, target);
  }
  await files.syncDir(dir);
  return true;
}

/** Removes the temporary files (`TEMPORARY_FILE`) in `dir` older than `before`, left by writes a crash cut short; returns how many. */
export async function removeStaleTemporaryFiles(dir: string, before: Date, files: FileSystem = nodeFileSystem): Promise<number> {
  if (!(await files.stat(dir))?.isDirectory) return 0;
  let removed = 0;
  for (const entry of await files.readdir(dir)) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory || !TEMPORARY_FILE.test(entry.name) || ((await files.stat(file))?.mtimeMs ?? Infinity) >= before.getTime()) continue;
    await files.remove(file);
    removed++;
  }
  return removed;
}
