import { defineConfig } from "vitest/config";

/**
 * Files that run real processes, Chromium, or mock a module keep a worker of their own;
 * the rest share their worker's loaded modules, so that Shield's code is imported once per
 * worker instead of once per file (each test still gets its own Shield and databases).
 */
const ISOLATED = ["src/**/*.browser.test.ts", "test/**/*.test.ts", "src/cli/**/*.test.ts", "src/**/*.cli.test.ts", "src/modules/auth/sign-in.service.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run two at a time; each file gets its own databases.
    pool: "forks",
    maxWorkers: 2,
    globalSetup: ["test/global-setup.ts"],
    projects: [
      { extends: true, test: { name: "shared", include: ["src/**/*.test.ts"], exclude: ISOLATED, isolate: false } },
      { extends: true, test: { name: "isolated", include: ISOLATED } },
    ],
  },
});
