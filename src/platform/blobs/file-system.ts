import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import type { Readable } from "node:stream";

/** A file being written: nothing of it is durable before `sync`. */
export interface WritableFile {
  write(chunk: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileStat {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

export interface DirectoryEntry {
  name: string;
  isDirectory: boolean;
}

/**
 * The file calls Shield makes where it promises durability (attachments, mail files, keys,
 * backups), and nothing else. Production uses `nodeFileSystem`; the crash tests put a model
 * underneath that can cut power after any step (test/crash-file-system.ts). Files are
 * created 0600 and directories 0700: the umask can only take bits away from those.
 */
export interface FileSystem {
  /** Creates a file that must not exist yet (EEXIST otherwise), mode 0600. */
  createExclusive(file: string): Promise<WritableFile>;
  /** fsync of an existing file's data. */
  syncFile(file: string): Promise<void>;
  /**
   * A new file (mode 0600) whose bytes another program writes to the path it is given
   * (SQLite's online backup, pg_dump); not synced.
   */
  produce(file: string, writer: (path: string) => Promise<void>): Promise<void>;
  readFile(file: string): Promise<Buffer>;
  openRead(file: string): Readable;
  /** One level, mode 0700; EEXIST when something is there. */
  mkdir(dir: string): Promise<void>;
  /** fsync of a directory: the names in it (created, renamed, removed) are on disk after this. */
  syncDir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** A second name for a file; EEXIST when `to` exists (never replaces it). */
  link(from: string, to: string): Promise<void>;
  /** Sets a file's modification time to now. */
  touch(file: string): Promise<void>;
  /** Removes a file; nothing happens when it is not there. */
  remove(file: string): Promise<void>;
  /** Removes an empty directory. */
  removeDir(dir: string): Promise<void>;
  /** undefined when nothing is there. */
  stat(file: string): Promise<FileStat | undefined>;
  readdir(dir: string): Promise<DirectoryEntry[]>;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export const nodeFileSystem: FileSystem = {
  async createExclusive(file) {
    const handle = await fs.open(file, "wx", FILE_MODE);
    return {
      write: async (chunk) => {
        await handle.write(chunk);
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  async syncFile(file) {
    const handle = await fs.open(file, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async produce(file, writer) {
    // Created first with the mode, so that the program writing it never makes it readable to others.
    await (await fs.open(file, "wx", FILE_MODE)).close();
    await writer(file);
    await fs.chmod(file, FILE_MODE);
  },
  readFile: (file) => fs.readFile(file),
  openRead: (file) => createReadStream(file),
  mkdir: (dir) => fs.mkdir(dir, { mode: DIR_MODE }),
  syncDir: (dir) => nodeFileSystem.syncFile(dir),
  rename: (from, to) => fs.rename(from, to),
  link: (from, to) => fs.link(from, to),
  touch: async (file) => {
    const now = new Date();
    await fs.utimes(file, now, now);
  },
  remove: (file) => fs.rm(file, { force: true }),
  removeDir: (dir) => fs.rmdir(dir),
  async stat(file) {
    try {
      const stat = await fs.stat(file);
      return { size: stat.size, mtimeMs: stat.mtimeMs, isDirectory: stat.isDirectory() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  },
  async readdir(dir) {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory() }));
  },
};
