import { sql, type Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Triage: severity (CVSS 3.1 / 4.0, CWE), bounty, affected versions, upstream
 * coordination, the indexed next deadline of the queue, and full-text search over
 * titles, descriptions and messages.
 *
 * Search is one document per report (title, description, every message), so that the
 * words of a query may be found across them. SQLite keeps it in an FTS5 table, PostgreSQL
 * in a tsvector with a GIN index; triggers keep both in step with `reports` and
 * `messages`, whoever writes them. Both split text the same way: runs of letters and
 * digits, lower-cased, no stemming, accents kept.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  const id = kind === "postgres" ? "serial" : "integer";
  const pk = (col: any) => (kind === "postgres" ? col.primaryKey() : col.primaryKey().autoIncrement());

  const columns: Array<[string, string]> = [
    ["cvss31_vector", "text"],
    ["cvss31_score", "double precision"],
    ["cvss31_rating", "text"],
    ["cvss40_vector", "text"],
    ["cvss40_score", "double precision"],
    ["cvss40_rating", "text"],
    ["severity_source", "text"],
    ["cwe_id", "text"],
    ["cwe_name", "text"],
    ["affected_versions", "text"],
    ["bounty_eligible", "integer"],
    ["bounty_reason", "text"],
    ["bounty_amount", "double precision"],
    ["bounty_currency", "text"],
    ["bounty_awarded_at", "text"],
    ["bounty_paid_at", "text"],
    ["next_deadline_at", "text"],
  ];
  // One column per statement: SQLite's ALTER TABLE adds one at a time.
  for (const [name, type] of columns) {
    await db.schema.alterTable("reports").addColumn(name, sql.raw(type)).execute();
  }
  // The queue order (`sort=deadline`): reports with a deadline first, soonest first.
  // An expression index, because SQLite sorts NULLs first and PostgreSQL last. The
  // filter columns ride along, so that a filtered page is read from the index alone
  // until it is full, without visiting the rows it skips.
  await sql`create index reports_next_deadline on reports ((next_deadline_at is null), next_deadline_at, id, state, channel, severity, owner_id)`.execute(db);
  await db.schema.createIndex("reports_owner").on("reports").columns(["owner_id", "id"]).execute();

  await db.schema
    .createTable("report_upstreams")
    .addColumn("id", id, pk)
    .addColumn("report_id", "integer", (c) => c.notNull().references("reports.id"))
    .addColumn("project", "text", (c) => c.notNull())
    .addColumn("contact", "text")
    .addColumn("reference", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("embargo_until", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("report_upstreams_report").on("report_upstreams").columns(["report_id", "id"]).execute();

  // The service-level targets the stored next deadlines were computed with.
  await db.schema
    .createTable("report_deadline_basis")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("targets", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  if (kind === "sqlite") await createSqliteSearch(db);
  else await createPostgresSearch(db);
}

async function createSqliteSearch(db: Kysely<any>): Promise<void> {
  // Contentless: the index only, the text stays in reports and messages. Rows are
  // replaced whole (contentless_delete), so the messages column is rebuilt from the table.
  await sql`create virtual table report_search using fts5(title, description, messages, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0')`.execute(db);
  const document = (reportId: string) => sql.raw(`
    insert or replace into report_search (rowid, title, description, messages)
    select r.id, r.title, r.description, coalesce((select group_concat(m.body, ' ' order by m.id) from messages m where m.report_id = r.id), '')
    from reports r where r.id = ${reportId};`);
  await sql`insert into report_search (rowid, title, description, messages)
    select r.id, r.title, r.description, coalesce((select group_concat(m.body, ' ' order by m.id) from messages m where m.report_id = r.id), '') from reports r`.execute(db);
  await sql`create trigger report_search_report_inserted after insert on reports begin
    insert into report_search (rowid, title, description, messages) values (new.id, new.title, new.description, ''); end`.execute(db);
  await sql`create trigger report_search_report_changed after update of title, description on reports begin ${document("new.id")} end`.execute(db);
  await sql`create trigger report_search_report_deleted after delete on reports begin delete from report_search where rowid = old.id; end`.execute(db);
  await sql`create trigger report_search_message_inserted after insert on messages begin ${document("new.report_id")} end`.execute(db);
  await sql`create trigger report_search_message_changed after update of body on messages begin ${document("new.report_id")} end`.execute(db);
  await sql`create trigger report_search_message_deleted after delete on messages begin ${document("old.report_id")} end`.execute(db);
}

async function createPostgresSearch(db: Kysely<any>): Promise<void> {
  await sql`create table report_search (report_id integer primary key references reports(id) on delete cascade, document tsvector not null)`.execute(db);
  await sql`create index report_search_document on report_search using gin (document)`.execute(db);
  // Punctuation becomes a space so that PostgreSQL's parser sees the same words as
  // FTS5 (it would otherwise keep "example.com" or "a@b.org" whole). Each part is
  // bounded: a tsvector holds at most 1 MB.
  await sql`create function shield_search_words(text) returns tsvector language sql immutable parallel safe as $$
    select to_tsvector('simple', regexp_replace(left($1, 200000), '[[:punct:]]+', ' ', 'g')) $$`.execute(db);
  await sql`create function shield_report_document(rid integer) returns tsvector language sql stable as $$
    select setweight(shield_search_words(r.title), 'A')
        || setweight(shield_search_words(r.description), 'B')
        || setweight(shield_search_words(coalesce((select string_agg(m.body, ' ' order by m.id) from messages m where m.report_id = r.id), '')), 'D')
    from reports r where r.id = rid $$`.execute(db);
  // Indexing must never cost a report or a message: when a document outgrows what a
  // tsvector holds, the report keeps the part that fits and the write goes through.
  await sql`create function shield_report_search_refresh(rid integer) returns void language plpgsql as $$
    begin
      begin
        insert into report_search (report_id, document) select r.id, shield_report_document(r.id) from reports r where r.id = rid
        on conflict (report_id) do update set document = excluded.document;
      exception when program_limit_exceeded then
        insert into report_search (report_id, document) select r.id, setweight(shield_search_words(r.title), 'A') || setweight(shield_search_words(r.description), 'B') from reports r where r.id = rid
        on conflict (report_id) do update set document = excluded.document;
      end;
    end $$`.execute(db);
  await sql`create function shield_report_search_report() returns trigger language plpgsql as $$
    begin perform shield_report_search_refresh(new.id); return null; end $$`.execute(db);
  await sql`create function shield_report_search_message() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        begin
          update report_search set document = document || setweight(shield_search_words(new.body), 'D') where report_id = new.report_id;
        exception when program_limit_exceeded then null;
        end;
      elsif tg_op = 'UPDATE' then
        perform shield_report_search_refresh(new.report_id);
      else
        perform shield_report_search_refresh(old.report_id);
      end if;
      return null;
    end $$`.execute(db);
  await sql`insert into report_search (report_id, document) select id, shield_report_document(id) from reports`.execute(db);
  await sql`create trigger report_search_report_inserted after insert on reports for each row execute function shield_report_search_report()`.execute(db);
  await sql`create trigger report_search_report_changed after update of title, description on reports for each row execute function shield_report_search_report()`.execute(db);
  await sql`create trigger report_search_message_inserted after insert on messages for each row execute function shield_report_search_message()`.execute(db);
  await sql`create trigger report_search_message_changed after update of body on messages for each row execute function shield_report_search_message()`.execute(db);
  await sql`create trigger report_search_message_deleted after delete on messages for each row execute function shield_report_search_message()`.execute(db);
}
