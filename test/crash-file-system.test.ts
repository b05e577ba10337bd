import { describe, expect, it } from "vitest";
import { DurableDirectories } from "../src/platform/blobs/durable-directories.js";
import { writeFileDurably } from "../src/platform/blobs/durable-file.js";
import { CrashFileSystem, PowerCut } from "./crash-file-system.js";

/** The crash model must lose what a real power cut loses, or the crash tests prove nothing. */
describe("the crash model of a disk", () => {
  const fresh = () => {
    const files = new CrashFileSystem();
    files.seedDir("/data");
    return files;
  };
  const write = async (files: CrashFileSystem, file: string, text: string, options: { syncFile: boolean; syncDir: boolean }) => {
    const handle = await files.createExclusive(file);
    await handle.write(Buffer.from(text));
    if (options.syncFile) await handle.sync();
    await handle.close();
    if (options.syncDir) await files.syncDir("/data");
  };

  it("keeps a file whose bytes and name were both fsynced", async () => {
    const files = fresh();
    await write(files, "/data/kept", "whole", { syncFile: true, syncDir: true });
    files.crash();
    expect((await files.readFile("/data/kept")).toString()).toBe("whole");
  });

  it("drops the bytes of a file that was not fsynced, though its name was", async () => {
    const files = fresh();
    await write(files, "/data/empty", "lost", { syncFile: false, syncDir: true });
    expect((await files.readFile("/data/empty")).toString()).toBe("lost");
    files.crash();
    expect((await files.readFile("/data/empty")).length).toBe(0);
  });

  it("drops a new name whose directory was not fsynced, though the file was", async () => {
    const files = fresh();
    await write(files, "/data/unnamed", "synced bytes", { syncFile: true, syncDir: false });
    files.crash();
    expect(await files.stat("/data/unnamed")).toBeUndefined();
  });

  it("undoes a rename whose directory was not fsynced", async () => {
    const files = fresh();
    await write(files, "/data/a", "x", { syncFile: true, syncDir: true });
    await files.rename("/data/a", "/data/b");
    files.crash();
    expect(await files.stat("/data/a")).toBeDefined();
    expect(await files.stat("/data/b")).toBeUndefined();
  });

  it("loses a new directory not fsynced into its parent, with everything in it, however well synced", async () => {
    const files = fresh();
    await files.mkdir("/data/blobs");
    const handle = await files.createExclusive("/data/blobs/f");
    await handle.write(Buffer.from("evidence"));
    await handle.sync();
    await files.syncDir("/data/blobs");
    files.crash();
    expect(await files.stat("/data/blobs")).toBeUndefined();
  });

  it("keeps a file written durably into new directories made durably", async () => {
    const files = fresh();
    await writeFileDurably("/data/outbox/deep/m.eml", "message", { directories: new DurableDirectories(files) });
    files.crash();
    expect((await files.readFile("/data/outbox/deep/m.eml")).toString()).toBe("message");
  });

  it("cuts the power after the n-th step: that step and the ones before happened, nothing after", async () => {
    const files = fresh();
    files.cutAfter(2);
    await expect(write(files, "/data/cut", "x", { syncFile: true, syncDir: true })).rejects.toBeInstanceOf(PowerCut);
    expect(files.steps).toEqual(["create /data/cut", "write /data/cut"]);
    await expect(files.stat("/data/cut")).rejects.toBeInstanceOf(PowerCut);
    files.crash();
    expect(await files.stat("/data/cut")).toBeUndefined();
  });
});
