import { JSDOM } from "jsdom";
import { describe, expect, it } from "vitest";
import { MarkdownRenderCache, readMarkdownBlocks, renderMarkdown, renderReporterMarkdown } from "./markdown.js";

/** Parses rendered HTML the way a browser would, to look at what it would actually run or load. */
function dom(html: string): Document {
  return new JSDOM(`<!doctype html><body>${html}</body>`).window.document;
}

const EXECUTABLE_ATTRIBUTE = /^on|^(style|formaction|action|srcdoc|xlink:href|background|poster|dynsrc|lowsrc)$/i;

/** Everything a browser could execute or fetch from another host, listed for a failing assertion. */
function dangers(html: string): string[] {
  const found: string[] = [];
  const document = dom(html);
  for (const element of document.body.querySelectorAll("*")) {
    const tag = element.tagName.toLowerCase();
    if (!["a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code", "em", "strong", "s", "del", "table", "thead", "tbody", "tr", "th", "td", "img"].includes(tag)) {
      found.push(`element <${tag}>`);
    }
    for (const attribute of element.attributes) {
      if (EXECUTABLE_ATTRIBUTE.test(attribute.name)) found.push(`attribute ${attribute.name} on <${tag}>`);
    }
    const href = element.getAttribute("href");
    if (href !== null) {
      const protocol = new URL(href, "https://shield.example.test/security").protocol;
      if (!["http:", "https:", "mailto:"].includes(protocol)) found.push(`href ${href}`);
    }
    const src = element.getAttribute("src");
    if (src !== null) {
      const url = new URL(src, "https://shield.example.test/security");
      if (url.origin !== "https://shield.example.test") found.push(`src ${src}`);
    }
  }
  return found;
}

const XSS_BATTERY: Record<string, string> = {
  "script tag": "<script>alert(1)</script>",
  "script tag inside a paragraph": "Hello <script>alert(1)</script> world",
  "img onerror": '<img src=x onerror="alert(1)">',
  "svg onload": "<svg onload=alert(1)><circle r=1 /></svg>",
  "svg script": "<svg><script>alert(1)</script></svg>",
  "iframe": '<iframe src="javascript:alert(1)"></iframe>',
  "javascript link": "[click](javascript:alert(1))",
  "javascript link, mixed case": "[click](JaVaScRiPt:alert(1))",
  "javascript link with entities": "[click](&#106;avascript:alert(1))",
  "javascript link with hex entities": "[click](&#x6A;&#x61;vascript&#x3A;alert(1))",
  "javascript link split by a tab": "[click](<java\tscript:alert(1)>)",
  "javascript link split by a newline": "[click](<java\nscript:alert(1)>)",
  "javascript link with leading spaces": "[click](<   javascript:alert(1)>)",
  "javascript autolink": "<javascript:alert(1)>",
  "vbscript link": "[click](vbscript:msgbox(1))",
  "data link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "data image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
  "data image png": "![x](data:image/png;base64,iVBORw0KGgo=)",
  "file link": "[click](file:///etc/passwd)",
  "reference-style javascript link": "[click][x]\n\n[x]: javascript:alert(1)",
  "link title breaking out": '[click](https://example.com "a\\" onmouseover=\\"alert(1))',
  "link text with html": "[<img src=x onerror=alert(1)>](https://example.com)",
  "raw html block": '<div onclick="alert(1)">click</div>',
  "raw a tag": '<a href="javascript:alert(1)">x</a>',
  "style tag": "<style>body{display:none}</style>",
  "form": '<form action="https://evil.test"><button formaction="javascript:alert(1)">x</button></form>',
  "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  "object embed": '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
  "math": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
  "nested markdown trick": "[a](javascript:alert(1) 'x')[b](<javascript:alert(1)>)",
  "image inside link": "[![x](https://evil.test/x.png)](javascript:alert(1))",
  "html comment trick": "<!-- --><script>alert(1)</script><!-- -->",
  "entity encoded tag": "&lt;script&gt;alert(1)&lt;/script&gt;",
  "code span with html": "`<script>alert(1)</script>`",
  "fenced code with html": "```html\n<script>alert(1)</script>\n```",
  "template injection text": "{{constructor.constructor('alert(1)')()}}",
  "linkify javascript": "javascript:alert(1)",
  "protocol-relative image": "![x](//evil.test/x.png)",
  "backslash image": "![x](/\\evil.test/x.png)",
  "remote image": "![tracker](https://evil.test/pixel.gif)",
  "noscript mutation": "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
  "percent-encoded tab in scheme": "[x](java%09script:alert(1))",
  "unicode escape in scheme": "[x](java&#0000115;cript:alert(1))",
};

describe("renderMarkdown", () => {
  it("is checked by a danger detector that notices scripts, handlers, javascript: links and foreign images", () => {
    expect(dangers('<script></script><p onclick="x"></p><a href="javascript:x">a</a><img src="https://evil.test/x.png">')).toHaveLength(4);
  });

  it("renders headings, lists, emphasis, code and links", () => {
    const html = renderMarkdown("# Title\n\n* one\n* **two**\n\n`code` and [a link](https://example.com/x)");
    const document = dom(html);
    expect(document.querySelector("h1")?.textContent).toBe("Title");
    expect([...document.querySelectorAll("li")].map((li) => li.textContent)).toEqual(["one", "two"]);
    expect(document.querySelector("strong")?.textContent).toBe("two");
    expect(document.querySelector("code")?.textContent).toBe("code");
    expect(document.querySelector("a")?.getAttribute("href")).toBe("https://example.com/x");
  });

  for (const [name, source] of Object.entries(XSS_BATTERY)) {
    it(`leaves nothing executable or foreign from ${name}`, () => {
      const html = renderMarkdown(source);
      expect(dangers(html)).toEqual([]);
      // Raw HTML may show as text (&lt;script&gt;), never as a tag.
      expect(html).not.toMatch(/<(script|svg|iframe|style|object|embed|form|math|meta|div|noscript)\b/i);
      expect(html).not.toMatch(/<[^>]*\son\w+\s*=/i);
    });
  }

  it("shows raw HTML as text instead of dropping what was written", () => {
    const document = dom(renderMarkdown("Hello <b>world</b>"));
    expect(document.body.textContent?.trim()).toBe("Hello <b>world</b>");
    expect(document.querySelector("b")).toBeNull();
  });

  it("gives every link rel=nofollow ugc noopener, also bare URLs and e-mail addresses", () => {
    const html = renderMarkdown("[a](https://a.example) www.example.com mail@example.org <https://d.example>");
    const links = [...dom(html).querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://a.example", "http://www.example.com", "mailto:mail@example.org", "https://d.example"]);
    for (const link of links) expect(link.getAttribute("rel")).toBe("nofollow ugc noopener");
  });

  it("keeps http(s), mailto and relative link targets", () => {
    const html = renderMarkdown("[a](http://a.example) [b](mailto:x@y.example) [c](../Basecamp-security.pub) [d](/security/thanks) [e](#top)");
    expect([...dom(html).querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual([
      "http://a.example",
      "mailto:x@y.example",
      "../Basecamp-security.pub",
      "/security/thanks",
      "#top",
    ]);
  });

  it("refuses a link whose scheme hides behind percent-escapes", () => {
    expect(dom(renderMarkdown("[a](<java\tscript:alert(1)>)")).querySelector("a[href]")).toBeNull();
  });

  it("keeps the text of a refused link visible, without a target", () => {
    const document = dom(renderMarkdown("[call me](tel:+123) and [run](javascript:alert(1))"));
    expect(document.body.textContent).toContain("call me");
    expect([...document.querySelectorAll("a[href]")]).toEqual([]);
  });

  it("turns an image from another host into a link to it and loads nothing", () => {
    const document = dom(renderMarkdown("![the diagram](https://cdn.example/diagram.png)"));
    expect(document.querySelector("img")).toBeNull();
    const link = document.querySelector("a");
    expect(link?.getAttribute("href")).toBe("https://cdn.example/diagram.png");
    expect(link?.textContent).toBe("the diagram");
  });

  it("keeps an image from Shield's own host", () => {
    const img = dom(renderMarkdown("![logo](/assets/logo.png)")).querySelector("img");
    expect(img?.getAttribute("src")).toBe("/assets/logo.png");
    expect(img?.getAttribute("alt")).toBe("logo");
  });

  it("shows a data: image as the text that was written and loads nothing", () => {
    const document = dom(renderMarkdown("![pixel](data:image/png;base64,iVBORw0KGgo=)"));
    expect(document.querySelector("img, a")).toBeNull();
    expect(document.body.textContent?.trim()).toBe("![pixel](data:image/png;base64,iVBORw0KGgo=)");
  });

  it("refuses a source larger than its limit", () => {
    expect(() => renderMarkdown("a".repeat(1_000_001))).toThrow(RangeError);
  });
});

describe("renderReporterMarkdown", () => {
  it("shows an image on Shield's own host as a link with its text and address, never as an image", () => {
    const document = dom(renderReporterMarkdown("See ![the report](/desk/reports/2) here"));
    expect(document.querySelector("img")).toBeNull();
    const link = document.querySelector("a");
    expect(link?.getAttribute("href")).toBe("/desk/reports/2");
    expect(link?.textContent).toBe("image: the report");
    expect(document.body.textContent?.trim()).toBe("See image: the report (/desk/reports/2) here");
  });

  it("shows images from anywhere as links, inside links and reference-style too, and loads nothing", () => {
    const sources = [
      "![a](/desk/reports/2/attachments/7)",
      "![](https://tracker.example/pixel.gif)",
      '![b](//evil.example/x.png "title")',
      "[![c](/desk)](https://example.org)",
      "![d][ref]\n\n[ref]: /team/account",
      "![e](<../desk/reports/3>)",
    ];
    for (const source of sources) {
      const html = renderReporterMarkdown(source);
      const document = dom(html);
      expect(document.querySelectorAll("img, [src]"), source).toHaveLength(0);
      expect(dangers(html), source).toEqual([]);
    }
    expect(dom(renderReporterMarkdown("![](https://tracker.example/pixel.gif)")).body.textContent?.trim()).toBe("image: (no description) (https://tracker.example/pixel.gif)");
    const nested = dom(renderReporterMarkdown("[![c](/desk)](https://example.org)"));
    expect([...nested.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual(["https://example.org"]);
    expect(nested.body.textContent?.trim()).toBe("image: c (/desk)");
  });

  it("drops raw <img> whatever the text tries, and keeps a data: image as the text written", () => {
    for (const payload of Object.values(XSS_BATTERY)) {
      const html = renderReporterMarkdown(payload);
      expect(dom(html).querySelectorAll("img, [src]"), payload).toHaveLength(0);
      expect(dangers(html), payload).toEqual([]);
    }
    expect(dom(renderReporterMarkdown("![pixel](data:image/png;base64,iVBORw0KGgo=)")).querySelector("img, a")).toBeNull();
  });

  it("renders the rest of Markdown as the team's texts are rendered", () => {
    const text = "# Title\n\n*a* **b** `c` [link](https://example.org)\n\n- one\n- two";
    expect(renderReporterMarkdown(text)).toBe(renderMarkdown(text));
  });
});

describe("readMarkdownBlocks", () => {
  it("reads headings and list items with unescaped text and link targets, skipping front matter", () => {
    const blocks = readMarkdownBlocks("---\ntitle: x\n---\n\n## Thanks\n\n* [A \\/ B](https://a.example)\n* C \\_D\\_ \\*E\\*\n  continued\n  * nested\n");
    expect(blocks.map((b) => b.kind)).toEqual(["heading", "list"]);
    expect(blocks[0]).toMatchObject({ kind: "heading", level: 2, text: "Thanks", line: 5 });
    const list = blocks[1]!;
    if (list.kind !== "list") throw new Error("expected a list");
    expect(list.items.map((item) => item.runs.map((r) => r.text).join(""))).toEqual(["A / B", "C _D_ *E* continued"]);
    expect(list.items[0]!.runs[0]!.href).toBe("https://a.example");
    expect(list.items.map((item) => item.line)).toEqual([7, 8]);
  });
});

describe("the cache of rendered Markdown", () => {
  it("gives what renderMarkdown gives, hostile text included, and keeps it", () => {
    const cache = new MarkdownRenderCache(10_000);
    const hostile = "[x](javascript:alert(1)) <script>alert(2)</script> https://example.org";
    expect(cache.render(hostile)).toBe(renderMarkdown(hostile));
    expect(cache.has(hostile)).toBe(true);
    expect(cache.render(hostile)).toBe(renderMarkdown(hostile));
  });

  it("drops the least recently used renderings past its size, and never keeps one text larger than an eighth of it", () => {
    // Each text below is 60 characters and renders to 68: nine fit in 1,200.
    const cache = new MarkdownRenderCache(1_200);
    const texts = ["alpha ", "beta_ ", "gamma ", "delta "].map((word) => word.repeat(10));
    for (const text of texts) cache.render(text);
    expect(texts.map((t) => cache.has(t))).toEqual([true, true, true, true]);
    cache.render(texts[0]!); // alpha is used again: beta is now the oldest
    for (let i = 0; i < 8; i++) cache.render(`fill${i} `.repeat(10));
    // Twelve texts: the three least recently used are gone.
    expect(texts.map((t) => cache.has(t))).toEqual([true, false, false, false]);
    const big = "x".repeat(200);
    expect(cache.render(big)).toBe(renderMarkdown(big));
    expect(cache.has(big)).toBe(false);
  });

  it("renders with the function it is given: the desk's renders reporter text", () => {
    const cache = new MarkdownRenderCache(10_000, renderReporterMarkdown);
    expect(cache.render("![a](/desk/reports/2)")).toBe(renderReporterMarkdown("![a](/desk/reports/2)"));
    expect(cache.render("![a](/desk/reports/2)")).not.toContain("<img");
  });
});
