import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Eta } from "eta";

/** The folder holding package.json: templates and assets are read from the source tree in dev and in production. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find Shield's package.json");
    dir = parent;
  }
  return dir;
}

export const WEB_ROOT = path.join(packageRoot(), "src", "web");

/**
 * Server-side templates. Every `<%= … %>` is HTML-escaped; nothing from a report is
 * ever written with the raw tag.
 */
export const views = new Eta({ views: path.join(WEB_ROOT, "views"), cache: true, autoEscape: true, autoTrim: false });

export interface PageData {
  title: string;
  [key: string]: unknown;
}

export function renderPage(template: string, data: PageData): string {
  return views.render(template, data);
}
