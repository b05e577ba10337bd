import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");

/** The packages under node_modules a process loaded before it exited. */
function packagesLoaded(args: string[]): Set<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-imports-"));
  try {
    const file = path.join(dir, "imports.txt");
    const result = spawnSync(process.execPath, ["--import", path.join(root, "test", "record-imports.mjs"), ...args], {
      cwd: root,
      env: { ...process.env, SHIELD_TEST_IMPORTS_FILE: file },
      encoding: "utf8",
    });
    expect(result.status, result.stderr).toBe(0);
    const names = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .map((line) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line)?.[1])
      .filter((name): name is string => Boolean(name));
    return new Set(names);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Libraries that only some requests or configurations use: loading them at start cost
// `shield serve` most of its start-up (issue 11, decision 0013). `npm run bench:cli` times it.
const LOADED_WHEN_USED = [
  "jsdom",
  "dompurify",
  "markdown-it",
  "@zxcvbn-ts/core",
  "@zxcvbn-ts/language-common",
  "ae-cvss-calculator",
  "@simplewebauthn/server",
  "qrcode",
  "mailauth",
  "file-type",
  "nodemailer",
  "imapflow",
  "smtp-server",
];

describe("what Shield loads before it serves", () => {
  it("loads the server's wiring without the libraries that only some requests use", () => {
    const loaded = packagesLoaded(["--input-type=module", "-e", `await import(${JSON.stringify(path.join(root, "dist", "main.js"))});`]);
    expect(loaded.has("fastify") && loaded.has("kysely"), "the recorder saw the server's own libraries").toBe(true);
    expect(LOADED_WHEN_USED.filter((name) => loaded.has(name))).toEqual([]);
  });

  it("answers shield --help with commander alone", () => {
    expect([...packagesLoaded([path.join(root, "dist", "cli", "shield.js"), "--help"])]).toEqual(["commander"]);
  });
});
