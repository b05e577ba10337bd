// The bare baseline for `npm run bench:intake`: what the cheapest durable intake could
// cost on this machine. Fastify + better-sqlite3 with the durability Shield promises
// (WAL, synchronous=FULL, so the row is on disk before the 201), one table, one route.
// Deliberately nothing else: no validation, no logging, no headers, no audit, no outbox.
//
// Started by bench/intake.bench.js as a child process:
//   BASELINE_DATA_DIR=<dir> BASELINE_PORT=<port> node bench/baseline-server.js
// It prints "listening <address>" on standard output once it accepts connections and
// stops cleanly on SIGTERM.
import path from "node:path";
import Database from "better-sqlite3";
import Fastify from "fastify";

const dataDir = process.env.BASELINE_DATA_DIR;
const port = Number(process.env.BASELINE_PORT ?? 0);
if (!dataDir) {
  process.stderr.write("baseline: BASELINE_DATA_DIR is required\n");
  process.exit(2);
}

const db = new Database(path.join(dataDir, "baseline.db"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec("create table if not exists reports (id integer primary key autoincrement, body text not null)");
const insertReport = db.prepare("insert into reports (body) values (?)");

// Same body limit as Shield's default (SHIELD_MAX_BODY_BYTES), so both parse the same way.
const app = Fastify({ logger: false, bodyLimit: 1_048_576 });

app.post("/api/v1/reports", async (request, reply) => {
  // Fastify parsed the JSON (any real server must); the body is stored back as text.
  const { lastInsertRowid } = insertReport.run(JSON.stringify(request.body));
  return reply.code(201).send({ id: Number(lastInsertRowid) });
});

const address = await app.listen({ host: "127.0.0.1", port });
process.stdout.write(`listening ${address}\n`);

process.once("SIGTERM", () => {
  app.close().then(
    () => {
      db.close();
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`baseline: unclean stop: ${error}\n`);
      process.exit(1);
    },
  );
});
