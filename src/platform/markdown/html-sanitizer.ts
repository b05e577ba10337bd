import { createRequire } from "node:module";
import type { Config as PurifyConfig, DOMPurify, WindowLike } from "dompurify";
import { isAllowedLinkTarget, isSameHostImageSource } from "./link-targets.js";

/** What every link in rendered Markdown carries: no SEO credit for user content, no `window.opener`. */
export const LINK_REL = "nofollow ugc noopener";

/**
 * Only the elements Markdown produces. No SVG, MathML, forms, frames, style or class:
 * the CSP forbids inline style anyway, and nothing here needs it.
 */
const CONFIG: PurifyConfig = {
  ALLOWED_TAGS: [
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "em", "strong", "s", "del", "table", "thead", "tbody", "tr", "th", "td", "img",
  ],
  ALLOWED_ATTR: ["href", "title", "alt", "src", "start", "rel"],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  // http(s), mailto, or no scheme at all (DOMPurify's own shape for relative URLs).
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  KEEP_CONTENT: true,
  RETURN_TRUSTED_TYPE: false,
};

/** Reporter text: the same, without <img>, so that nothing in it can make the browser fetch anything. */
const CONFIG_WITHOUT_IMAGES: PurifyConfig = {
  ...CONFIG,
  ALLOWED_TAGS: (CONFIG.ALLOWED_TAGS as string[]).filter((tag) => tag !== "img"),
  ALLOWED_ATTR: (CONFIG.ALLOWED_ATTR as string[]).filter((attr) => attr !== "src" && attr !== "alt"),
};

let purifier: DOMPurify | undefined;

// jsdom (with undici and css-tree, some thousand files) is required on the first
// sanitisation, not at import: loading it was the largest part of `shield serve`'s start
// (decision 0013). Both packages are CommonJS, so sanitising stays synchronous.
const require = createRequire(import.meta.url);

/**
 * One jsdom window for the life of the process: creating one costs milliseconds and
 * megabytes, and DOMPurify only uses it to parse, never to run anything.
 */
function getPurifier(): DOMPurify {
  if (purifier) return purifier;
  const { JSDOM } = require("jsdom") as typeof import("jsdom");
  const createDOMPurify = require("dompurify") as typeof import("dompurify").default;
  const window = new JSDOM("").window;
  const instance = createDOMPurify(window as unknown as WindowLike);
  instance.addHook("afterSanitizeAttributes", (node) => {
    const element = node as Element;
    if (element.nodeName === "A") {
      const href = element.getAttribute("href");
      if (href !== null && !isAllowedLinkTarget(href)) element.removeAttribute("href");
      element.setAttribute("rel", LINK_REL);
    } else if (element.nodeName === "IMG") {
      // The Markdown renderer already turned foreign images into links; this is the backstop,
      // and it also drops data: sources, which DOMPurify lets through on <img>.
      const src = element.getAttribute("src");
      if (src === null || !isSameHostImageSource(src)) element.removeAttribute("src");
    }
  });
  purifier = instance;
  return instance;
}

/**
 * HTML made safe to insert into a page: only Markdown's elements, safe link targets, every
 * link `rel="nofollow ugc noopener"`. `images: false` (reporter text) drops every <img>.
 */
export function sanitizeHtml(html: string, options: { images?: boolean } = {}): string {
  return getPurifier().sanitize(html, options.images === false ? CONFIG_WITHOUT_IMAGES : CONFIG) as string;
}
