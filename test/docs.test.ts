import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../src/config.js";

const root = path.resolve(import.meta.dirname, "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const architecture = fs.readFileSync(path.join(root, "docs", "ARCHITECTURE.md"), "utf8");

describe("the documentation", () => {
  it("lists every setting of the environment in the README's table", () => {
    const missing = Object.keys(configSchema.shape).filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  it("shows the two set-up commands", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm ci && npm test");
  });

  it("names every source folder in docs/ARCHITECTURE.md", () => {
    const folders: string[] = [];
    const walk = (dir: string, depth: number) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const full = path.join(dir, entry.name);
        folders.push(path.relative(path.join(root, "src"), full));
        if (depth < 2) walk(full, depth + 1);
      }
    };
    walk(path.join(root, "src"), 1);
    const missing = folders.filter((folder) => !architecture.includes(`${folder.split(path.sep).join("/")}/`));
    expect(missing).toEqual([]);
  });
});
