import fs from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { ROOT } from "./cli.js";

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string; dev?: boolean; engines?: { node?: string } | string[] }>;
};

describe("the Node versions Shield promises", () => {
  // package.json says which Node it runs on; `npm ci` warns (EBADENGINE) for every installed
  // package that does not accept all of those, as cookie@2 did (Node >= 22) under >= 20.19.
  it("are ones every installed package accepts", () => {
    const refusing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const range = !where || Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (range && !semver.subset(manifest.engines.node, range)) refusing.push(`${where}@${entry.version} wants node ${range}`);
    }
    expect(refusing).toEqual([]);
  });
});
