import { describe, expect, it } from "vitest";
import { accessibleAccent, brandCss, contrastRatio } from "./brand-css.js";

describe("the brand colour", () => {
  it("keeps a colour that already reads at AA on white", () => {
    expect(accessibleAccent("#1f5fbf")).toBe("#1f5fbf");
    expect(contrastRatio("#1f5fbf", "#ffffff")).toBeGreaterThanOrEqual(4.5);
  });

  it("darkens a light brand colour until links and button text reach AA contrast", () => {
    for (const light of ["#ffcc00", "#00ff00", "#ffffff", "#88ccff"]) {
      const accent = accessibleAccent(light);
      expect(contrastRatio(accent, "#ffffff"), light).toBeGreaterThanOrEqual(4.5);
    }
  });

  it("becomes a stylesheet with the brand for decoration and the accessible accent for text", () => {
    expect(brandCss("#FFCC00")).toMatch(/^\/\* Generated from the brandColor setting\. \*\/\n:root \{ --brand: #ffcc00; --accent: #[0-9a-f]{6}; \}\n$/);
  });
});
