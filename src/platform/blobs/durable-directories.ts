import path from "node:path";
import { nodeFileSystem, type FileSystem } from "./file-system.js";

/**
 * Creates directories so that they survive a power cut: every level that is created is
 * fsynced into its parent before anything inside it is relied on. (A file fsynced into a
 * directory whose own entry never reached the disk is lost with the directory.) Levels
 * that exist already are taken as durable: start-up makes the data directory's existing
 * tree durable once (`makeTreeDurable`). Remembers the directories it has seen, so the
 * cost is paid once per directory and process.
 */
export class DurableDirectories {
  private readonly known = new Set<string>();

  constructor(readonly files: FileSystem = nodeFileSystem) {}

  async ensure(dir: string): Promise<void> {
    const target = path.resolve(dir);
    if (this.known.has(target)) return;
    const stat = await this.files.stat(target);
    if (stat) {
      if (!stat.isDirectory) throw Object.assign(new Error(`${target} is not a directory`), { code: "ENOTDIR" });
      this.known.add(target);
      return;
    }
    const parent = path.dirname(target);
    await this.ensure(parent);
    try {
      await this.files.mkdir(target);
    } catch (error) {
      // Another process made it a moment ago: its entry may not be on disk yet either.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    await this.files.syncDir(parent);
    this.known.add(target);
  }
}

/**
 * fsyncs every directory under `root` and `root` into its parent, so that whatever names
 * an earlier run created (and perhaps never synced) are on disk before Shield relies on
 * them. Files are not synced here: each was fsynced before it was given its name.
 * @returns how many directories were synced
 */
export async function makeTreeDurable(root: string, files: FileSystem = nodeFileSystem): Promise<number> {
  let synced = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await files.readdir(dir)) if (entry.isDirectory) await walk(path.join(dir, entry.name));
    await files.syncDir(dir);
    synced++;
  };
  await walk(path.resolve(root));
  try {
    await files.syncDir(path.dirname(path.resolve(root)));
  } catch (error) {
    // A parent we may not read (a home directory of mode 0711): its entry is the operator's business.
    if (!["EACCES", "EPERM"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
  }
  return synced;
}
