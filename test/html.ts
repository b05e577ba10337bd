import { JSDOM } from "jsdom";

/** Parses a page as a browser would (no scripts run), for assertions on what a user sees. */
export function parseHtml(html: string): Document {
  return new JSDOM(html).window.document;
}
