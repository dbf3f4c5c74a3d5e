import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

/**
 * Reading the DatabaseQueryResource manifests of deploy/operator as db-query-operator sees them:
 * its CRD's fields and defaults (konnektr.io/v1alpha1), YAML 1.1 like Kubernetes' decoder, and Go
 * durations for the intervals. Documents of other kinds in the folder are ignored.
 */

/** Go's time.ParseDuration, as the CRD's pattern allows it: "10s", "1m30s", "1.5h", "250ms". */
export function parseGoDuration(text: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) {
    throw new Error(`"${text}" is not a Go duration (e.g. 10s, 1m, 1h30m)`);
  }
  let total = 0;
  for (const match of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * (units[match[2] as string] ?? 0);
  }
  return total;
}

const goDuration = z.string().refine(
  (text) => {
    try {
      parseGoDuration(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'use a Go duration such as 10s, 1m or 1h30m' },
);

export const databaseQueryResourceSchema = z.object({
  apiVersion: z.literal('konnektr.io/v1alpha1'),
  kind: z.literal('DatabaseQueryResource'),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() }),
  spec: z.object({
    pollInterval: goDuration,
    prune: z.boolean().default(true),
    database: z.object({
      type: z.literal('postgres').default('postgres'),
      connectionSecretRef: z.object({
        name: z.string().min(1),
        namespace: z.string().optional(),
        uriKey: z.string().optional(),
      }),
    }),
    query: z.string().min(1),
    template: z.string().min(1),
    statusUpdateQueryTemplate: z.string().optional(),
    changeDetection: z
      .object({
        enabled: z.boolean(),
        tableName: z.string().min(1),
        timestampColumn: z.string().min(1),
        changePollInterval: goDuration.default('10s'),
      })
      .optional(),
  }),
});

export type DatabaseQueryResource = z.output<typeof databaseQueryResourceSchema> & {
  /** The file it came from, for messages. */
  source: string;
};

/** Parses YAML the way Kubernetes does (YAML 1.1: `on`, `yes` and `no` are booleans there). */
export function parseYaml1_1(text: string, source: string): unknown[] {
  const documents = parseAllDocuments(text, { version: '1.1' });
  if (!Array.isArray(documents)) return [];
  return documents.map((document, index) => {
    const error = document.errors[0];
    if (error) throw new Error(`${source}, document ${index + 1}: ${error.message}`);
    return document.toJS();
  });
}

/** Every DatabaseQueryResource in the *.yaml / *.yml files of `dir`, in file and document order. */
export async function loadDatabaseQueryResources(dir: string): Promise<DatabaseQueryResource[]> {
  const files = (await readdir(dir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  const found: DatabaseQueryResource[] = [];
  for (const file of files) {
    const documents = parseYaml1_1(await readFile(join(dir, file), 'utf8'), file);
    documents.forEach((document, index) => {
      const head = document as { apiVersion?: unknown; kind?: unknown } | null;
      if (head?.kind !== 'DatabaseQueryResource') return;
      const parsed = databaseQueryResourceSchema.safeParse(document);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
        throw new Error(
          `${file}, document ${index + 1}: not a valid DatabaseQueryResource: ${issues.join('; ')}`,
        );
      }
      found.push({ ...parsed.data, source: file });
    });
  }
  const names = new Set<string>();
  for (const manifest of found) {
    const key = `${manifest.metadata.namespace ?? 'default'}/${manifest.metadata.name}`;
    if (names.has(key)) throw new Error(`DatabaseQueryResource ${key} is defined twice`);
    names.add(key);
  }
  return found;
}

/**
 * db-query-operator's statement splitting: on semicolons outside quotes and dollar quotes. The
 * rows of a query come from its last statement.
 */
export function splitStatements(query: string): string[] {
  const statements: string[] = [];
  let current = '';
  let quote: "'" | '"' | null = null;
  let dollarTag: string | null = null;
  for (let i = 0; i < query.length; i++) {
    const ch = query[i] as string;
    if (ch === '$' && quote === null) {
      const end = query.indexOf('$', i + 1);
      if (end > 0) {
        const tag = query.slice(i, end + 1);
        if (dollarTag === null || tag === dollarTag) {
          dollarTag = dollarTag === null ? tag : null;
          current += tag;
          i = end;
          continue;
        }
      }
    }
    if ((ch === "'" || ch === '"') && dollarTag === null) {
      if (quote === null) quote = ch;
      else if (quote === ch) quote = null;
    }
    if (ch === ';' && quote === null && dollarTag === null) {
      if (current.trim() !== '') statements.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim() !== '') statements.push(current.trim());
  return statements;
}
