import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { isWebUrl, LINK_REL } from "../../platform/markdown/markdown.js";
import { listHallOfFameEntries } from "../../modules/hall-of-fame/index.js";
import type { SettingsCache } from "../../modules/settings/index.js";
import { renderPage, setSiteInfo } from "../render.js";

export interface HallOfFameRouteDeps {
  db: Db;
  settings: SettingsCache;
}

/** `GET /security/thanks`: everyone in the hall of fame, in the order they were added. */
export function registerHallOfFameRoutes(app: HttpApp, deps: HallOfFameRouteDeps): void {
  app.get("/security/thanks", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    setSiteInfo(settings);
    const entries = (await listHallOfFameEntries(deps.db)).map((entry) => ({
      name: entry.name,
      affiliation: entry.affiliation,
      // Checked when stored; checked again here because a link on this page is an invitation to click.
      url: entry.url !== null && isWebUrl(entry.url) ? entry.url : null,
      year: entry.addedAt.slice(0, 4),
    }));
    // Under the year each was added, keeping the order they were added in.
    const years: Array<{ year: string; entries: typeof entries }> = [];
    for (const entry of entries) {
      if (years.at(-1)?.year !== entry.year) years.push({ year: entry.year, entries: [] });
      years.at(-1)!.entries.push(entry);
    }
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "public, max-age=60")
      .send(
        renderPage("hall-of-fame", {
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
