import { describeShare, METRIC_LABELS, type MetricsSummary } from "./metrics.js";

/**
 * The share within target as a bar chart in SVG, made on the server: one bar per channel
 * and metric with a target. Pure. Accessible without the picture: a `<title>` and
 * `<desc>`, `role="img"`, and every bar has its label and value as text. No inline
 * style: sizes are presentation attributes, colours come from classes in admin.css.
 * Every text is escaped here, since the page writes the result raw.
 */
const CHANNEL_LABELS: Record<string, string> = { account_attack: "Account attack", vulnerability: "Vulnerability", sensitive: "Sensitive" };

const LABEL_WIDTH = 270;
const BAR_WIDTH = 300;
const ROW = 26;
const TOP = 34;

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

export function renderShareChart(summary: MetricsSummary): string {
  const rows = summary.channels.flatMap((c) =>
    c.figures
      .filter((f) => f.metric !== "time_to_bounty")
      .map((f) => ({ label: `${CHANNEL_LABELS[c.channel] ?? c.channel}: ${METRIC_LABELS[f.metric]}`, share: f.shareWithinTarget, decided: f.met + f.missed })),
  );
  const height = TOP + rows.length * ROW + 10;
  const width = LABEL_WIDTH + BAR_WIDTH + 140;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="metrics-chart" role="img" aria-labelledby="share-chart-title share-chart-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    `<title id="share-chart-title">Share of reports within target, per channel and metric, last ${summary.windowDays} days</title>`,
    `<desc id="share-chart-desc">${escapeXml(rows.map((r) => `${r.label}: ${r.share === null ? "no decided reports" : describeShare(r.share)}`).join("; "))}.</desc>`,
    `<text class="chart-axis" x="${LABEL_WIDTH}" y="18">0 %</text>`,
    `<text class="chart-axis" x="${LABEL_WIDTH + BAR_WIDTH}" y="18" text-anchor="end">100 %</text>`,
  );
  rows.forEach((row, i) => {
    const y = TOP + i * ROW;
    out.push(`<text class="chart-label" x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escapeXml(row.label)}</text>`);
    out.push(`<rect class="chart-track" x="${LABEL_WIDTH}" y="${y + 2}" width="${BAR_WIDTH}" height="${ROW - 8}"/>`);
    if (row.share !== null) {
      const w = Math.round(row.share * BAR_WIDTH * 10) / 10;
      out.push(`<rect class="chart-bar${row.share < 0.9 ? " chart-bar-low" : ""}" x="${LABEL_WIDTH}" y="${y + 2}" width="${w}" height="${ROW - 8}"/>`);
    }
    const value = row.share === null ? "no decided reports" : `${describeShare(row.share)} of ${row.decided}`;
    out.push(`<text class="chart-value" x="${LABEL_WIDTH + BAR_WIDTH + 8}" y="${y + 15}">${escapeXml(value)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n");
}
