import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/types.ts';
import { statementKind, tableOf } from '../../src/lib/kysely-tracing-plugin.ts';

/** What a statement's span is named after: its kind and first table, never its SQL text. */

const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

describe('statement span names', () => {
  it('names a built query after its kind and first table', () => {
    const node = db
      .selectFrom('ktrlplane.resources')
      .selectAll()
      .where('project_id', '=', 'p')
      .toOperationNode();
    expect([statementKind(node), tableOf(node)]).toEqual(['SELECT', 'ktrlplane.resources']);
  });

  it('names raw SQL after its first keyword and the first table it passes as sql.table', () => {
    const node =
      sql`SELECT * FROM ${sql.table('ktrlplane.api_tokens')} t JOIN ${sql.table('ktrlplane.users')} u ON true WHERE t.token_hash = ${'secret'}`.toOperationNode();
    expect([statementKind(node), tableOf(node)]).toEqual(['SELECT', 'ktrlplane.api_tokens']);
  });

  it('names raw SQL without sql.table after its first keyword alone', () => {
    const node =
      sql`WITH chain AS (SELECT 1 FROM ktrlplane.projects WHERE project_id = ${'p'}) SELECT * FROM chain`.toOperationNode();
    expect([statementKind(node), tableOf(node)]).toEqual(['WITH', undefined]);
  });
});
