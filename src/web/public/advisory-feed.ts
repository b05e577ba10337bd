import type { Advisory } from "../../modules/advisories/index.js";
import { advisoryPageUrl } from "../../modules/advisories/index.js";

/** Text for XML character data and attribute values; characters XML 1.0 cannot carry are dropped. */
export function xmlText(text: string): string {
  return text
    .replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * The Atom feed (RFC 4287) of published advisories, newest first: one entry per advisory,
 * updated when a revision is published. Entry ids are tag URIs of the advisory id, so a
 * feed reader keeps one entry per advisory through its revisions.
 */
export function composeAdvisoryFeed(advisories: Advisory[], site: { baseUrl: string; companyName: string; programName: string }): string {
  const feedUrl = `${site.baseUrl}/security/advisories.atom`;
  const host = new URL(site.baseUrl).hostname;
  const updated = advisories.map((a) => a.revisions.at(-1)!.publishedAt).sort().at(-1) ?? "1970-01-01T00:00:00.000Z";
  const entries = advisories.map((advisory) => {
    const latest = advisory.revisions.at(-1)!;
    const url = advisoryPageUrl(site, advisory);
    const summary = latest.content.cveId ? `${latest.content.cveId}. ${latest.summary}` : latest.summary;
    return [
      "  <entry>",
      `    <id>tag:${xmlText(host)},${advisory.revisions[0]!.publishedAt.slice(0, 10)}:${xmlText(advisory.publicId)}</id>`,
      `    <title>${xmlText(`${advisory.publicId}: ${latest.content.title}`)}</title>`,
      `    <link rel="alternate" type="text/html" href="${xmlText(url)}"/>`,
      `    <published>${advisory.revisions[0]!.publishedAt}</published>`,
      `    <updated>${latest.publishedAt}</updated>`,
      `    <summary>${xmlText(summary)}</summary>`,
      `    <content type="text">${xmlText(latest.content.summary)}</content>`,
      "  </entry>",
    ].join("\n");
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${xmlText(feedUrl)}</id>`,
    `  <title>${xmlText(`${site.companyName} security advisories`)}</title>`,
    `  <subtitle>${xmlText(site.programName)}</subtitle>`,
    `  <link rel="self" type="application/atom+xml" href="${xmlText(feedUrl)}"/>`,
    `  <link rel="alternate" type="text/html" href="${xmlText(`${site.baseUrl}/security/advisories`)}"/>`,
    `  <updated>${updated}</updated>`,
    `  <author><name>${xmlText(site.companyName)}</name></author>`,
    ...entries,
    "</feed>",
    "",
  ].join("\n");
}
