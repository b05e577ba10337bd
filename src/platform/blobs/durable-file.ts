import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

export interface DurableWriteOptions {
  /**
   * Never replace an existing file: the write succeeds only if `target` did not exist,
   * even when several processes race to create it (a hard link is atomic and refuses
   * to overwrite, where a rename would silently replace the winner's file).
   */
  exclusive?: boolean;
}

/**
 * Writes a file so that it is either wholly there or not at all, and on disk before
 * we return: temporary file, fsync, rename, fsync of the directory.
 * @returns false only with `exclusive` when the file existed already (nothing was written).
 */
export async function writeFileDurably(target: string, data: string | Uint8Array, options: DurableWriteOptions = {}): Promise<boolean> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const temporary = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (options.exclusive) {
    try {
      await fs.link(temporary, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    } finally {
      await fs.rm(temporary, { force: true });
    }
  } else {
    await fs.rename(temporary, target);
  }
  const dirHandle = await fs.open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return true;
}
