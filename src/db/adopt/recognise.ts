import { type Kysely, sql } from 'kysely';
import { GO_LATEST_VERSION, GO_LEGACY_TABLES, type GoTable, goShapeAt } from './go-schema.ts';

/**
 * What `npm run migrate` found in the database:
 * - `empty`: nothing in schema `ktrlplane` (a new installation),
 * - `ours`: ktrlplane's own migration table is there (migrations continue as usual),
 * - `go`: the Go service's schema at a known version, to be adopted.
 * Anything else is refused with an UnrecognisedSchemaError that says what was found.
 */
export type DatabaseKind =
  | { kind: 'empty' }
  | { kind: 'ours' }
  | { kind: 'go'; version: number; legacyTables: string[] };

export class UnrecognisedSchemaError extends Error {
  constructor(findings: string[]) {
    super(
      `Refusing to migrate: the database is neither empty, nor ktrlplane's, nor the Go service's schema at a version adoption knows (001–${String(GO_LATEST_VERSION).padStart(3, '0')}). Found:\n${findings.map((f) => `  - ${f}`).join('\n')}\nNothing was changed.`,
    );
    this.name = 'UnrecognisedSchemaError';
  }
}

const ADOPTION_ARCHIVE_SCHEMA = 'ktrlplane_go_archive';

export { ADOPTION_ARCHIVE_SCHEMA };

async function columnsBySchemaTable(db: Kysely<unknown>, schema: string): Promise<Map<string, string[]>> {
  const rows = await sql<{ table_name: string; column_name: string; table_type: string }>`
    SELECT t.table_name, c.column_name, t.table_type
    FROM information_schema.tables t
    LEFT JOIN information_schema.columns c
      ON c.table_schema = t.table_schema AND c.table_name = t.table_name
    WHERE t.table_schema = ${schema}
    ORDER BY t.table_name, c.ordinal_position`.execute(db);
  const tables = new Map<string, string[]>();
  for (const row of rows.rows) {
    const key =
      row.table_type === 'BASE TABLE'
        ? row.table_name
        : `${row.table_name} (${row.table_type.toLowerCase()})`;
    const list = tables.get(key) ?? [];
    if (row.column_name) list.push(row.column_name);
    tables.set(key, list);
  }
  return tables;
}

/** Versions the Go runner recorded, or null when it never ran here. */
async function goVersions(db: Kysely<unknown>): Promise<string[] | null> {
  const table = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'schema_migrations' AND column_name = 'version'`.execute(
    db,
  );
  if ((table.rows[0]?.n ?? 0) === 0) return null;
  const rows = await sql<{
    version: string;
  }>`SELECT version FROM public.schema_migrations ORDER BY version`.execute(db);
  return rows.rows.map((row) => row.version);
}

/** Functions, sequences not owned by a column, domains and types in schema `ktrlplane`. */
async function otherObjects(db: Kysely<unknown>): Promise<string[]> {
  const rows = await sql<{ what: string }>`
    SELECT 'function ' || p.proname AS what FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'ktrlplane'
    UNION ALL
    SELECT 'sequence ' || c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'ktrlplane' AND c.relkind = 'S'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'ktrlplane' AND t.typtype IN ('d', 'e', 'r', 'm')
    ORDER BY 1`.execute(db);
  return rows.rows.map((row) => row.what);
}

/** Tells what the database is; read-only. */
export async function recogniseDatabase(db: Kysely<unknown>): Promise<DatabaseKind> {
  const tables = await columnsBySchemaTable(db, 'ktrlplane');
  if (tables.has('schema_migrations') && tables.get('schema_migrations')?.includes('name'))
    return { kind: 'ours' };

  const versions = await goVersions(db);
  const archive = await columnsBySchemaTable(db, ADOPTION_ARCHIVE_SCHEMA);
  if (tables.size === 0) {
    if (versions && versions.length > 0)
      throw new UnrecognisedSchemaError([
        `public.schema_migrations records Go migrations ${versions.join(', ')}, but schema ktrlplane has no tables`,
      ]);
    return { kind: 'empty' };
  }

  const findings: string[] = [];
  if (archive.size > 0)
    findings.push(`schema ${ADOPTION_ARCHIVE_SCHEMA} exists already (${[...archive.keys()].join(', ')})`);
  if (!versions) {
    findings.push(
      `tables in schema ktrlplane (${[...tables.keys()].join(', ')}) but neither ktrlplane.schema_migrations (ktrlplane's) nor public.schema_migrations (the Go service's)`,
    );
    throw new UnrecognisedSchemaError(findings);
  }
  const expected = versions.map((_, i) => String(i + 1).padStart(3, '0'));
  if (versions.join(',') !== expected.join(',')) {
    findings.push(
      `public.schema_migrations records ${versions.join(', ') || 'nothing'}; adoption expects 001 up to at most ${String(GO_LATEST_VERSION).padStart(3, '0')} without gaps`,
    );
    throw new UnrecognisedSchemaError(findings);
  }
  const version = versions.length;
  if (version > GO_LATEST_VERSION) {
    findings.push(
      `Go migration ${versions[GO_LATEST_VERSION]} is newer than the last one adoption knows (${String(GO_LATEST_VERSION).padStart(3, '0')})`,
    );
    throw new UnrecognisedSchemaError(findings);
  }

  const shape = goShapeAt(version);
  const legacyTables: string[] = [];
  for (const [name, columns] of tables) {
    const want = shape[name as GoTable];
    if (!want) {
      if ((GO_LEGACY_TABLES as readonly string[]).includes(name)) legacyTables.push(name);
      else
        findings.push(
          `table ktrlplane.${name} (${columns.join(', ')}), which the Go schema at ${versions.at(-1)} does not have`,
        );
      continue;
    }
    const missing = want.filter((c) => !columns.includes(c));
    const extra = columns.filter((c) => !want.includes(c));
    if (missing.length || extra.length)
      findings.push(
        `ktrlplane.${name} at Go ${versions.at(-1)} should have (${want.join(', ')}); ${[
          missing.length ? `missing ${missing.join(', ')}` : '',
          extra.length ? `unexpected ${extra.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')}`,
      );
  }
  for (const name of Object.keys(shape)) {
    if (!tables.has(name))
      findings.push(`ktrlplane.${name} is missing (the Go schema at ${versions.at(-1)} has it)`);
  }
  for (const other of await otherObjects(db)) findings.push(`${other} in schema ktrlplane`);
  if (findings.length > 0) throw new UnrecognisedSchemaError(findings);
  return { kind: 'go', version, legacyTables: legacyTables.sort() };
}
