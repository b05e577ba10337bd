import fs from "node:fs";
import path from "node:path";
import { defineConfig } from "vite";

/**
 * The small browser modules of the pages: every `src/web/client/<name>.ts` becomes
 * `dist/web/client/<name>.js`, an ES module served from /assets/js/<name>.js (same
 * origin, so the CSP's `script-src 'self'` allows it). Pages work without them.
 */
const clientDir = path.resolve(import.meta.dirname, "src/web/client");
const entries = Object.fromEntries(
  fs
    .readdirSync(clientDir)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.endsWith(".d.ts"))
    .map((file) => [path.basename(file, ".ts"), path.join(clientDir, file)]),
);

export default defineConfig({
  logLevel: "warn",
  build: {
    outDir: "dist/web/client",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: false,
    rollupOptions: {
      input: entries,
      preserveEntrySignatures: "exports-only",
      output: { format: "es", entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", assetFileNames: "[name][extname]" },
    },
  },
});
