import { type Kysely, sql } from 'kysely';
import { ADOPTION_ARCHIVE_SCHEMA } from './recognise.ts';

/**
 * Privileges other roles held on the Go tables (db-query-operator's role reading projects and
 * resources and writing status back, say) are granted again on ktrlplane's tables of the same name,
 * for the columns that exist there, so the production manifests keep working under the role they
 * connect as. Answers the GRANT statements made.
 */
export async function carryTableGrants(db: Kysely<unknown>): Promise<string[]> {
  const rows = await sql<{
    table_name: string;
    column_name: string | null;
    grantee: string;
    privilege: string;
  }>`
    SELECT c.relname AS table_name, NULL::text AS column_name,
           coalesce(r.rolname, 'PUBLIC') AS grantee, a.privilege_type AS privilege
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE n.nspname = ${ADOPTION_ARCHIVE_SCHEMA} AND c.relkind = 'r' AND a.grantee <> c.relowner
    UNION ALL
    SELECT c.relname, att.attname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
    FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL aclexplode(att.attacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE n.nspname = ${ADOPTION_ARCHIVE_SCHEMA} AND c.relkind = 'r' AND att.attnum > 0 AND NOT att.attisdropped
      AND a.grantee <> c.relowner
    ORDER BY 1, 2 NULLS FIRST, 3, 4`.execute(db);
  const targets = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'ktrlplane'`.execute(
    db,
  );
  const columns = new Map<string, Set<string>>();
  for (const t of targets.rows) {
    const set = columns.get(t.table_name) ?? new Set<string>();
    set.add(t.column_name);
    columns.set(t.table_name, set);
  }
  const quote = (name: string) => (name === 'PUBLIC' ? 'PUBLIC' : `"${name.replaceAll('"', '""')}"`);
  const granted: string[] = [];
  for (const row of rows.rows) {
    const table = columns.get(row.table_name);
    if (!table) continue;
    if (row.column_name !== null && !table.has(row.column_name)) continue;
    const statement = `GRANT ${row.privilege}${row.column_name ? ` ("${row.column_name}")` : ''} ON ktrlplane."${row.table_name}" TO ${quote(row.grantee)}`;
    await sql.raw(statement).execute(db);
    granted.push(statement);
  }
  return granted;
}
