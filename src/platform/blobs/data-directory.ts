import fs from "node:fs/promises";
import { DurableDirectories, makeTreeDurable } from "./durable-directories.js";

/**
 * Start-up work on the data directory, before anything in it is relied on: it exists
 * (made durably), only its owner may enter it (0700, whatever the umask or an earlier
 * version left), and the tree an earlier run left is made durable once.
 */
export async function prepareDataDirectory(dataDir: string, directories = new DurableDirectories()): Promise<void> {
  await directories.ensure(dataDir);
  await restrictToOwner(dataDir, 0o700);
  await makeTreeDurable(dataDir, directories.files);
}

/** Takes group and other bits off a path Shield owns; leaves alone one it may not change. */
export async function restrictToOwner(target: string, mode: number): Promise<void> {
  try {
    const stat = await fs.stat(target);
    if ((stat.mode & 0o777) !== mode) await fs.chmod(target, mode);
  } catch (error) {
    if (!["EPERM", "ENOENT"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
  }
}
