import { type Kysely, sql } from 'kysely';
import { goHas } from './go-schema.ts';

/**
 * Rows of a Go estate that ktrlplane's schema cannot hold without changing what they mean: ids
 * that are not DNS labels (they name Kubernetes namespaces and workloads, so they cannot be
 * renamed here), empty user ids or types, settings that are not JSON objects, scopes of unknown
 * kinds. Adoption refuses the whole estate and lists them, so they are fixed (in the Go service,
 * or by hand) before the switch, never silently.
 */
export class UnadoptableRowsError extends Error {
  constructor(problems: string[]) {
    super(
      `Refusing to adopt the Go estate: some rows cannot be carried over as they are.\n${problems.map((p) => `  - ${p}`).join('\n')}\nNothing was changed. Fix these rows and run again.`,
    );
    this.name = 'UnadoptableRowsError';
  }
}

// The same rule as the ktrlplane.dns_label domain (migrations/2026-11-27-0001-core.ts).
const DNS_LABEL = `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`;

function badDnsLabel(column: string): string {
  return `(${column} IS NULL OR ${column} !~ '${DNS_LABEL}' OR position('--' in ${column}) > 0)`;
}

export async function findUnadoptableRows(db: Kysely<unknown>, version: number): Promise<string[]> {
  const checks: Array<[what: string, query: string]> = [
    [
      'organization ids that are not DNS labels',
      `SELECT org_id AS id FROM ktrlplane.organizations WHERE ${badDnsLabel('org_id')}`,
    ],
    [
      'project ids that are not DNS labels',
      `SELECT project_id AS id FROM ktrlplane.projects WHERE ${badDnsLabel('project_id')}`,
    ],
    [
      'resource ids that are not DNS labels',
      `SELECT resource_id AS id FROM ktrlplane.resources WHERE ${badDnsLabel('resource_id')}`,
    ],
    ['empty user ids', `SELECT user_id AS id FROM ktrlplane.users WHERE length(user_id) = 0`],
    [
      'resources with an empty type or one longer than 100 characters',
      `SELECT resource_id AS id FROM ktrlplane.resources WHERE length(type) NOT BETWEEN 1 AND 100`,
    ],
    [
      'resources whose settings are not a JSON object',
      `SELECT resource_id AS id FROM ktrlplane.resources
        WHERE ${goHas(version, 'resources', 'settings_json') ? 'settings_json' : 'helm_values'} IS NOT NULL
          AND jsonb_typeof(${goHas(version, 'resources', 'settings_json') ? 'settings_json' : 'helm_values'}) <> 'object'`,
    ],
    [
      'role assignments with a scope type other than organization, project, resource or global',
      `SELECT assignment_id || ' (' || scope_type || ')' AS id FROM ktrlplane.role_assignments
        WHERE scope_type NOT IN ('organization', 'project', 'resource', 'global')`,
    ],
    [
      'role assignments with an empty scope id',
      `SELECT assignment_id AS id FROM ktrlplane.role_assignments WHERE length(scope_id) = 0`,
    ],
  ];
  if (goHas(version, 'billing_accounts', 'scope_type'))
    checks.push([
      'billing accounts with a scope type other than organization or project',
      `SELECT billing_account_id || ' (' || scope_type || ')' AS id FROM ktrlplane.billing_accounts
        WHERE scope_type NOT IN ('organization', 'project')`,
    ]);
  const problems: string[] = [];
  for (const [what, query] of checks) {
    const rows = await sql<{ id: string }>`${sql.raw(query)} ORDER BY 1`.execute(db);
    if (rows.rows.length === 0) continue;
    const shown = rows.rows.slice(0, 5).map((row) => JSON.stringify(row.id));
    const more = rows.rows.length > 5 ? ` and ${rows.rows.length - 5} more` : '';
    problems.push(`${rows.rows.length} ${what}: ${shown.join(', ')}${more}`);
  }
  return problems;
}
