// `npm run build` (and `npm start` before it serves): compiles what changed since the last
// build, and nothing when nothing did.
//
// - The server code: tsc, incremental (its .tsbuildinfo lives in dist/.build/, so removing
//   dist/ forces a full build), run only when one of its inputs changed.
// - The browser modules (src/web/client/): vite, run only when one of theirs changed.
//
// "Changed" is decided by a stamp per part in dist/.build/: a hash of every input file's
// path, size and modification time, taken before the compiler starts (an edit made while it
// runs is caught by the next build). A deleted or added file changes the hash too.
//
//   node scripts/build.js           build what is stale
//   node scripts/build.js --force   build both parts
//   node scripts/build.js --check   build nothing; exit 1 and name the stale parts if any
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stampDir = path.join(root, "dist", ".build");
const bin = (name) => path.join(root, "node_modules", ".bin", name);

/** Every file under `dir` (relative to the root) that `keep` accepts. */
function filesUnder(dir, keep) {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { recursive: true, withFileTypes: true }).flatMap((entry) => {
    if (!entry.isFile()) return [];
    const relative = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
    return keep(relative) ? [relative] : [];
  });
}

const isCompiled = (file) => /\.(ts|mts|json)$/.test(file) && !file.endsWith(".test.ts");
const shared = ["package.json", "package-lock.json", "tsconfig.json"];

const parts = [
  {
    name: "server",
    inputs: () => [...shared, "tsconfig.build.json", ...filesUnder("src", (f) => isCompiled(f) && !f.startsWith("src/web/client/"))],
    command: [bin("tsc"), "-p", "tsconfig.build.json"],
  },
  {
    name: "client",
    inputs: () => [...shared, "tsconfig.client.json", "vite.config.ts", ...filesUnder("src/web/client", isCompiled)],
    command: [bin("vite"), "build"],
  },
];

function fingerprint(files) {
  const hash = createHash("sha256");
  for (const file of [...files].sort()) {
    const stat = fs.statSync(path.join(root, file), { throwIfNoEntry: false });
    hash.update(`${file}\t${stat ? `${stat.size}\t${stat.mtimeMs}` : "missing"}\n`);
  }
  return hash.digest("hex");
}

const stampOf = (part) => path.join(stampDir, `${part.name}.inputs`);
const readStamp = (part) => (fs.existsSync(stampOf(part)) ? fs.readFileSync(stampOf(part), "utf8") : "");

const mode = process.argv[2] ?? "";
if (!["", "--force", "--check"].includes(mode)) {
  console.error(`usage: node scripts/build.js [--force | --check]`);
  process.exit(2);
}

const stale = [];
let failed = 0;
for (const part of parts) {
  const current = fingerprint(part.inputs());
  if (mode !== "--force" && readStamp(part) === current) continue;
  stale.push(part.name);
  if (mode === "--check") continue;
  // A part that fails (tsc emits despite type errors) gets no stamp, so the next build
  // tries again; the other part is built all the same.
  const result = spawnSync(part.command[0], part.command.slice(1), { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    failed ||= result.status ?? 1;
    continue;
  }
  fs.mkdirSync(stampDir, { recursive: true });
  fs.writeFileSync(stampOf(part), current);
}
if (mode === "--check" && stale.length) {
  console.error(`dist/ is out of date: ${stale.join(" and ")} (run npm run build)`);
  process.exit(1);
}
process.exit(failed);
