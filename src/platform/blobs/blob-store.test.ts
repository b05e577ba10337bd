import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import fsp from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { PNG } from "../../../test/attachment-fixtures.js";
import { BlobStore } from "./blob-store.js";
import { sniffFile } from "./content-sniffer.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "shield-blobs-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe("the blob store", () => {
  const store = new BlobStore(path.join(root, "blobs"));
  afterEach(() => vi.restoreAllMocks());

  it("keeps bytes under their sha256 only once committed, and drops the staging copy", async () => {
    const data = Buffer.from("evidence\n");
    const staged = await store.stage(Readable.from([data.subarray(0, 3), data.subarray(3)]));
    expect(staged).toMatchObject({ sha256: sha(data), size: data.length });
    expect(await store.has(staged.sha256)).toBe(false);
    await store.commit(staged);
    expect(fs.readFileSync(store.pathOf(staged.sha256)).equals(data)).toBe(true);
    expect(store.pathOf(staged.sha256)).toBe(path.join(root, "blobs", staged.sha256.slice(0, 2), staged.sha256));
    expect(fs.existsSync(staged.tempPath)).toBe(false);
  });

  it("has the bytes on disk before the file takes its name, and the name on disk before commit resolves", async () => {
    const data = Buffer.from("durable evidence\n");
    const staged = await store.stage(Readable.from([data]));
    // What commit does to the disk, in order: fsync of a file or directory (by path), and the link that names the blob.
    const steps: string[] = [];
    const pathOfFd = new Map<number, string>();
    const open = fsp.open;
    vi.spyOn(fsp, "open").mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await open(...args);
      pathOfFd.set(handle.fd, String(args[0]));
      return handle;
    });
    const probe = await open(staged.tempPath, "r");
    const fileHandle = Object.getPrototypeOf(probe) as { sync(this: { fd: number }): Promise<void> };
    await probe.close();
    const sync = fileHandle.sync;
    vi.spyOn(fileHandle, "sync").mockImplementation(async function (this: { fd: number }) {
      steps.push(`fsync ${pathOfFd.get(this.fd)}`);
      return sync.call(this);
    });
    const link = fsp.link;
    vi.spyOn(fsp, "link").mockImplementation(async (from, to) => {
      steps.push(`link ${String(to)}`);
      return link(from, to);
    });
    await store.commit(staged);
    const target = store.pathOf(staged.sha256);
    // The new two-hex directory is fsynced into the store's root before the blob is linked into it.
    expect(steps).toEqual([`fsync ${staged.tempPath}`, `fsync ${path.join(root, "blobs")}`, `link ${target}`, `fsync ${path.dirname(target)}`]);
  });

  it("stores identical content once and never replaces it", async () => {
    const data = Buffer.from("same\n");
    const first = await store.stage(Readable.from([data]));
    const second = await store.stage(Readable.from([data]));
    await store.commit(first);
    const inode = fs.statSync(store.pathOf(first.sha256)).ino;
    await store.commit(second);
    expect(fs.statSync(store.pathOf(first.sha256)).ino).toBe(inode);
    expect(fs.readdirSync(path.join(root, "blobs", ".staging"))).toEqual([]);
  });

  it("forgets a discarded upload", async () => {
    const staged = await store.stage(Readable.from([Buffer.from("refused")]));
    await store.discard(staged);
    expect(fs.existsSync(staged.tempPath)).toBe(false);
    expect(await store.has(staged.sha256)).toBe(false);
  });

  it("refuses a name that is not a sha256 digest", () => {
    expect(() => store.pathOf("../../etc/passwd")).toThrow();
  });
});

describe("content sniffing", () => {
  const file = (name: string, data: Buffer) => {
    const target = path.join(root, name);
    fs.writeFileSync(target, data);
    return target;
  };

  it("knows a PNG by its bytes whatever its name", async () => {
    expect(await sniffFile(file("notes.txt", PNG))).toEqual({ mime: "image/png", isUtf8Text: false });
  });

  it("recognises gzip by its magic number without inflating it", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(64, 0xff)]);
    const started = Date.now();
    expect(await sniffFile(file("bomb.gz", bomb))).toEqual({ mime: "application/gzip", isUtf8Text: false });
    expect(await sniffFile(file("corrupt.gz", corrupt))).toEqual({ mime: "application/gzip", isUtf8Text: false });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("calls UTF-8 without NUL bytes text, and anything else not", async () => {
    expect(await sniffFile(file("a.log", Buffer.from("GET / 200\nüñï\n")))).toEqual({ mime: null, isUtf8Text: true });
    expect(await sniffFile(file("b.log", Buffer.from("a\u0000b")))).toEqual({ mime: null, isUtf8Text: false });
    expect(await sniffFile(file("c.log", Buffer.from([0x63, 0x61, 0x66, 0xe9])))).toEqual({ mime: null, isUtf8Text: false });
  });
});
