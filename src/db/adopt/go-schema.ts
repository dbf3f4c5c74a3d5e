/**
 * The shape of the Go service's database (konnektr-io/ktrlplane, migrations 001–019), as columns
 * per table of schema `ktrlplane` after each migration. Its runner applies the files in name order
 * and records the first three characters of each in `public.schema_migrations`, so the recorded
 * versions say how far a database got, and the columns confirm it.
 */
export const GO_LATEST_VERSION = 19;

export type GoTable =
  | 'users'
  | 'organizations'
  | 'projects'
  | 'resources'
  | 'roles'
  | 'permissions'
  | 'role_permissions'
  | 'role_assignments'
  | 'billing_accounts';

export type GoShape = Partial<Record<GoTable, readonly string[]>>;

/**
 * Tables of Go's short-lived resource type registry (an early 003 file). Recognised so that an
 * estate which ran it is not refused; their rows are not carried (see deploy/switch-over.md).
 */
export const GO_LEGACY_TABLES = ['resource_types', 'resource_deployments'] as const;

type Delta = { add?: Partial<Record<GoTable, string[]>>; drop?: Partial<Record<GoTable, string[]>> };

const STAMPS = ['created_at', 'updated_at'];

/** What each Go migration changed in the columns; versions without an entry changed rows only. */
const deltas: Record<number, Delta> = {
  1: {
    add: {
      users: ['user_id', 'email', 'name', 'external_auth_id', ...STAMPS],
      organizations: ['org_id', 'name', ...STAMPS],
      projects: ['project_id', 'org_id', 'name', 'description', 'status', ...STAMPS],
      resources: [
        'resource_id',
        'project_id',
        'name',
        'type',
        'status',
        'helm_values',
        'error_message',
        'access_url',
        ...STAMPS,
      ],
      roles: ['role_id', 'name', 'display_name', 'description', 'is_system', ...STAMPS],
      permissions: ['permission_id', 'resource_type', 'action', 'description', 'created_at'],
      role_permissions: ['role_id', 'permission_id'],
      role_assignments: [
        'assignment_id',
        'user_id',
        'role_id',
        'scope_type',
        'scope_id',
        'assigned_by',
        'created_at',
        'expires_at',
      ],
    },
  },
  2: { add: { resources: ['settings_json'] }, drop: { resources: ['helm_values'] } },
  3: {
    add: {
      organizations: [
        'stripe_customer_id',
        'stripe_subscription_id',
        'subscription_status',
        'subscription_plan',
        'billing_email',
      ],
      projects: [
        'stripe_customer_id',
        'stripe_subscription_id',
        'subscription_status',
        'subscription_plan',
        'billing_email',
        'inherits_billing_from_org',
      ],
      billing_accounts: [
        'billing_account_id',
        'scope_type',
        'scope_id',
        'stripe_customer_id',
        'stripe_subscription_id',
        'subscription_status',
        'subscription_plan',
        'billing_email',
        ...STAMPS,
      ],
    },
  },
  4: { add: { resources: ['sku'] } },
  6: {
    drop: {
      billing_accounts: ['subscription_status', 'subscription_plan', 'billing_email'],
      projects: ['stripe_customer_id', 'stripe_subscription_id'],
      organizations: ['stripe_customer_id', 'stripe_subscription_id'],
    },
  },
  7: { add: { resources: ['stripe_price_id'] } },
  8: { drop: { projects: ['description'] } },
  10: { add: { role_assignments: ['updated_at'] } },
  11: { add: { roles: ['display_order'] } },
  12: { add: { roles: ['is_hidden'] } },
  17: { drop: { users: ['external_auth_id'] } },
  18: {
    drop: {
      projects: ['subscription_status', 'subscription_plan', 'billing_email', 'inherits_billing_from_org'],
    },
  },
};

/** Columns of every Go table after migration `version` (1–19). */
export function goShapeAt(version: number): GoShape {
  const shape: Partial<Record<GoTable, string[]>> = {};
  for (let v = 1; v <= version; v++) {
    const delta = deltas[v];
    if (!delta) continue;
    for (const [table, columns] of Object.entries(delta.add ?? {}) as [GoTable, string[]][]) {
      shape[table] = [...(shape[table] ?? []), ...columns.filter((c) => !shape[table]?.includes(c))];
    }
    for (const [table, columns] of Object.entries(delta.drop ?? {}) as [GoTable, string[]][]) {
      shape[table] = (shape[table] ?? []).filter((c) => !columns.includes(c));
    }
  }
  return shape;
}

/** Whether Go's `table` has `column` at `version`. */
export function goHas(version: number, table: GoTable, column: string): boolean {
  return goShapeAt(version)[table]?.includes(column) ?? false;
}
