import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../../platform/package-root.js";

/**
 * The brand colour as a tiny stylesheet (`/assets/brand.css`), so that no page needs an
 * inline style. Pure. The colour is used for links and buttons on white, so it is
 * darkened until it reaches WCAG AA contrast (4.5:1) with white; the brand's own value
 * is kept for decoration (the header rule).
 */
const AA_NORMAL_TEXT = 4.5;

type Rgb = [number, number, number];

function parseHex(hex: string): Rgb {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
}

function toHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;
}

/** WCAG 2.x relative luminance. */
export function relativeLuminance(hex: string): number {
  const [r, g, b] = parseHex(hex).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The brand colour, darkened in small steps toward black until white text on it (and it on white) reads at AA. */
export function accessibleAccent(brand: string): string {
  let rgb = parseHex(brand);
  let hex = toHex(rgb);
  for (let i = 0; i < 100 && contrastRatio(hex, "#ffffff") < AA_NORMAL_TEXT; i++) {
    rgb = rgb.map((c) => c * 0.95) as Rgb;
    hex = toHex(rgb);
  }
  return hex;
}

export function brandCss(brand: string): string {
  const accent = accessibleAccent(brand.toLowerCase());
  return `/* Generated from the brandColor setting. */\n:root { --brand: ${brand.toLowerCase()}; --accent: ${accent}; }\n`;
}

export interface SiteStylesheet {
  /** Where pages link it: the version in the path changes with its content, so it can be cached for good. */
  url: string;
  version: string;
  body: Buffer;
}

const SHIELD_CSS = fs.readFileSync(path.join(PACKAGE_ROOT, "src", "web", "assets", "shield.css"), "utf8");
let current: (SiteStylesheet & { brand: string }) | undefined;

/**
 * The site's one render-blocking stylesheet: shield.css followed by the brand colours, so a
 * page waits for a single request before it can paint. Kept for the brand it was built for.
 */
export function siteStylesheet(brand: string): SiteStylesheet {
  if (current?.brand !== brand) {
    const body = Buffer.from(`${SHIELD_CSS}\n${brandCss(brand)}`, "utf8");
    const version = createHash("sha256").update(body).digest("hex").slice(0, 16);
    current = { brand, url: `/assets/site/${version}.css`, version, body };
  }
  return current;
}
