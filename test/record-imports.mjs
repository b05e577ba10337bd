// Preloaded by test/start-up-imports.test.ts (`node --import`): writes every module the
// process loaded, ES modules through a load hook and CommonJS ones from require.cache,
// one URL or path a line, to the file SHIELD_TEST_IMPORTS_FILE names, when it exits.
import fs from "node:fs";
import { createRequire, register } from "node:module";

const file = process.env.SHIELD_TEST_IMPORTS_FILE;
const { port1, port2 } = new MessageChannel();
const loaded = [];
port1.on("message", (url) => loaded.push(url));
port1.unref();
register(
  `data:text/javascript,${encodeURIComponent("let port; export function initialize(data) { port = data.port; } export async function load(url, context, next) { port.postMessage(url); return next(url, context); }")}`,
  { data: { port: port2 }, transferList: [port2] },
);
const require = createRequire(import.meta.url);
process.on("exit", () => fs.writeFileSync(file, [...loaded, ...Object.keys(require.cache)].join("\n") + "\n"));
