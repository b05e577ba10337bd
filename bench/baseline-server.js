// The bare baselines for `npm run bench:intake`: what the cheapest durable intake could
// cost on this machine, written by hand, with the durability Shield promises (the 201 goes
// out only after the commit). Deliberately nothing else: no validation, no logging, no
// headers, no rate limit.
//
//   BASELINE_WORK=one-row    one table, one insert per report (SQLite: WAL, synchronous=FULL,
//                            one implicit transaction per insert; PostgreSQL: a pool of 10,
//                            one autocommitted insert per report).
//   BASELINE_WORK=same-work  the durable work Shield does per report, with group commit: a
//                            hashed tracking token, the row, a full-text row of title and
//                            description (SQLite FTS5; PostgreSQL a tsvector column), an
//                            HMAC-SHA-256-chained audit event through a single head row, and two
//                            outbox jobs, all in one transaction per batch. On PostgreSQL each
//                            table takes one multi-row statement per batch (unnest) and the head
//                            row is taken once per batch, last, just before the commit.
//
// Started by bench/intake.bench.js as a child process:
//   BASELINE_WORK=… BASELINE_PORT=<port> (BASELINE_DATA_DIR=<dir> | BASELINE_DATABASE_URL=postgres://…) node bench/baseline-server.js
// It prints "listening <address>" on standard output once it accepts connections and
// stops cleanly on SIGTERM.
import { createHash, createHmac, randomBytes } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import Fastify from "fastify";
import pg from "pg";

const work = process.env.BASELINE_WORK ?? "one-row";
const dataDir = process.env.BASELINE_DATA_DIR;
const databaseUrl = process.env.BASELINE_DATABASE_URL;
const port = Number(process.env.BASELINE_PORT ?? 0);
if (!dataDir && !databaseUrl) {
  process.stderr.write("baseline: BASELINE_DATA_DIR or BASELINE_DATABASE_URL is required\n");
  process.exit(2);
}
if (!["one-row", "same-work"].includes(work)) {
  process.stderr.write(`baseline: BASELINE_WORK is one-row or same-work, not ${work}\n`);
  process.exit(2);
}

const AUDIT_KEY = createHash("sha256").update("baseline audit key").digest();
const GENESIS = "0".repeat(64);

/** What each report's durable work computes before it is written: the same in both databases. */
function prepareReport(body, now) {
  const token = randomBytes(32).toString("base64url");
  return {
    token,
    trackingHash: createHash("sha256").update(token).digest("hex"),
    title: String(body.title ?? ""),
    description: String(body.description ?? ""),
    body: JSON.stringify(body),
    at: now,
  };
}

function macOf(prev, seq, at, subjectId) {
  return createHmac("sha256", AUDIT_KEY).update(`${prev}\n${JSON.stringify([seq, at, "public", "report.received", "report", subjectId, '{"channel":"vulnerability"}'])}`).digest("hex");
}

/** Group commit: requests that arrive while a batch commits go together in the next one. */
function groupCommitter(commitBatch) {
  let queue = [];
  let draining = false;
  async function drain() {
    while (queue.length > 0) {
      const batch = queue.splice(0, 64);
      try {
        const ids = await commitBatch(batch.map((b) => b.report));
        batch.forEach((b, i) => b.resolve(ids[i]));
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    draining = false;
  }
  return (report) =>
    new Promise((resolve, reject) => {
      queue.push({ report, resolve, reject });
      if (!draining) {
        draining = true;
        setImmediate(drain);
      }
    });
}

let store;
let close;
if (dataDir) {
  const db = new Database(path.join(dataDir, "baseline.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  close = async () => db.close();
  if (work === "one-row") {
    db.exec("create table if not exists reports (id integer primary key autoincrement, body text not null)");
    const insertReport = db.prepare("insert into reports (body) values (?)");
    store = async (body) => Number(insertReport.run(JSON.stringify(body)).lastInsertRowid);
  } else {
    db.exec(`
      create table if not exists reports (id integer primary key autoincrement, tracking_hash text not null unique, title text not null, description text not null, body text not null, received_at text not null);
      create virtual table if not exists report_search using fts5(title, description);
      create table if not exists audit_head (id integer primary key, seq integer not null, hash text not null);
      insert or ignore into audit_head (id, seq, hash) values (1, 0, '${GENESIS}');
      create table if not exists audit_events (seq integer primary key, at text not null, actor text not null, action text not null, subject_type text not null, subject_id text not null, data text not null, prev_hash text not null, hash text not null);
      create table if not exists jobs (id integer primary key autoincrement, kind text not null, payload text not null, state text not null, run_at text not null, created_at text not null);
      create index if not exists jobs_due on jobs (state, run_at);`);
    const insertReport = db.prepare("insert into reports (tracking_hash, title, description, body, received_at) values (?, ?, ?, ?, ?)");
    const insertSearch = db.prepare("insert into report_search (rowid, title, description) values (?, ?, ?)");
    const readHead = db.prepare("select seq, hash from audit_head where id = 1");
    const writeHead = db.prepare("update audit_head set seq = ?, hash = ? where id = 1");
    const insertEvent = db.prepare("insert into audit_events values (?, ?, 'public', 'report.received', 'report', ?, '{\"channel\":\"vulnerability\"}', ?, ?)");
    const insertJob = db.prepare("insert into jobs (kind, payload, state, run_at, created_at) values (?, ?, 'pending', ?, ?)");
    const commitBatch = db.transaction((reports) => {
      let { seq, hash } = readHead.get();
      const ids = [];
      for (const r of reports) {
        const id = Number(insertReport.run(r.trackingHash, r.title, r.description, r.body, r.at).lastInsertRowid);
        insertSearch.run(id, r.title, r.description);
        seq += 1;
        const mac = macOf(hash, seq, r.at, String(id));
        insertEvent.run(seq, r.at, String(id), hash, mac);
        hash = mac;
        insertJob.run("mail.receipt", JSON.stringify({ reportId: id, token: r.token }), r.at, r.at);
        insertJob.run("notice", JSON.stringify({ reportId: id }), r.at, r.at);
        ids.push(id);
      }
      writeHead.run(seq, hash);
      return ids;
    });
    const enqueue = groupCommitter(async (reports) => commitBatch.immediate(reports));
    store = (body) => enqueue(prepareReport(body, new Date().toISOString()));
  }
} else {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  close = () => pool.end();
  if (work === "one-row") {
    await pool.query("create table if not exists reports (id bigserial primary key, body text not null)");
    store = async (body) => Number((await pool.query("insert into reports (body) values ($1) returning id", [JSON.stringify(body)])).rows[0].id);
  } else {
    await pool.query(`
      create table if not exists reports (id bigserial primary key, tracking_hash text not null unique, title text not null, description text not null, body text not null, received_at text not null,
        search tsvector not null);
      create index if not exists reports_search on reports using gin (search);
      create table if not exists audit_head (id integer primary key, seq bigint not null, hash text not null);
      insert into audit_head (id, seq, hash) values (1, 0, '${GENESIS}') on conflict do nothing;
      create table if not exists audit_events (seq bigint primary key, at text not null, actor text not null, action text not null, subject_type text not null, subject_id text not null, data text not null, prev_hash text not null, hash text not null);
      create table if not exists jobs (id bigserial primary key, kind text not null, payload text not null, state text not null, run_at text not null, created_at text not null);
      create index if not exists jobs_due on jobs (state, run_at);`);
    // One connection does the writing, one batch at a time: the head row orders batches anyway.
    const client = await pool.connect();
    close = () => {
      client.release();
      return pool.end();
    };
    const enqueue = groupCommitter(async (reports) => {
      await client.query("begin");
      try {
        const inserted = await client.query(
          `insert into reports (tracking_hash, title, description, body, received_at, search)
           select h, t, d, b, a, setweight(to_tsvector('simple', t), 'A') || setweight(to_tsvector('simple', d), 'B')
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as r(h, t, d, b, a)
           returning id, tracking_hash`,
          [reports.map((r) => r.trackingHash), reports.map((r) => r.title), reports.map((r) => r.description), reports.map((r) => r.body), reports.map((r) => r.at)],
        );
        const idOf = new Map(inserted.rows.map((row) => [row.tracking_hash, Number(row.id)]));
        const ids = reports.map((r) => idOf.get(r.trackingHash));
        await client.query(
          `insert into jobs (kind, payload, state, run_at, created_at) select k, p, 'pending', a, a from unnest($1::text[], $2::text[], $3::text[]) as j(k, p, a)`,
          [
            reports.flatMap(() => ["mail.receipt", "notice"]),
            reports.flatMap((r, i) => [JSON.stringify({ reportId: ids[i], token: r.token }), JSON.stringify({ reportId: ids[i] })]),
            reports.flatMap((r) => [r.at, r.at]),
          ],
        );
        // The head last, for as short a time as it can be held: take it, chain, write, commit.
        const head = (await client.query("update audit_head set seq = seq + $1 where id = 1 returning seq, hash", [reports.length])).rows[0];
        let seq = Number(head.seq) - reports.length;
        let hash = head.hash;
        const events = { seq: [], at: [], subject: [], prev: [], mac: [] };
        reports.forEach((r, i) => {
          seq += 1;
          const mac = macOf(hash, seq, r.at, String(ids[i]));
          events.seq.push(seq);
          events.at.push(r.at);
          events.subject.push(String(ids[i]));
          events.prev.push(hash);
          events.mac.push(mac);
          hash = mac;
        });
        await client.query(
          `with e as (insert into audit_events select s, a, 'public', 'report.received', 'report', i, '{"channel":"vulnerability"}', p, m
             from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) as e(s, a, i, p, m))
           update audit_head set hash = $6 where id = 1`,
          [events.seq, events.at, events.subject, events.prev, events.mac, hash],
        );
        await client.query("commit");
        return ids;
      } catch (error) {
        await client.query("rollback").catch(() => undefined);
        throw error;
      }
    });
    store = (body) => enqueue(prepareReport(body, new Date().toISOString()));
  }
}

// Same body limit as Shield's default (SHIELD_MAX_BODY_BYTES), so both parse the same way.
const app = Fastify({ logger: false, bodyLimit: 1_048_576 });

app.post("/api/v1/reports", async (request, reply) => {
  // Fastify parsed the JSON (any real server must); the body is stored back as text.
  const id = await store(request.body);
  return reply.code(201).send({ id });
});

const address = await app.listen({ host: "127.0.0.1", port });
process.stdout.write(`listening ${address}\n`);

process.once("SIGTERM", () => {
  app.close().then(
    async () => {
      await close();
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`baseline: unclean stop: ${error}\n`);
      process.exit(1);
    },
  );
});
