import { type Kysely, Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import { type DatabaseHandle, openPglite } from '../../src/db/dialects/node.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/types.ts';
import { ROLE } from '../../src/lib/roles.ts';

/**
 * Migration 2026-12-08-0014-production-roles on a database that ran our earlier migrations and
 * holds slug roles, assignments and invitations: everything moves to production's ids and means
 * the same afterwards.
 */
const SEED = '2026-12-08-0014-production-roles';

async function migratedUpTo(last: string): Promise<DatabaseHandle> {
  const handle = await openPglite(undefined);
  const names = Object.keys(migrations);
  const subset = Object.fromEntries(
    names.slice(0, names.indexOf(last) + 1).map((name) => [name, migrations[name]]),
  );
  const result = await new Migrator({
    db: handle.db,
    provider: { getMigrations: async () => subset as typeof migrations },
    migrationTableSchema: 'ktrlplane',
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  }).migrateToLatest();
  if (result.error) throw result.error;
  return handle;
}

async function actionsOf(db: Kysely<Database>, roleId: string): Promise<string[]> {
  const rows = await sql<{ action: string }>`
    SELECT p.action FROM ktrlplane.role_permissions rp JOIN ktrlplane.permissions p USING (permission_id)
     WHERE rp.role_id = ${roleId} ORDER BY p.action`.execute(db);
  return rows.rows.map((row) => row.action);
}

// Each test migrates a fresh in-memory PGlite from nothing (several seconds on a busy machine).
describe(`migration ${SEED}`, { timeout: 90_000 }, () => {
  let handle: DatabaseHandle | undefined;
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  it('moves slug roles, their assignments and invitations to production ids, merging duplicates', async () => {
    const names = Object.keys(migrations);
    handle = await migratedUpTo(names[names.indexOf(SEED) - 1] ?? '');
    const db = handle.db;
    await sql`
      INSERT INTO ktrlplane.users (user_id, email) VALUES ('ada', 'ada@x.example'), ('bob', 'bob@x.example'), ('svc@clients', NULL);
      INSERT INTO ktrlplane.organizations (org_id, name) VALUES ('acme', 'Acme');
      INSERT INTO ktrlplane.projects (project_id, org_id, name) VALUES ('web', 'acme', 'Web');
      INSERT INTO ktrlplane.role_assignments (user_id, role_id, scope_type, scope_id, expires_at) VALUES
        ('ada', 'owner', 'organization', 'acme', NULL),
        ('bob', 'viewer', 'project', 'web', '2030-01-01T00:00:00Z'),
        ('bob', 'digitaltwins-viewer', 'project', 'web', NULL),
        ('bob', 'digitaltwins-owner', 'project', 'web', '2031-01-01T00:00:00Z'),
        ('svc@clients', 'permission-checker', 'global', 'global', NULL),
        ('svc@clients', 'usage-reporter', 'project', 'web', NULL);
      INSERT INTO ktrlplane.invitations (token_hash, email, role_id, scope_type, scope_id, org_id, created_at, expires_at)
        VALUES ('h1', 'new@x.example', 'editor', 'project', 'web', 'acme', now(), now() + interval '7 days');
    `.execute(db);
    // A custom role granting a slug permission keeps it, under its production id.
    await sql`
      INSERT INTO ktrlplane.roles (role_id, name, display_name) VALUES ('custom', 'Custom', 'Custom');
      INSERT INTO ktrlplane.role_permissions (role_id, permission_id) VALUES ('custom', 'digitaltwins-read'), ('custom', 'read');
    `.execute(db);
    // Bob already holds the production Graph Owner too (as if an adoption had brought it).
    await sql`INSERT INTO ktrlplane.roles (role_id, name, display_name) VALUES (${ROLE.graphOwner}, 'Konnektr.Graph.Owner', 'x')`.execute(
      db,
    );
    await sql`INSERT INTO ktrlplane.role_assignments (user_id, role_id, scope_type, scope_id, expires_at)
              VALUES ('bob', ${ROLE.graphOwner}, 'project', 'web', '2029-01-01T00:00:00Z')`.execute(db);

    expect((await migrateToLatest(db)).applied).toContain(SEED);

    const assignments = await db
      .selectFrom('ktrlplane.role_assignments')
      .select(['user_id', 'role_id', 'scope_type', 'scope_id', 'expires_at'])
      .orderBy('user_id')
      .orderBy('role_id')
      .execute();
    expect(assignments).toEqual([
      { user_id: 'ada', role_id: ROLE.owner, scope_type: 'organization', scope_id: 'acme', expires_at: null },
      {
        user_id: 'bob',
        role_id: ROLE.viewer,
        scope_type: 'project',
        scope_id: 'web',
        expires_at: new Date('2030-01-01T00:00:00Z'),
      },
      // The later of the two expiries of the merged Graph Owner assignments.
      {
        user_id: 'bob',
        role_id: ROLE.graphOwner,
        scope_type: 'project',
        scope_id: 'web',
        expires_at: new Date('2031-01-01T00:00:00Z'),
      },
      { user_id: 'bob', role_id: ROLE.graphViewer, scope_type: 'project', scope_id: 'web', expires_at: null },
      {
        user_id: 'svc@clients',
        role_id: ROLE.permissionChecker,
        scope_type: 'global',
        scope_id: 'global',
        expires_at: null,
      },
      {
        user_id: 'svc@clients',
        role_id: ROLE.usageReporter,
        scope_type: 'project',
        scope_id: 'web',
        expires_at: null,
      },
    ]);
    const invitation = await db
      .selectFrom('ktrlplane.invitations')
      .select('role_id')
      .executeTakeFirstOrThrow();
    expect(invitation.role_id).toBe(ROLE.editor);
    const roles = await db.selectFrom('ktrlplane.roles').select('role_id').orderBy('role_id').execute();
    expect(roles.map((r) => r.role_id)).toEqual(['custom', ...Object.values(ROLE)].sort());
    expect(await actionsOf(db, 'custom')).toEqual(['digitaltwins/read', 'read']);
    expect(await actionsOf(db, ROLE.graphOwner)).toContain('digitaltwins/relationships/*');
    expect(await actionsOf(db, ROLE.usageReporter)).toEqual(['usage/report']);
    const slugPermissions = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.permissions WHERE permission_id NOT LIKE '0000%' AND permission_id <> 'usage-report'`.execute(
      db,
    );
    expect(slugPermissions.rows[0]?.n).toBe(0);
  });

  it('turns an adopted database’s differing rows into exactly the seed (ids of either spelling, extra grants)', async () => {
    const names = Object.keys(migrations);
    handle = await migratedUpTo(names[names.indexOf(SEED) - 1] ?? '');
    const db = handle.db;
    // models/* under production 001's thirteen-digit id, Data Owner granting a retired string.
    await sql`
      DELETE FROM ktrlplane.permissions WHERE permission_id = 'models-all';
      INSERT INTO ktrlplane.permissions (permission_id, action) VALUES ('00000000-0004-0000-0000-0000000000012', 'models/*');
    `.execute(db);
    await sql`INSERT INTO ktrlplane.roles (role_id, name, display_name, description)
              VALUES (${ROLE.dataOwner}, 'Konnektr.Data.Owner', 'Old name', 'old')`.execute(db);
    await sql`INSERT INTO ktrlplane.role_permissions (role_id, permission_id) VALUES
              (${ROLE.dataOwner}, '00000000-0004-0000-0000-0000000000012'), (${ROLE.dataOwner}, 'jobs-read')`.execute(
      db,
    );
    await migrateToLatest(db);
    const dataOwner = await db
      .selectFrom('ktrlplane.roles')
      .select(['display_name', 'description', 'display_order'])
      .where('role_id', '=', ROLE.dataOwner)
      .executeTakeFirstOrThrow();
    expect(dataOwner).toEqual({
      display_name: 'Data Owner',
      description: 'Full access to all data plane resources (all resource types)',
      display_order: 20,
    });
    expect(await actionsOf(db, ROLE.dataOwner)).toEqual([
      'digitaltwins/*',
      'digitaltwins/relationships/*',
      'jobs/*',
      'jobs/deletions/*',
      'jobs/imports/*',
      'mcp/*',
      'models/*',
      'query/*',
    ]);
    const models = await db
      .selectFrom('ktrlplane.permissions')
      .select(['permission_id', 'resource_type'])
      .where('action', '=', 'models/*')
      .execute();
    expect(models).toEqual([
      { permission_id: '00000000-0004-0000-0000-000000000012', resource_type: 'Konnektr.Graph' },
    ]);
  });
});
