import { type Kysely, sql } from 'kysely';

/**
 * The production estate's roles and permissions, with its ids, names, descriptions, display order
 * and action strings (facts from the Go service's migrations 001–019), replacing the slug roles of
 * migration 0002 (and 0009's usage reporter): one set of roles, the one the Graph data plane and
 * an adopted Go database already know.
 *
 * Everything is upserted by id and then made exactly equal to the lists below, so this migration
 * gives the same rows on a fresh database, on ours with slug roles and assignments, and on an adopted
 * Go database (whose roles already have these ids but may differ in detail):
 * - a permission with a seeded action under another id (our slugs such as `digitaltwins-all`, or a
 *   Go database's spelling of an id) is merged into the seeded id; role grants follow it;
 * - a role with a seeded name under another id, and the slug roles named in RENAMED, are merged into
 *   the seeded role: assignments and invitations move to the new id (two assignments of the same
 *   user and scope become one, keeping the longer expiry), then the old role goes;
 * - each seeded role then grants exactly the permissions listed for it.
 *
 * Deliberate differences from production's rows, each because the Graph data plane could not use
 * production's: the Graph Owner and Data Owner roles also grant `jobs/imports/*` and
 * `jobs/deletions/*` (production's `jobs/*` is not a resource the data plane parses, so its owners
 * could not run import jobs), and Owner keeps `usage/report` (ours, migration 0009).
 *
 * Ids: production's 001 spells the ids from `…-0000000000010` on with thirteen digits in its last
 * group while 009, 016 and 019 refer to them with twelve; the twelve-digit form is the valid UUID
 * and the one the later migrations use, so it is seeded, and the merge by action above turns either
 * spelling into it.
 */

type Permission = [
  id: string,
  resourceType: 'Konnektr.KtrlPlane' | 'Konnektr.Graph',
  action: string,
  description: string,
];

const CONTROL = 'Konnektr.KtrlPlane';
const GRAPH = 'Konnektr.Graph';
const c = (n: number) => `00000000-0001-0000-0000-${String(n).padStart(12, '0')}`;
const g = (n: number) => `00000000-0004-0000-0000-${String(n).padStart(12, '0')}`;

export const PERMISSIONS: Permission[] = [
  [c(1), CONTROL, 'read', 'Read platform entity details (orgs, projects, resources)'],
  [c(2), CONTROL, 'write', 'Modify platform entity details and deploy resources'],
  [c(3), CONTROL, 'delete', 'Delete platform entities'],
  [c(4), CONTROL, 'manage_access', 'Manage access and permissions for platform entities'],
  [c(5), CONTROL, 'manage_billing', 'Manage billing and subscription settings'],
  [
    c(6),
    CONTROL,
    'check_permissions_on_behalf_of',
    'Check user permissions on behalf of users (service accounts only)',
  ],
  [g(1), GRAPH, 'digitaltwins/read', 'Read any Digital Twin'],
  [g(2), GRAPH, 'digitaltwins/write', 'Create or Update any Digital Twin'],
  [g(3), GRAPH, 'digitaltwins/delete', 'Delete any Digital Twin'],
  [g(4), GRAPH, 'digitaltwins/commands/action', 'Invoke any Command on a Digital Twin'],
  [g(20), GRAPH, 'digitaltwins/commands/*', 'Invoke any Command on a Digital Twin'],
  [g(5), GRAPH, 'digitaltwins/relationships/read', 'Read any Digital Twin Relationship'],
  [g(6), GRAPH, 'digitaltwins/relationships/write', 'Create or Update any Digital Twin Relationship'],
  [g(7), GRAPH, 'digitaltwins/relationships/delete', 'Delete any Digital Twin Relationship'],
  [g(21), GRAPH, 'digitaltwins/relationships/*', 'Perform any operation on any Digital Twin Relationship'],
  [g(8), GRAPH, 'digitaltwins/*', 'Perform any operation on any Digital Twin'],
  [g(9), GRAPH, 'models/read', 'Read any Model'],
  [g(10), GRAPH, 'models/write', 'Create or Update any Model'],
  [g(11), GRAPH, 'models/delete', 'Delete any Model'],
  [g(12), GRAPH, 'models/*', 'Perform any operation on any Model'],
  [g(13), GRAPH, 'query/action', 'Query any Digital Twins Graph'],
  [g(14), GRAPH, 'query/*', 'Query any Digital Twins Graph'],
  [g(15), GRAPH, 'jobs/imports/read', 'Read any Bulk Import Job'],
  [g(16), GRAPH, 'jobs/imports/write', 'Create any Bulk Import Job'],
  [g(17), GRAPH, 'jobs/imports/delete', 'Delete any Bulk Import Job'],
  [g(18), GRAPH, 'jobs/imports/cancel/action', 'Cancel any Bulk Import Job'],
  [g(19), GRAPH, 'jobs/imports/*', 'Perform any operation on any Bulk Import Job'],
  [g(22), GRAPH, 'jobs/*', 'Perform any operation on any Job'],
  [g(23), GRAPH, 'jobs/deletions/read', 'Read any Bulk Delete Job'],
  [g(24), GRAPH, 'jobs/deletions/write', 'Create any Bulk Delete Job'],
  [g(25), GRAPH, 'jobs/deletions/delete', 'Delete any Bulk Delete Job'],
  [g(26), GRAPH, 'jobs/deletions/cancel/action', 'Cancel any Bulk Delete Job'],
  [g(27), GRAPH, 'jobs/deletions/*', 'Perform any operation on any Bulk Delete Job'],
  [g(30), GRAPH, 'mcp/*', 'Full access to MCP server for Konnektr.Graph'],
];

/** Ours (migration 0009), kept under its id; production has no usage reporting permission. */
const USAGE_REPORT = 'usage-report';

interface Role {
  id: string;
  name: string;
  displayName: string;
  description: string;
  displayOrder: number;
  hidden: boolean;
  /** Action strings; each is a permission above (or usage/report). */
  grants: string[];
}

const DATA_OWNER_GRANTS = [
  'digitaltwins/*',
  'digitaltwins/relationships/*',
  'models/*',
  'query/*',
  'jobs/*',
  'jobs/imports/*',
  'jobs/deletions/*',
  'mcp/*',
];

export const ROLES: Role[] = [
  {
    id: '10000000-0001-0000-0000-000000000001',
    name: 'Owner',
    displayName: 'Owner',
    description: 'Full control with inheritance',
    displayOrder: 1,
    hidden: false,
    grants: ['read', 'write', 'delete', 'manage_access', 'manage_billing', 'usage/report'],
  },
  {
    id: '10000000-0001-0000-0000-000000000002',
    name: 'Editor',
    displayName: 'Editor',
    description: 'Edit access with inheritance',
    displayOrder: 2,
    hidden: false,
    grants: ['read', 'write'],
  },
  {
    id: '10000000-0001-0000-0000-000000000003',
    name: 'Viewer',
    displayName: 'Viewer',
    description: 'Read-only access with inheritance',
    displayOrder: 3,
    hidden: false,
    grants: ['read'],
  },
  {
    id: '10000000-0005-0000-0000-000000000001',
    name: 'Konnektr.Data.Owner',
    displayName: 'Data Owner',
    description: 'Full access to all data plane resources (all resource types)',
    displayOrder: 20,
    hidden: false,
    grants: DATA_OWNER_GRANTS,
  },
  {
    id: '10000000-0004-0000-0000-000000000001',
    name: 'Konnektr.Graph.Owner',
    displayName: 'Graph Owner',
    description: 'Full access to Graph application and data',
    displayOrder: 30,
    hidden: false,
    grants: DATA_OWNER_GRANTS,
  },
  {
    id: '10000000-0004-0000-0000-000000000003',
    name: 'Konnektr.Graph.Viewer',
    displayName: 'Graph Viewer',
    description: 'Read-only access to Graph application',
    displayOrder: 31,
    hidden: false,
    grants: [
      'digitaltwins/read',
      'digitaltwins/relationships/read',
      'models/read',
      'query/action',
      'jobs/imports/read',
      'jobs/deletions/read',
    ],
  },
  {
    id: 'service-account-permission-checker',
    name: 'Service Account: Permission Checker',
    displayName: 'Service Account: Permission Checker',
    description:
      'Allows service accounts to check permissions on behalf of users. This is an internal role for M2M authentication.',
    displayOrder: 1000,
    hidden: true,
    grants: ['check_permissions_on_behalf_of'],
  },
  {
    id: 'service-account-usage-reporter',
    name: 'Service Account: Usage Reporter',
    displayName: 'Service Account: Usage Reporter',
    description: 'Lets a data plane report usage events for the resources it runs',
    displayOrder: 1001,
    hidden: true,
    grants: ['usage/report'],
  },
];

/** Our slug roles (migrations 0002 and 0009) and the seeded role each one becomes. */
const RENAMED: Array<[from: string, to: string]> = [
  ['owner', '10000000-0001-0000-0000-000000000001'],
  ['editor', '10000000-0001-0000-0000-000000000002'],
  ['viewer', '10000000-0001-0000-0000-000000000003'],
  ['digitaltwins-owner', '10000000-0004-0000-0000-000000000001'],
  ['digitaltwins-viewer', '10000000-0004-0000-0000-000000000003'],
  ['permission-checker', 'service-account-permission-checker'],
  ['usage-reporter', 'service-account-usage-reporter'],
];

/** Slug permissions of migration 0002 that no seeded role grants any more (removed when unused). */
const RETIRED_PERMISSIONS = ['jobs-read'];

async function seedPermissions(db: Kysely<unknown>): Promise<void> {
  for (const [id, resourceType, action, description] of PERMISSIONS) {
    const others = await sql<{ permission_id: string }>`
      SELECT permission_id FROM ktrlplane.permissions WHERE action = ${action} AND permission_id <> ${id}`.execute(
      db,
    );
    const moved = others.rows.map((row) => row.permission_id);
    // Free the action (it is unique) before the seeded row takes it.
    if (moved.length > 0) {
      await sql`UPDATE ktrlplane.permissions SET action = '~merged~' || permission_id
                WHERE permission_id = ANY(${moved}::text[])`.execute(db);
    }
    await sql`
      INSERT INTO ktrlplane.permissions (permission_id, resource_type, action, description)
      VALUES (${id}, ${resourceType}, ${action}, ${description})
      ON CONFLICT (permission_id) DO UPDATE
        SET resource_type = EXCLUDED.resource_type, action = EXCLUDED.action, description = EXCLUDED.description`.execute(
      db,
    );
    if (moved.length > 0) {
      await sql`
        INSERT INTO ktrlplane.role_permissions (role_id, permission_id)
        SELECT role_id, ${id} FROM ktrlplane.role_permissions WHERE permission_id = ANY(${moved}::text[])
        ON CONFLICT DO NOTHING`.execute(db);
      await sql`DELETE FROM ktrlplane.permissions WHERE permission_id = ANY(${moved}::text[])`.execute(db);
    }
  }
  await sql`UPDATE ktrlplane.permissions SET resource_type = ${CONTROL} WHERE permission_id = ${USAGE_REPORT}`.execute(
    db,
  );
}

/** Moves every assignment and invitation of role `from` to role `to`, then deletes `from`. */
async function mergeRole(db: Kysely<unknown>, from: string, to: string): Promise<void> {
  // The same user on the same scope with both roles: one assignment, the longer-lived expiry.
  await sql`
    UPDATE ktrlplane.role_assignments n
       SET expires_at = CASE WHEN n.expires_at IS NULL OR o.expires_at IS NULL THEN NULL
                             ELSE GREATEST(n.expires_at, o.expires_at) END
      FROM ktrlplane.role_assignments o
     WHERE o.role_id = ${from} AND n.role_id = ${to}
       AND n.user_id = o.user_id AND n.scope_type = o.scope_type AND n.scope_id = o.scope_id`.execute(db);
  await sql`
    DELETE FROM ktrlplane.role_assignments o
     WHERE o.role_id = ${from}
       AND EXISTS (SELECT 1 FROM ktrlplane.role_assignments n
                    WHERE n.role_id = ${to} AND n.user_id = o.user_id
                      AND n.scope_type = o.scope_type AND n.scope_id = o.scope_id)`.execute(db);
  await sql`UPDATE ktrlplane.role_assignments SET role_id = ${to} WHERE role_id = ${from}`.execute(db);
  await sql`UPDATE ktrlplane.invitations SET role_id = ${to} WHERE role_id = ${from}`.execute(db);
  await sql`DELETE FROM ktrlplane.roles WHERE role_id = ${from}`.execute(db);
}

async function seedRoles(db: Kysely<unknown>): Promise<void> {
  const merges = new Map<string, string>(RENAMED);
  for (const role of ROLES) {
    const sameName = await sql<{ role_id: string }>`
      SELECT role_id FROM ktrlplane.roles WHERE name = ${role.name} AND role_id <> ${role.id}`.execute(db);
    for (const row of sameName.rows) merges.set(row.role_id, role.id);
  }
  const seeded = new Set(ROLES.map((role) => role.id));
  const from = [...merges.keys()].filter((id) => !seeded.has(id));
  // Free the names (they are unique) of the roles about to be merged away.
  await sql`UPDATE ktrlplane.roles SET name = '~merged~' || role_id WHERE role_id = ANY(${from}::text[])`.execute(
    db,
  );
  for (const role of ROLES) {
    await sql`
      INSERT INTO ktrlplane.roles (role_id, name, display_name, description, is_system, is_hidden, display_order, updated_at)
      VALUES (${role.id}, ${role.name}, ${role.displayName}, ${role.description}, true, ${role.hidden}, ${role.displayOrder}, now())
      ON CONFLICT (role_id) DO UPDATE
        SET name = EXCLUDED.name, display_name = EXCLUDED.display_name, description = EXCLUDED.description,
            is_system = true, is_hidden = EXCLUDED.is_hidden, display_order = EXCLUDED.display_order,
            updated_at = now()`.execute(db);
  }
  for (const old of from) await mergeRole(db, old, merges.get(old) as string);
  for (const role of ROLES) {
    const ids = await sql<{ permission_id: string }>`
      SELECT permission_id FROM ktrlplane.permissions WHERE action = ANY(${role.grants}::text[])`.execute(db);
    const grants = ids.rows.map((row) => row.permission_id);
    if (grants.length !== role.grants.length) {
      throw new Error(`role ${role.name}: some of its permissions are missing (${role.grants.join(', ')})`);
    }
    await sql`DELETE FROM ktrlplane.role_permissions
              WHERE role_id = ${role.id} AND permission_id <> ALL(${grants}::text[])`.execute(db);
    await sql`
      INSERT INTO ktrlplane.role_permissions (role_id, permission_id)
      SELECT ${role.id}, unnest(${grants}::text[]) ON CONFLICT DO NOTHING`.execute(db);
  }
  await sql`
    DELETE FROM ktrlplane.permissions p
     WHERE p.permission_id = ANY(${RETIRED_PERMISSIONS}::text[])
       AND NOT EXISTS (SELECT 1 FROM ktrlplane.role_permissions rp WHERE rp.permission_id = p.permission_id)`.execute(
    db,
  );
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // Production's columns: the order the access pages list roles in, and which product a permission
  // belongs to (Konnektr.KtrlPlane for the control plane, Konnektr.Graph for the graph's data plane).
  await sql`
    ALTER TABLE ktrlplane.roles ADD COLUMN IF NOT EXISTS display_order integer NOT NULL DEFAULT 999;
    ALTER TABLE ktrlplane.roles ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
    ALTER TABLE ktrlplane.permissions ADD COLUMN IF NOT EXISTS resource_type text NOT NULL DEFAULT 'Konnektr.KtrlPlane';
    ALTER TABLE ktrlplane.permissions ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
  `.execute(db);
  await seedPermissions(db);
  await seedRoles(db);
}
