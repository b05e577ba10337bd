import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { LINK_REL } from "../../platform/markdown/markdown.js";
import { isWebUrl } from "../../shared/web-url.js";
import { listHallOfFameEntries } from "../../modules/hall-of-fame/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";
import { renderPage } from "../render.js";

export interface HallOfFameRouteDeps {
  db: Db;
  settings: SettingsReader;
}

/** `GET /security/thanks`: everyone in the hall of fame, in the order they were added. */
export function registerHallOfFameRoutes(app: HttpApp, deps: HallOfFameRouteDeps): void {
  app.get("/security/thanks", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    const entries = (await listHallOfFameEntries(deps.db)).map((entry) => ({
      name: entry.name,
      affiliation: entry.affiliation,
      // Checked when stored; checked again here because a link on this page is an invitation to click.
      url: entry.url !== null && isWebUrl(entry.url) ? entry.url : null,
      year: entry.year === null ? entry.addedAt.slice(0, 4) : String(entry.year),
    }));
    // Under its own year (the one its list gave, else the year it was added; each year once, oldest first), in the order they were added.
    const byYear = new Map<string, typeof entries>();
    for (const entry of entries) {
      const listed = byYear.get(entry.year);
      if (listed) listed.push(entry);
      else byYear.set(entry.year, [entry]);
    }
    const years = [...byYear].sort(([a], [b]) => a.localeCompare(b)).map(([year, listed]) => ({ year, entries: listed }));
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(
        renderPage(reply.request, "hall-of-fame", {
          title: "Hall of fame",
          description: `Security researchers who helped ${settings.companyName} find, fix and disclose security problems safely.`,
          companyName: settings.companyName,
          years,
          rel: LINK_REL,
          nav: "thanks",
        }),
      );
  });
}
