import { createRequire } from "node:module";
import type MarkdownIt from "markdown-it";
import type { Token } from "markdown-it";
import { sanitizeHtml } from "./html-sanitizer.js";
import { isAllowedLinkTarget, isSameHostImageSource, isWebUrl } from "./link-targets.js";

export { LINK_REL } from "./html-sanitizer.js";
export { isAllowedLinkTarget, isWebUrl } from "./link-targets.js";

/**
 * Markdown as Shield renders it everywhere (policy page, later advisories and messages):
 * no raw HTML, bare URLs become links, typography left as written. markdown-it's own
 * link check is replaced by ours so that only http(s), mailto and relative targets parse
 * as links; the sanitizer checks again on the HTML.
 */
function createMarkdown(): MarkdownIt {
  const team = newMarkdownIt();
  team.validateLink = isAllowedLinkTarget;
  team.renderer.rules.image = renderImage;
  return team;
}

// markdown-it is required with the first text rendered, not at import (start-up time,
// decision 0013); its CommonJS build is one file and keeps rendering synchronous.
const require = createRequire(import.meta.url);
function newMarkdownIt(): MarkdownIt {
  const MarkdownItClass = require("markdown-it") as typeof MarkdownIt;
  return new MarkdownItClass({ html: false, linkify: true, typographer: false });
}

let teamMarkdown: MarkdownIt | undefined;
let reporterMarkdown: MarkdownIt | undefined;
const md = (): MarkdownIt => (teamMarkdown ??= createMarkdown());
const reporterMd = (): MarkdownIt => (reporterMarkdown ??= createReporterMarkdown());

/** Beyond this the caller should have refused the input; markdown-it is fast but not free. */
export const MAX_MARKDOWN_CHARS = 1_000_000;

function isInsideLink(tokens: Token[], index: number): boolean {
  let depth = 0;
  for (let i = 0; i < index; i++) {
    if (tokens[i]!.type === "link_open") depth++;
    else if (tokens[i]!.type === "link_close") depth--;
  }
  return depth > 0;
}

/**
 * Images are never loaded from another host (that would tell it who reads the page):
 * a same-host image stays, an http(s) one becomes a link to it, anything else is its alt text.
 */
const renderImage: MarkdownIt["renderer"]["rules"]["image"] = (tokens, index, options, env, self) => {
  const token = tokens[index]!;
  const src = token.attrGet("src") ?? "";
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  const escape = md().utils.escapeHtml;
  if (isSameHostImageSource(src)) {
    const title = token.attrGet("title");
    return `<img src="${escape(src)}" alt="${escape(alt)}"${title ? ` title="${escape(title)}"` : ""}>`;
  }
  if (isWebUrl(src) && !isInsideLink(tokens, index)) return `<a href="${escape(src)}">${escape(alt || src)}</a>`;
  return escape(alt);
};

/**
 * Reporter text never loads anything, from anywhere: an image on Shield's own host would be
 * fetched with the reading member's session (`![a](/desk/reports/2)` is an audited read
 * they never made, and an attachment download likewise). So every image is shown as a link
 * with its text and its address written out; a source that is no link target (data:,
 * javascript:) leaves only the text.
 */
function createReporterMarkdown(): MarkdownIt {
  const reporter = newMarkdownIt();
  reporter.validateLink = isAllowedLinkTarget;
  reporter.renderer.rules.image = renderReporterImage;
  return reporter;
}
const renderReporterImage: MarkdownIt["renderer"]["rules"]["image"] = (tokens, index, options, env, self) => {
  const token = tokens[index]!;
  const src = token.attrGet("src") ?? "";
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  const escape = reporterMd().utils.escapeHtml;
  if (!isAllowedLinkTarget(src) || src.trim() === "") return escape(alt);
  const label = `image: ${alt || "(no description)"}`;
  if (isInsideLink(tokens, index)) return `${escape(label)} (${escape(src)})`;
  return `<a href="${escape(src)}">${escape(label)}</a> (${escape(src)})`;
};

function refuseTooLong(source: string): void {
  if (source.length > MAX_MARKDOWN_CHARS) throw new RangeError(`Markdown source too long (${source.length} characters, at most ${MAX_MARKDOWN_CHARS})`);
}

/**
 * Markdown to HTML that is safe to insert into a page: markdown-it without raw HTML,
 * then DOMPurify. Every link carries `rel="nofollow ugc noopener"`. For the team's own
 * texts (policy, advisories); reporter text goes through `renderReporterMarkdown`.
 * @throws RangeError when the source is longer than MAX_MARKDOWN_CHARS
 */
export function renderMarkdown(source: string): string {
  refuseTooLong(source);
  return sanitizeHtml(md().render(source));
}

/**
 * Markdown written by a reporter (a report's text, the thread): like `renderMarkdown`, but
 * images become links and no <img> survives, so the page loads nothing the reporter named.
 * @throws RangeError when the source is longer than MAX_MARKDOWN_CHARS
 */
export function renderReporterMarkdown(source: string): string {
  refuseTooLong(source);
  return sanitizeHtml(reporterMd().render(source), { images: false });
}

/**
 * `renderMarkdown` with the results kept, least recently used dropped first, up to
 * `maxChars` of source and HTML together. The desk shows a thread's messages on every
 * view, and sanitising HTML on jsdom is the costly part: 8.5 ms for 2 KB full of links on
 * the machine the benchmarks run on, so a thread of fifty such messages held the event loop
 * for 0.4 s per view. Rendering is a pure function of the text, so a kept result is never stale.
 * Text decrypted for one view should not be given to it: it would stay in memory.
 */
export class MarkdownRenderCache {
  private readonly kept = new Map<string, string>();
  private chars = 0;

  constructor(
    private readonly maxChars = 8_000_000,
    private readonly renderSource: (source: string) => string = renderMarkdown,
  ) {}

  render(source: string): string {
    const hit = this.kept.get(source);
    if (hit !== undefined) {
      this.kept.delete(source);
      this.kept.set(source, hit);
      return hit;
    }
    const html = this.renderSource(source);
    const size = source.length + html.length;
    // One text larger than an eighth of the cache would push out everything else.
    if (size > this.maxChars / 8) return html;
    this.kept.set(source, html);
    this.chars += size;
    for (const [oldest, oldestHtml] of this.kept) {
      if (this.chars <= this.maxChars) break;
      this.kept.delete(oldest);
      this.chars -= oldest.length + oldestHtml.length;
    }
    return html;
  }

  /** Whether the rendering of `source` is kept. */
  has(source: string): boolean {
    return this.kept.has(source);
  }
}

/** A piece of visible text, and the link target it sits in (null outside a link or when the target was refused). */
export interface InlineRun {
  text: string;
  href: string | null;
}

export interface MarkdownListItem {
  /** 1-based line of the item's marker in the source. */
  line: number;
  /** The item's own paragraphs; nested lists are left out. */
  runs: InlineRun[];
}

export type MarkdownBlock =
  | { kind: "heading"; level: number; text: string; line: number }
  | { kind: "list"; ordered: boolean; line: number; items: MarkdownListItem[] }
  | { kind: "other"; type: string; line: number };

function runsOf(inline: Token): InlineRun[] {
  const runs: InlineRun[] = [];
  const hrefs: (string | null)[] = [];
  const href = () => hrefs.at(-1) ?? null;
  for (const child of inline.children ?? []) {
    switch (child.type) {
      case "link_open":
        hrefs.push(child.attrGet("href") || null);
        break;
      case "link_close":
        hrefs.pop();
        break;
      case "text":
      case "text_special":
      case "code_inline":
        runs.push({ text: child.content, href: href() });
        break;
      case "softbreak":
      case "hardbreak":
        runs.push({ text: " ", href: href() });
        break;
      case "image":
        runs.push({ text: md().renderer.renderInlineAsText(child.children ?? [], md().options, {}), href: href() });
        break;
      default:
        break;
    }
  }
  return runs;
}

function textOf(inline: Token | undefined): string {
  return inline ? runsOf(inline).map((r) => r.text).join("") : "";
}

/**
 * Blanks out a leading YAML front matter block, keeping its lines so that line numbers
 * still match the file.
 */
function withoutFrontMatter(source: string): string {
  const text = source.replace(/^\ufeff/, "");
  const lines = text.split("\n");
  if (lines[0]?.trimEnd() !== "---") return text;
  const end = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (end < 0) return text;
  return lines.map((line, i) => (i <= end ? "" : line)).join("\n");
}

/**
 * Every link and image target of a Markdown text as markdown-it reads it (after its own
 * checks, percent-encoded), with the 1-based line it is on.
 */
export function readMarkdownLinks(source: string): Array<{ line: number; href: string }> {
  if (source.length > MAX_MARKDOWN_CHARS) throw new RangeError(`Markdown source too long (${source.length} characters, at most ${MAX_MARKDOWN_CHARS})`);
  const links: Array<{ line: number; href: string }> = [];
  for (const token of md().parse(withoutFrontMatter(source), {})) {
    if (token.type !== "inline") continue;
    // The block's first line, plus the line breaks inside it before each link.
    let line = (token.map?.[0] ?? 0) + 1;
    for (const child of token.children ?? []) {
      if (child.type === "softbreak" || child.type === "hardbreak") line++;
      const href = child.type === "link_open" ? child.attrGet("href") : child.type === "image" ? child.attrGet("src") : null;
      if (href) links.push({ line, href });
    }
  }
  return links;
}

/**
 * The top-level structure of a Markdown document, for importers that read Markdown
 * written by people: headings with their text, lists with each item's visible text and
 * link targets (escapes and entities already resolved), and everything else by type.
 * A leading front matter block is skipped.
 * @throws RangeError when the source is longer than MAX_MARKDOWN_CHARS
 */
export function readMarkdownBlocks(source: string): MarkdownBlock[] {
  if (source.length > MAX_MARKDOWN_CHARS) throw new RangeError(`Markdown source too long (${source.length} characters, at most ${MAX_MARKDOWN_CHARS})`);
  const tokens = md().parse(withoutFrontMatter(source), {});
  const blocks: MarkdownBlock[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.level !== 0 || token.nesting === -1) continue;
    const line = (token.map?.[0] ?? 0) + 1;
    if (token.type === "heading_open") {
      blocks.push({ kind: "heading", level: Number(token.tag.slice(1)), text: textOf(tokens[i + 1]).trim(), line });
    } else if (token.type === "bullet_list_open" || token.type === "ordered_list_open") {
      const items: MarkdownListItem[] = [];
      let current: MarkdownListItem | undefined;
      for (i++; i < tokens.length && !(tokens[i]!.level === 0 && tokens[i]!.nesting === -1); i++) {
        const inner = tokens[i]!;
        if (inner.type === "list_item_open" && inner.level === 1) {
          current = { line: (inner.map?.[0] ?? 0) + 1, runs: [] };
          items.push(current);
        } else if (inner.type === "inline" && inner.level === 3 && current) {
          // level 3 = item > paragraph > inline; deeper inlines belong to nested lists.
          if (current.runs.length) current.runs.push({ text: " ", href: null });
          current.runs.push(...runsOf(inner));
        }
      }
      blocks.push({ kind: "list", ordered: token.type === "ordered_list_open", line, items });
    } else {
      blocks.push({ kind: "other", type: token.type.replace(/_open$/, ""), line });
      // Skip to the matching close so that nested content is not read as top-level blocks.
      if (token.nesting === 1) {
        while (i < tokens.length && !(tokens[i]!.level === 0 && tokens[i]!.nesting === -1)) i++;
      }
    }
  }
  return blocks;
}
