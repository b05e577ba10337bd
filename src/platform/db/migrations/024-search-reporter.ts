import { sql, type Kysely } from "kysely";
import type { DatabaseKind } from "../database.js";

/**
 * Team search finds reports by the reporter's name and e-mail address too. The words of
 * both join the part of the index that similar-report matching does not read: on SQLite
 * the front of the `messages` column (FTS5 columns are fixed; `{title description}` is what
 * similarity asks), on PostgreSQL weight C (similarity asks for A and B). Every trigger that
 * rebuilds a report's entry puts them back, and every report stored so far is indexed again.
 */
export async function up(db: Kysely<any>, kind: DatabaseKind): Promise<void> {
  if (kind === "sqlite") {
    const document = (reportId: string) => sql.raw(`
      insert or replace into report_search (rowid, title, description, messages)
      select r.id, r.title, r.description, r.reporter_name || ' ' || r.reporter_email || ' ' || coalesce((select group_concat(m.body, ' ' order by m.id) from messages m where m.report_id = r.id), '')
      from reports r where r.id = ${reportId};`);
    for (const trigger of ["report_search_report_changed", "report_search_message_inserted", "report_search_message_changed", "report_search_message_deleted"]) {
      await sql`drop trigger ${sql.raw(trigger)}`.execute(db);
    }
    await sql`create trigger report_search_report_changed after update of title, description, reporter_name, reporter_email on reports begin ${document("new.id")} end`.execute(db);
    await sql`create trigger report_search_message_inserted after insert on messages begin ${document("new.report_id")} end`.execute(db);
    await sql`create trigger report_search_message_changed after update of body on messages begin ${document("new.report_id")} end`.execute(db);
    await sql`create trigger report_search_message_deleted after delete on messages begin ${document("old.report_id")} end`.execute(db);
    await sql`insert or replace into report_search (rowid, title, description, messages)
      select r.id, r.title, r.description, r.reporter_name || ' ' || r.reporter_email || ' ' || coalesce((select group_concat(m.body, ' ' order by m.id) from messages m where m.report_id = r.id), '') from reports r`.execute(db);
    return;
  }
  await sql`create or replace function shield_report_document(rid integer) returns tsvector language sql stable as $$
    select setweight(shield_search_words(r.title), 'A')
        || setweight(shield_search_words(r.description), 'B')
        || setweight(shield_search_words(r.reporter_name || ' ' || r.reporter_email), 'C')
        || setweight(shield_search_words(coalesce((select string_agg(m.body, ' ' order by m.id) from messages m where m.report_id = r.id), '')), 'D')
    from reports r where r.id = rid $$`.execute(db);
  await sql`create or replace function shield_report_search_refresh(rid integer) returns void language plpgsql as $$
    begin
      begin
        insert into report_search (report_id, document) select r.id, shield_report_document(r.id) from reports r where r.id = rid
        on conflict (report_id) do update set document = excluded.document;
      exception when program_limit_exceeded then
        insert into report_search (report_id, document)
        select r.id, setweight(shield_search_words(r.title), 'A') || setweight(shield_search_words(r.description), 'B') || setweight(shield_search_words(r.reporter_name || ' ' || r.reporter_email), 'C')
        from reports r where r.id = rid
        on conflict (report_id) do update set document = excluded.document;
      end;
    end $$`.execute(db);
  await sql`drop trigger report_search_report_changed on reports`.execute(db);
  await sql`create trigger report_search_report_changed after update of title, description, reporter_name, reporter_email on reports for each row execute function shield_report_search_report()`.execute(db);
  await sql`select shield_report_search_refresh(id) from reports`.execute(db);
}
