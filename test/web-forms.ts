import { randomBytes } from "node:crypto";
import type { TestShield } from "./shield.js";

/** One part of a multipart/form-data body; a `filename` makes it a file. A text part gets a Content-Type only when given one (browsers send none). */
export interface FormPart {
  name: string;
  value: string | Buffer;
  filename?: string | Buffer;
  contentType?: string;
}

/**
 * Encodes parts as a browser would (UTF-8 names and values, raw bytes for files), and
 * lets a test send bytes no browser would (a Buffer value is sent as is).
 */
export function multipart(parts: FormPart[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----shieldtest${randomBytes(8).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    // A Buffer file name is sent as is (bytes no browser would send); a string one as UTF-8.
    const filename = typeof part.filename === "string" ? Buffer.from(part.filename.replace(/"/g, "%22"), "utf8") : part.filename;
    const head = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`, "utf8"),
      ...(filename ? [Buffer.from('; filename="'), filename, Buffer.from('"')] : []),
      Buffer.from(`\r\n${filename || part.contentType ? `Content-Type: ${part.contentType ?? "application/octet-stream"}\r\n` : ""}\r\n`, "utf8"),
    ];
    chunks.push(...head, typeof part.value === "string" ? Buffer.from(part.value, "utf8") : part.value, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}

/** The hidden CSRF token of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error("no CSRF token on the page");
  return match[1]!;
}

/** `name=value` pairs from Set-Cookie headers, ready for a Cookie header. */
export function cookiesFrom(setCookie: string | string[] | undefined): string {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  return list.map((c) => c.split(";")[0]).join("; ");
}

/** A browser session with the form: GET it for the CSRF cookie and token, then POST parts. */
export async function openForm(shield: TestShield, url: string): Promise<{ cookie: string; token: string; html: string }> {
  const page = await shield.app.inject({ method: "GET", url });
  if (page.statusCode !== 200) throw new Error(`GET ${url} answered ${page.statusCode}`);
  return { cookie: cookiesFrom(page.headers["set-cookie"]), token: csrfTokenIn(page.body), html: page.body };
}

export async function postForm(shield: TestShield, url: string, session: { cookie: string; token: string }, parts: FormPart[], extra: { remoteAddress?: string; headers?: Record<string, string> } = {}) {
  const body = multipart([{ name: "_csrf", value: session.token }, ...parts]);
  const { headers, ...rest } = extra;
  return shield.app.inject({ method: "POST", url, payload: body.payload, headers: { ...body.headers, cookie: session.cookie, ...headers }, ...rest });
}

/** The fields of a valid web report; override or drop (`undefined`) any. */
export function reportFormParts(overrides: Record<string, string | undefined> = {}): FormPart[] {
  const values: Record<string, string | undefined> = {
    channel: "vulnerability",
    title: "Stored XSS in the profile page",
    description: "The name field is rendered without escaping.",
    steps: "",
    impact: "",
    assetOther: "",
    reporterName: "Ada Researcher",
    reporterEmail: "ada@example.org",
    reporterPgpKey: "",
    creditName: "",
    creditUrl: "",
    aiUsed: "",
    ...overrides,
  };
  return Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, value }));
}

/** Decodes the HTML escapes eta writes, to compare page text with what was typed. */
export function unescapeHtml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}
