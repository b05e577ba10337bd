import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../config.js";
import { openSecret, sealSecret, SealedValueError } from "./at-rest.js";
import { loadMasterKey, MASTER_KEY_FILE } from "./master-key.js";

describe("sealing secrets at rest", () => {
  const key = randomBytes(32);

  it("opens what it sealed, and the sealed text does not contain the secret", () => {
    const sealed = sealSecret(key, "-----BEGIN PGP PRIVATE KEY BLOCK----- secret", "ctx");
    expect(sealed).not.toContain("PRIVATE");
    expect(openSecret(key, sealed, "ctx").toString()).toBe("-----BEGIN PGP PRIVATE KEY BLOCK----- secret");
  });

  it("seals the same secret differently each time", () => {
    expect(sealSecret(key, "same", "ctx")).not.toBe(sealSecret(key, "same", "ctx"));
  });

  it("refuses another master key, another context, and any altered byte", () => {
    const sealed = sealSecret(key, "secret", "team key A");
    expect(() => openSecret(randomBytes(32), sealed, "team key A")).toThrow(SealedValueError);
    expect(() => openSecret(key, sealed, "team key B")).toThrow(SealedValueError);
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0]! ^= 1;
    parts[3] = body.toString("base64url");
    expect(() => openSecret(key, parts.join("."), "team key A")).toThrow(SealedValueError);
    expect(() => openSecret(key, "not sealed", "team key A")).toThrow(SealedValueError);
  });
});

describe("the master key", () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-master-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is created on first start as 32 bytes readable only by the owner, and read back afterwards", async () => {
    const dataDir = tempDir();
    const first = await loadMasterKey({ dataDir });
    const file = path.join(dataDir, MASTER_KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file)).toHaveLength(32);
    const again = await loadMasterKey({ dataDir });
    expect(again.id).toBe(first.id);
    expect(again.bytes.equals(first.bytes)).toBe(true);
  });

  it("comes out the same for processes that create it at the same moment", async () => {
    const dataDir = tempDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ dataDir })));
    expect(new Set(keys.map((k) => k.id)).size).toBe(1);
    expect(fs.readdirSync(dataDir)).toEqual([MASTER_KEY_FILE]);
  });

  it("is taken from SHIELD_MASTER_KEY when given, and then no file is written", async () => {
    const dataDir = tempDir();
    const bytes = randomBytes(32);
    const key = await loadMasterKey({ dataDir, fromEnvironment: bytes.toString("base64") });
    expect(key.bytes.equals(bytes)).toBe(true);
    expect(key.source).toBe("environment");
    expect(fs.existsSync(path.join(dataDir, MASTER_KEY_FILE))).toBe(false);
  });

  it("refuses a master.key of the wrong size instead of replacing it", async () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, MASTER_KEY_FILE), randomBytes(16));
    await expect(loadMasterKey({ dataDir })).rejects.toThrow(/master\.key must hold exactly 32 bytes \(it holds 16\)/);
    expect(fs.readFileSync(path.join(dataDir, MASTER_KEY_FILE))).toHaveLength(16);
  });

  it("never shows its bytes when logged or printed", async () => {
    const bytes = randomBytes(32);
    const key = await loadMasterKey({ dataDir: tempDir(), fromEnvironment: bytes.toString("base64") });
    for (const shown of [JSON.stringify({ key }), inspect(key), inspect({ key })]) {
      expect(shown).toContain(key.id);
      expect(shown).not.toContain(bytes.toString("base64"));
      expect(shown).not.toContain(bytes.toString("hex").slice(0, 16));
    }
  });

  it("stops start-up when SHIELD_MASTER_KEY is not the base64 of 32 bytes, naming the variable but not echoing the value", () => {
    const short = randomBytes(16).toString("base64");
    let error: unknown;
    try {
      loadConfig({ SHIELD_MASTER_KEY: short });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/SHIELD_MASTER_KEY=\(hidden\): must be the base64 of exactly 32 bytes/);
    expect((error as Error).message).not.toContain(short);
    expect(() => loadConfig({ SHIELD_MASTER_KEY: "!".repeat(44) })).toThrow(ConfigError);
    expect(loadConfig({ SHIELD_MASTER_KEY: randomBytes(32).toString("base64") }).SHIELD_MASTER_KEY).toBeTruthy();
    expect(loadConfig({ SHIELD_MASTER_KEY: randomBytes(32).toString("base64url") }).SHIELD_MASTER_KEY).toBeTruthy();
  });
});
