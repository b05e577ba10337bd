import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding Shield's package.json. Files that ship in the source tree
 * (templates, the default policy) are read from there, whether the code runs from
 * `src/` (tests) or `dist/`.
 */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find Shield's package.json");
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot();
