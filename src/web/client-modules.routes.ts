import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { HttpApp } from "../platform/http/app.js";
import { CLIENT_BUILD_DIR } from "./render.js";

/**
 * Serves the built browser modules at /assets/js/<name>.js (and their shared chunks),
 * read once at start. Only files that `vite build` produced can be named; a page that
 * references a missing module still works, since every page works without JavaScript.
 */
export function registerClientModuleRoutes(app: HttpApp): void {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".js")) files.set(path.relative(CLIENT_BUILD_DIR, full).split(path.sep).join("/"), fs.readFileSync(full));
    }
  };
  walk(CLIENT_BUILD_DIR);
  if (files.size === 0) app.log.warn({ dir: CLIENT_BUILD_DIR }, "no browser modules built; run `npm run build`");

  app.get(
    "/assets/js/*",
    { schema: { hide: true, params: z.object({ "*": z.string().max(200) }) } },
    async (request, reply) => {
      const body = files.get(request.params["*"]);
      if (!body) return reply.code(404).type("text/plain; charset=utf-8").send("Not found");
      return reply.type("text/javascript; charset=utf-8").header("cache-control", "public, max-age=300").send(body);
    },
  );
}
