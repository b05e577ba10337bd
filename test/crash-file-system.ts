import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { DirectoryEntry, FileStat, FileSystem, WritableFile } from "../src/platform/blobs/file-system.js";

/** Thrown by every call once the power is cut: the process is gone. */
export class PowerCut extends Error {
  override readonly name = "PowerCut";
}

interface FileNode {
  kind: "file";
  /** What a reader sees now. */
  data: Buffer;
  /** What is on disk: the data as of the last fsync of this file. */
  durable: Buffer;
  mtimeMs: number;
}

interface DirNode {
  kind: "dir";
  /** The names as a reader sees them now. */
  entries: Map<string, Node>;
  /** The names on disk: as of the last fsync of this directory. */
  durable: Map<string, Node>;
  mtimeMs: number;
}

type Node = FileNode | DirNode;

const errno = (code: string, what: string) => Object.assign(new Error(`${code}: ${what}`), { code });

/**
 * A model of a disk under the file calls Shield makes, for crash tests without special
 * hardware. Writes and namespace changes (create, mkdir, rename, link, remove) take effect
 * at once for readers, and reach the disk only when fsynced: a file's bytes by fsync of
 * the file, a directory's names by fsync of the directory. `crash()` is the power cut: the
 * disk state becomes the state, so unsynced bytes are dropped and every name change in a
 * directory not fsynced since is undone (a new directory not fsynced into its parent is
 * gone with everything in it). `cutAfter(n)` makes the calls after the n-th step throw
 * PowerCut, so a test can cut the power after any step of an operation.
 */
export class CrashFileSystem implements FileSystem {
  private root: DirNode = { kind: "dir", entries: new Map(), durable: new Map(), mtimeMs: Date.now() };
  private limit: number | undefined;
  /** The steps taken since the last `cutAfter` or `crash`, e.g. "fsync /data/blobs". */
  readonly steps: string[] = [];
  cut = false;

  /** Directories that exist on disk already (as an earlier, synced run left them). */
  seedDir(dir: string): void {
    let node = this.root;
    for (const name of parts(dir)) {
      let next = node.entries.get(name);
      if (!next) {
        next = { kind: "dir", entries: new Map(), durable: new Map(), mtimeMs: Date.now() };
        node.entries.set(name, next);
        node.durable.set(name, next);
      }
      if (next.kind !== "dir") throw errno("ENOTDIR", dir);
      node = next;
    }
  }

  /** A file on disk already, bytes and name. */
  seedFile(file: string, bytes: Buffer): void {
    this.seedDir(path.dirname(file));
    const dir = this.lookup(path.dirname(file)) as DirNode;
    const node: FileNode = { kind: "file", data: Buffer.from(bytes), durable: Buffer.from(bytes), mtimeMs: Date.now() };
    dir.entries.set(path.basename(file), node);
    dir.durable.set(path.basename(file), node);
  }

  cutAfter(steps: number): void {
    this.limit = steps;
    this.steps.length = 0;
  }

  /** The power cut: what was not on disk is gone. Calls work again afterwards (the restart). */
  crash(): void {
    const copies = new Map<Node, Node>();
    const restore = (node: Node): Node => {
      const known = copies.get(node);
      if (known) return known;
      if (node.kind === "file") {
        const copy: FileNode = { kind: "file", data: Buffer.from(node.durable), durable: Buffer.from(node.durable), mtimeMs: node.mtimeMs };
        copies.set(node, copy);
        return copy;
      }
      const copy: DirNode = { kind: "dir", entries: new Map(), durable: new Map(), mtimeMs: node.mtimeMs };
      copies.set(node, copy);
      for (const [name, child] of node.durable) {
        const restored = restore(child);
        copy.entries.set(name, restored);
        copy.durable.set(name, restored);
      }
      return copy;
    };
    this.root = restore(this.root) as DirNode;
    this.limit = undefined;
    this.cut = false;
    this.steps.length = 0;
  }

  private step(what: string): void {
    this.alive();
    if (this.limit !== undefined && this.steps.length >= this.limit) {
      this.cut = true;
      throw new PowerCut(`power cut before: ${what}`);
    }
    this.steps.push(what);
  }

  private alive(): void {
    if (this.cut) throw new PowerCut("the power is off");
  }

  private lookup(target: string): Node | undefined {
    let node: Node = this.root;
    for (const name of parts(target)) {
      if (node.kind !== "dir") return undefined;
      const next: Node | undefined = node.entries.get(name);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private parentOf(target: string): { dir: DirNode; name: string } {
    const dir = this.lookup(path.dirname(target));
    if (!dir) throw errno("ENOENT", target);
    if (dir.kind !== "dir") throw errno("ENOTDIR", target);
    return { dir, name: path.basename(target) };
  }

  private fileAt(target: string): FileNode {
    const node = this.lookup(target);
    if (!node) throw errno("ENOENT", target);
    if (node.kind !== "file") throw errno("EISDIR", target);
    return node;
  }

  private newFile(target: string, data: Buffer): FileNode {
    const { dir, name } = this.parentOf(target);
    if (dir.entries.has(name)) throw errno("EEXIST", target);
    const file: FileNode = { kind: "file", data, durable: Buffer.alloc(0), mtimeMs: Date.now() };
    dir.entries.set(name, file);
    return file;
  }

  async createExclusive(target: string): Promise<WritableFile> {
    this.step(`create ${target}`);
    const file = this.newFile(target, Buffer.alloc(0));
    return {
      write: async (chunk) => {
        this.step(`write ${target}`);
        file.data = Buffer.concat([file.data, chunk]);
      },
      sync: async () => {
        this.step(`fsync ${target}`);
        file.durable = Buffer.from(file.data);
      },
      close: async () => this.alive(),
    };
  }

  async syncFile(target: string): Promise<void> {
    this.step(`fsync ${target}`);
    const file = this.fileAt(target);
    file.durable = Buffer.from(file.data);
  }

  async produce(target: string, writer: (path: string) => Promise<void>): Promise<void> {
    this.step(`write ${target} (by another program)`);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shield-crash-model-"));
    try {
      const real = path.join(scratch, randomBytes(4).toString("hex"));
      await writer(real);
      this.newFile(target, fs.readFileSync(real));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  async readFile(target: string): Promise<Buffer> {
    this.alive();
    return Buffer.from(this.fileAt(target).data);
  }

  openRead(target: string): Readable {
    this.alive();
    return Readable.from([Buffer.from(this.fileAt(target).data)]);
  }

  async mkdir(target: string): Promise<void> {
    this.step(`mkdir ${target}`);
    const { dir, name } = this.parentOf(target);
    if (dir.entries.has(name)) throw errno("EEXIST", target);
    dir.entries.set(name, { kind: "dir", entries: new Map(), durable: new Map(), mtimeMs: Date.now() });
  }

  async syncDir(target: string): Promise<void> {
    this.step(`fsync ${target}/`);
    const node = this.lookup(target);
    if (!node) throw errno("ENOENT", target);
    if (node.kind !== "dir") throw errno("ENOTDIR", target);
    node.durable = new Map(node.entries);
  }

  async rename(from: string, to: string): Promise<void> {
    this.step(`rename ${from} ${to}`);
    const source = this.parentOf(from);
    const node = source.dir.entries.get(source.name);
    if (!node) throw errno("ENOENT", from);
    const target = this.parentOf(to);
    source.dir.entries.delete(source.name);
    target.dir.entries.set(target.name, node);
  }

  async link(from: string, to: string): Promise<void> {
    this.step(`link ${from} ${to}`);
    const node = this.fileAt(from);
    const target = this.parentOf(to);
    if (target.dir.entries.has(target.name)) throw errno("EEXIST", to);
    target.dir.entries.set(target.name, node);
  }

  async touch(target: string): Promise<void> {
    this.step(`touch ${target}`);
    this.fileAt(target).mtimeMs = Date.now();
  }

  async remove(target: string): Promise<void> {
    this.step(`remove ${target}`);
    const { dir, name } = this.parentOf(target);
    if (dir.entries.get(name)?.kind === "dir") throw errno("EISDIR", target);
    dir.entries.delete(name);
  }

  async removeDir(target: string): Promise<void> {
    this.step(`rmdir ${target}`);
    const { dir, name } = this.parentOf(target);
    const node = dir.entries.get(name);
    if (!node) throw errno("ENOENT", target);
    if (node.kind !== "dir") throw errno("ENOTDIR", target);
    if (node.entries.size > 0) throw errno("ENOTEMPTY", target);
    dir.entries.delete(name);
  }

  async stat(target: string): Promise<FileStat | undefined> {
    this.alive();
    const node = this.lookup(target);
    if (!node) return undefined;
    return { size: node.kind === "file" ? node.data.length : 0, mtimeMs: node.mtimeMs, isDirectory: node.kind === "dir" };
  }

  async readdir(target: string): Promise<DirectoryEntry[]> {
    this.alive();
    const node = this.lookup(target);
    if (!node) throw errno("ENOENT", target);
    if (node.kind !== "dir") throw errno("ENOTDIR", target);
    return [...node.entries].map(([name, child]) => ({ name, isDirectory: child.kind === "dir" }));
  }
}

function parts(target: string): string[] {
  return path.resolve(target).split(path.sep).filter(Boolean);
}

/**
 * Runs `operation` with the power cut after step 0, 1, 2, … until it completes without a
 * cut, calling `check` after each crash (and once after the complete run, also crashed).
 * Each run starts on a fresh model made by `fresh`. Returns how many cut points were tried.
 */
export async function cutAtEveryStep<T>(
  fresh: () => CrashFileSystem,
  operation: (files: CrashFileSystem, run: number) => Promise<T>,
  check: (files: CrashFileSystem, outcome: { completed: true; value: T } | { completed: false }, run: number) => Promise<void>,
): Promise<number> {
  for (let cutAt = 0; ; cutAt++) {
    const files = fresh();
    files.cutAfter(cutAt);
    let outcome: { completed: true; value: T } | { completed: false };
    try {
      outcome = { completed: true, value: await operation(files, cutAt) };
    } catch (error) {
      if (!(error instanceof PowerCut) && !files.cut) throw error;
      outcome = { completed: false };
    }
    files.crash();
    await check(files, outcome, cutAt);
    if (outcome.completed) return cutAt;
  }
}
