import { describe, expect, it } from "vitest";
import { isDistStale } from "./cli.js";

describe("the compiled CLI the process tests spawn", () => {
  // `npm test` builds first. Were dist/ taken as stale anyway, every test file that spawns
  // the CLI would build again while other files' CLIs run, handing them half-written files.
  it("counts as up to date right after the build", () => {
    expect(isDistStale(), "dist/ is older than src/ (npm test builds first; after an edit, run npm run build)").toBe(false);
  });
});
