/**
 * Which URLs may appear in HTML that Shield renders from Markdown. Pure string rules,
 * shared by the Markdown parser (first pass) and the HTML sanitizer (last pass).
 */

/**
 * Browsers drop ASCII tabs and newlines anywhere in a URL and C0 controls and spaces at
 * its ends (`java\nscript:` is `javascript:`), so the scheme is judged on what is left.
 */
function compact(url: string): string {
  return url.replace(/[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u180e\u2000-\u2029\u205f\u3000\ufeff]/g, "");
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * `https:`, `mailto:` … or null for a relative reference (`../key.pub`, `/security`, `#top`).
 * Percent-escapes are decoded first: `java%09script:` is harmless to a browser, but
 * refusing it is simpler than explaining why it is harmless.
 */
export function schemeOf(url: string): string | null {
  const match = SCHEME.exec(compact(url)) ?? SCHEME.exec(compact(decodeLeniently(url)));
  return match ? match[1]!.toLowerCase() : null;
}

function decodeLeniently(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

/** Link targets that survive: http(s), mailto and relative references. Everything else (javascript:, data:, vbscript:, file:, …) is dropped. */
export function isAllowedLinkTarget(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme === null || scheme === "http" || scheme === "https" || scheme === "mailto";
}

/** True for an absolute http(s) URL: the only kind of link kept on a hall-of-fame entry or turned from an image into a link. */
export function isWebUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme === "http" || scheme === "https";
}

/**
 * An image source on Shield's own host: a relative path without a scheme. `//host/x`,
 * `/\host/x` and `\\host` reach other hosts (browsers read `\` as `/`), so any leading
 * pair of slashes or any backslash disqualifies it.
 */
export function isSameHostImageSource(url: string): boolean {
  const compacted = compact(url);
  if (compacted === "" || schemeOf(compacted) !== null) return false;
  if (compacted.includes("\\")) return false;
  if (compacted.startsWith("//")) return false;
  // Percent-encoded slashes and backslashes are decoded by some servers and proxies.
  if (/%(2f|5c)/i.test(compacted.slice(0, 6))) return false;
  return true;
}
