import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import { useTestApp } from '../helpers/test-app.ts';

interface ColumnInfo {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
  domain_name: string | null;
}

describe('schema ktrlplane', () => {
  const t = useTestApp();
  const db = () => t.database.db;

  async function columns(table: string): Promise<Record<string, ColumnInfo>> {
    const result = await sql<ColumnInfo>`
      SELECT table_name, column_name, data_type, is_nullable, column_default, domain_name
      FROM information_schema.columns WHERE table_schema = 'ktrlplane' AND table_name = ${table}`.execute(
      db(),
    );
    return Object.fromEntries(result.rows.map((row) => [row.column_name, row]));
  }

  async function seedProject() {
    await sql`INSERT INTO ktrlplane.organizations (org_id, name) VALUES ('acme', 'Acme')`.execute(db());
    await sql`INSERT INTO ktrlplane.projects (project_id, org_id, name) VALUES ('web', 'acme', 'Web')`.execute(
      db(),
    );
  }

  it('has the contract columns of resources with their types', async () => {
    const cols = await columns('resources');
    expect(Object.keys(cols).sort()).toEqual(
      [
        'access_url',
        'created_at',
        'deployment_state',
        'error_message',
        'generation',
        'observed_generation',
        'status_changed_at',
        'name',
        'project_id',
        'resource_id',
        'settings_json',
        'sku',
        'status',
        'type',
        'updated_at',
      ].sort(),
    );
    expect(cols.settings_json).toMatchObject({ data_type: 'jsonb', is_nullable: 'NO' });
    expect(cols.settings_json?.column_default).toContain("'{}'::jsonb");
    expect(cols.created_at?.data_type).toBe('timestamp with time zone');
    expect(cols.updated_at?.data_type).toBe('timestamp with time zone');
    expect(cols.resource_id?.domain_name).toBe('dns_label');
    expect(cols.project_id?.domain_name).toBe('dns_label');
  });

  it('has the other core tables and their key columns', async () => {
    const expected: Record<string, string[]> = {
      users: ['user_id', 'email', 'name'],
      organizations: ['org_id', 'name'],
      projects: ['project_id', 'org_id', 'name'],
      roles: ['role_id', 'name'],
      permissions: ['permission_id', 'action'],
      role_permissions: ['role_id', 'permission_id'],
      role_assignments: ['user_id', 'role_id', 'scope_type', 'scope_id', 'expires_at'],
      billing_accounts: ['scope_type', 'scope_id', 'stripe_customer_id', 'stripe_subscription_id'],
    };
    for (const [table, names] of Object.entries(expected)) {
      const cols = await columns(table);
      for (const name of names) expect(cols, `${table}.${name}`).toHaveProperty(name);
    }
    expect((await columns('role_assignments')).expires_at?.data_type).toBe('timestamp with time zone');
  });

  it('refuses a resource whose settings_json is NULL or not an object', async () => {
    await seedProject();
    await expect(
      sql`INSERT INTO ktrlplane.resources (resource_id, project_id, name, type, settings_json)
          VALUES ('db1', 'web', 'DB', 'Konnektr.DigitalTwins', NULL)`.execute(db()),
    ).rejects.toThrow(/null value in column "settings_json"/);
    await expect(
      sql`INSERT INTO ktrlplane.resources (resource_id, project_id, name, type, settings_json)
          VALUES ('db1', 'web', 'DB', 'Konnektr.DigitalTwins', '[]')`.execute(db()),
    ).rejects.toThrow(/check constraint/);
  });

  it('defaults settings_json to an empty object', async () => {
    await seedProject();
    await sql`INSERT INTO ktrlplane.resources (resource_id, project_id, name, type) VALUES ('db1', 'web', 'DB', 'Konnektr.Flows')`.execute(
      db(),
    );
    const row = await db()
      .selectFrom('ktrlplane.resources')
      .select(['settings_json', 'sku', 'status'])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ settings_json: {}, sku: 'free', status: 'Pending' });
  });

  it.each(['Bad_Id', 'UPPER', '1abc', 'abc-', 'a--b', 'with space', '', 'a'.repeat(64)])(
    'refuses the id %j for organizations, projects and resources',
    async (badId) => {
      await expect(
        sql`INSERT INTO ktrlplane.organizations (org_id, name) VALUES (${badId}, 'X')`.execute(db()),
      ).rejects.toThrow(/dns_label/);
      await seedProject();
      await expect(
        sql`INSERT INTO ktrlplane.projects (project_id, org_id, name) VALUES (${badId}, 'acme', 'X')`.execute(
          db(),
        ),
      ).rejects.toThrow(/dns_label/);
      await expect(
        sql`INSERT INTO ktrlplane.resources (resource_id, project_id, name, type) VALUES (${badId}, 'web', 'X', 'Konnektr.Flows')`.execute(
          db(),
        ),
      ).rejects.toThrow(/dns_label/);
    },
  );

  it.each(['a', 'acme', 'my-org-2', `a${'b'.repeat(62)}`])('accepts the id %j', async (goodId) => {
    await sql`INSERT INTO ktrlplane.organizations (org_id, name) VALUES (${goodId}, 'X')`.execute(db());
  });

  it('moves updated_at on user changes and not on status write-backs', async () => {
    await seedProject();
    await sql`INSERT INTO ktrlplane.resources (resource_id, project_id, name, type, updated_at)
              VALUES ('db1', 'web', 'DB', 'Konnektr.Flows', '2026-01-01T00:00:00Z')`.execute(db());
    const updatedAt = async () =>
      (
        await db().selectFrom('ktrlplane.resources').select('updated_at').executeTakeFirstOrThrow()
      ).updated_at.toISOString();

    // The operator's write-back: status, error and access URL only.
    await sql`UPDATE ktrlplane.resources SET status = 'Healthy', error_message = NULL, access_url = 'https://x' WHERE resource_id = 'db1'`.execute(
      db(),
    );
    expect(await updatedAt()).toBe('2026-01-01T00:00:00.000Z');

    await sql`UPDATE ktrlplane.resources SET settings_json = '{"replicas": 2}' WHERE resource_id = 'db1'`.execute(
      db(),
    );
    expect(await updatedAt()).not.toBe('2026-01-01T00:00:00.000Z');

    // A writer that sets updated_at itself (a user action that changes only status) keeps its value.
    await sql`UPDATE ktrlplane.resources SET status = 'Deleting', updated_at = '2026-02-02T00:00:00Z' WHERE resource_id = 'db1'`.execute(
      db(),
    );
    expect(await updatedAt()).toBe('2026-02-02T00:00:00.000Z');
  });

  it('deletes projects, resources, role assignments and billing accounts with their organization', async () => {
    await seedProject();
    await sql`INSERT INTO ktrlplane.resources (resource_id, project_id, name, type) VALUES ('db1', 'web', 'DB', 'Konnektr.Flows')`.execute(
      db(),
    );
    await sql`INSERT INTO ktrlplane.users (user_id, email) VALUES ('u1', 'u1@example.com')`.execute(db());
    for (const [scopeType, scopeId] of [
      ['organization', 'acme'],
      ['project', 'web'],
      ['resource', 'db1'],
    ]) {
      await sql`INSERT INTO ktrlplane.role_assignments (user_id, role_id, scope_type, scope_id) VALUES ('u1', ${ROLE.viewer}, ${scopeType}, ${scopeId})`.execute(
        db(),
      );
    }
    await sql`INSERT INTO ktrlplane.billing_accounts (scope_type, scope_id) VALUES ('organization', 'acme'), ('project', 'web')`.execute(
      db(),
    );

    await sql`DELETE FROM ktrlplane.organizations WHERE org_id = 'acme'`.execute(db());

    const count = async (table: string) =>
      (await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(`ktrlplane.${table}`)}`.execute(db()))
        .rows[0]?.n;
    expect(await count('projects')).toBe(0);
    expect(await count('resources')).toBe(0);
    expect(await count('role_assignments')).toBe(0);
    expect(await count('billing_accounts')).toBe(0);
    expect(await count('users')).toBe(1);
  });

  it('seeds the system roles with their permissions', async () => {
    const rows = await db()
      .selectFrom('ktrlplane.roles as r')
      .innerJoin('ktrlplane.role_permissions as rp', 'rp.role_id', 'r.role_id')
      .innerJoin('ktrlplane.permissions as p', 'p.permission_id', 'rp.permission_id')
      .select(['r.name', 'p.action', 'r.is_hidden'])
      .execute();
    const grants = (role: string) =>
      rows
        .filter((row) => row.name === role)
        .map((row) => row.action)
        .sort();
    expect(grants('Owner')).toEqual([
      'delete',
      'manage_access',
      'manage_billing',
      'read',
      'usage/report',
      'write',
    ]);
    expect(grants('Editor')).toEqual(['read', 'write']);
    expect(grants('Viewer')).toEqual(['read']);
    const dataOwner = [
      'digitaltwins/*',
      'digitaltwins/relationships/*',
      'jobs/*',
      'jobs/deletions/*',
      'jobs/imports/*',
      'mcp/*',
      'models/*',
      'query/*',
    ];
    expect(grants('Konnektr.Data.Owner')).toEqual(dataOwner);
    expect(grants('Konnektr.Graph.Owner')).toEqual(dataOwner);
    expect(grants('Konnektr.Graph.Viewer')).toEqual([
      'digitaltwins/read',
      'digitaltwins/relationships/read',
      'jobs/deletions/read',
      'jobs/imports/read',
      'models/read',
      'query/action',
    ]);
    expect(grants('Service Account: Permission Checker')).toEqual(['check_permissions_on_behalf_of']);
    expect(grants('Service Account: Usage Reporter')).toEqual(['usage/report']);
    expect(rows.find((row) => row.name === 'Service Account: Permission Checker')?.is_hidden).toBe(true);
    // Production's ids, so an adopted Go database and a fresh one name the same roles alike.
    const ids = await db()
      .selectFrom('ktrlplane.roles')
      .select(['role_id', 'name', 'display_order'])
      .execute();
    expect(ids.sort((a, b) => a.display_order - b.display_order)).toEqual([
      { role_id: ROLE.owner, name: 'Owner', display_order: 1 },
      { role_id: ROLE.editor, name: 'Editor', display_order: 2 },
      { role_id: ROLE.viewer, name: 'Viewer', display_order: 3 },
      { role_id: ROLE.dataOwner, name: 'Konnektr.Data.Owner', display_order: 20 },
      { role_id: ROLE.graphOwner, name: 'Konnektr.Graph.Owner', display_order: 30 },
      { role_id: ROLE.graphViewer, name: 'Konnektr.Graph.Viewer', display_order: 31 },
      { role_id: ROLE.permissionChecker, name: 'Service Account: Permission Checker', display_order: 1000 },
      { role_id: ROLE.usageReporter, name: 'Service Account: Usage Reporter', display_order: 1001 },
    ]);
    // Production's 34 action strings (and our usage/report), each under production's id.
    const permissions = await db()
      .selectFrom('ktrlplane.permissions')
      .select(['permission_id', 'resource_type', 'action'])
      .execute();
    expect(permissions).toHaveLength(35);
    expect(permissions.filter((p) => p.resource_type === 'Konnektr.Graph')).toHaveLength(28);
    expect(permissions).toContainEqual({
      permission_id: '00000000-0001-0000-0000-000000000006',
      resource_type: 'Konnektr.KtrlPlane',
      action: 'check_permissions_on_behalf_of',
    });
    expect(permissions).toContainEqual({
      permission_id: '00000000-0004-0000-0000-000000000021',
      resource_type: 'Konnektr.Graph',
      action: 'digitaltwins/relationships/*',
    });
  });

  it('returns counts and integer sums as numbers and numerics as strings on every driver', async () => {
    const row = (
      await sql<{ n: unknown; total: unknown; price: unknown }>`
        SELECT count(*) AS n, sum(x)::bigint AS total, 12.50::numeric AS price FROM (VALUES (1), (2)) AS v(x)`.execute(
        db(),
      )
    ).rows[0];
    expect(row).toEqual({ n: 2, total: 3, price: '12.50' });
  });
});
