import { type Context, context, SpanKind, trace } from '@opentelemetry/api';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { tracer } from './tracing.ts';

interface PendingQuery {
  startedAt: number;
  parent: Context;
  operation: string;
  table: string | undefined;
}

const STATEMENT_OF_NODE: Record<string, string> = {
  SelectQueryNode: 'SELECT',
  InsertQueryNode: 'INSERT',
  UpdateQueryNode: 'UPDATE',
  DeleteQueryNode: 'DELETE',
  MergeQueryNode: 'MERGE',
  CreateTableNode: 'CREATE TABLE',
  AlterTableNode: 'ALTER TABLE',
  DropTableNode: 'DROP TABLE',
  CreateIndexNode: 'CREATE INDEX',
  DropIndexNode: 'DROP INDEX',
  CreateSchemaNode: 'CREATE SCHEMA',
  DropSchemaNode: 'DROP SCHEMA',
  CreateViewNode: 'CREATE VIEW',
  DropViewNode: 'DROP VIEW',
  CreateTypeNode: 'CREATE TYPE',
  DropTypeNode: 'DROP TYPE',
  RefreshMaterializedViewNode: 'REFRESH MATERIALIZED VIEW',
};

/**
 * A child span per database statement (`SELECT ktrlplane.organizations`), under whatever span is
 * current (a request, a job run). It carries the statement kind and the first table only: never
 * the SQL text's values, never the parameters, which hold tenants' data and credentials.
 *
 * Kysely tells a plugin when a query is compiled and when its result comes back, not when it
 * fails; so the span is made when the result arrives, with the start time noted at compile time.
 * A failed statement therefore has no span of its own: the error shows on the request or job span
 * it fails. Nothing is done at all when no recording span is current (tracing off, not sampled).
 */
export class KyselyTracingPlugin implements KyselyPlugin {
  readonly #pending = new WeakMap<object, PendingQuery>();

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    const active = trace.getActiveSpan();
    if (active?.isRecording()) {
      this.#pending.set(queryId, {
        // Wall-clock milliseconds, not performance.now(): the SDK anchors a trace's spans to Date,
        // and the performance timeline drifts from it over a process's life (tens of ms in a
        // long-lived, loaded process), which put statements before the request that ran them.
        startedAt: Date.now(),
        parent: context.active(),
        operation: statementKind(node),
        table: tableOf(node),
      });
    }
    return node;
  }

  async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const pending = this.#pending.get(queryId);
    if (pending) {
      this.#pending.delete(queryId);
      const span = tracer().startSpan(
        pending.table ? `${pending.operation} ${pending.table}` : pending.operation,
        {
          kind: SpanKind.CLIENT,
          startTime: pending.startedAt,
          attributes: {
            'db.system.name': 'postgresql',
            'db.operation.name': pending.operation,
            ...(pending.table ? { 'db.collection.name': pending.table } : {}),
            ...(result.rows ? { 'db.response.returned_rows': result.rows.length } : {}),
          },
        },
        pending.parent,
      );
      span.end();
    }
    return result;
  }
}

/** SELECT, INSERT, …; for raw SQL the first keyword of its text (never more of it). */
export function statementKind(node: RootOperationNode): string {
  const known = STATEMENT_OF_NODE[node.kind];
  if (known) return known;
  if (node.kind === 'RawNode') {
    const keyword = /^\s*([A-Za-z]+)/.exec(node.sqlFragments[0] ?? '')?.[1];
    return keyword ? keyword.toUpperCase() : 'SQL';
  }
  return node.kind.replace(/Node$/, '');
}

/**
 * The schema-qualified name of the statement's first table, when it has one (for raw SQL, when it
 * names its table with `sql.table`).
 */
export function tableOf(node: RootOperationNode): string | undefined {
  const n = node as unknown as Record<string, unknown>;
  switch (node.kind) {
    case 'SelectQueryNode':
    case 'DeleteQueryNode':
      return tableName(firstFrom(n.from));
    case 'InsertQueryNode':
    case 'MergeQueryNode':
      return tableName(n.into);
    case 'UpdateQueryNode':
      return tableName(n.table) ?? tableName(firstFrom(n.from));
    case 'RawNode':
      return firstTableIn(n.parameters);
    default:
      return tableName(n.table);
  }
}

/** In raw SQL, the first table passed as `sql.table(...)` (a node, never the SQL text). */
function firstTableIn(parameters: unknown): string | undefined {
  if (!Array.isArray(parameters)) return undefined;
  for (const parameter of parameters) {
    const node = parameter as { kind?: string; parameters?: unknown };
    const name = node.kind === 'RawNode' ? firstTableIn(node.parameters) : tableName(node);
    if (name) return name;
  }
  return undefined;
}

function firstFrom(from: unknown): unknown {
  return (from as { froms?: unknown[] } | undefined)?.froms?.[0];
}

function tableName(node: unknown): string | undefined {
  const n = node as
    | { kind?: string; node?: unknown; table?: { schema?: { name: string }; identifier?: { name: string } } }
    | undefined;
  if (!n) return undefined;
  if (n.kind === 'AliasNode') return tableName(n.node);
  if (n.kind !== 'TableNode' || !n.table?.identifier) return undefined;
  return n.table.schema ? `${n.table.schema.name}.${n.table.identifier.name}` : n.table.identifier.name;
}
