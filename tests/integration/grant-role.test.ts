import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { grantRoleCommand } from '../../scripts/grant-role/command.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('npm run grant-role', () => {
  const t = useTestApp();
  const run = (...argv: string[]) => grantRoleCommand(argv, { db: t.database.db, now: t.clock.now() });

  async function assignmentsOf(userId: string) {
    return t.database.db
      .selectFrom('ktrlplane.role_assignments')
      .select(['role_id', 'scope_type', 'scope_id', 'expires_at'])
      .where('user_id', '=', userId)
      .execute();
  }

  it('grants the hidden permission-checker role to an M2M client at global scope, audited, once', async () => {
    const first = await run('--client', 'graph-m2m', '--role', ROLE.permissionChecker, '--scope', 'global');
    expect(first.code).toBe(0);
    expect(first.output).toMatch(
      /^Granted: Service Account: Permission Checker .* to graph-m2m@clients at global/,
    );
    const account = await t.database.db
      .selectFrom('ktrlplane.users')
      .select(['kind', 'is_platform_admin'])
      .where('user_id', '=', 'graph-m2m@clients')
      .executeTakeFirstOrThrow();
    expect(account).toEqual({ kind: 'service', is_platform_admin: false });
    expect(await assignmentsOf('graph-m2m@clients')).toEqual([
      { role_id: ROLE.permissionChecker, scope_type: 'global', scope_id: 'global', expires_at: null },
    ]);
    const events = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['action', 'actor_type', 'actor_label', 'target_type', 'org_id', 'changes'])
      .execute();
    expect(events).toEqual([
      expect.objectContaining({
        action: 'access.granted',
        actor_type: 'system',
        actor_label: 'npm run grant-role',
        target_type: 'role_assignment',
        org_id: null,
      }),
    ]);
    expect(events[0]?.changes).toMatchObject({
      role: { to: ROLE.permissionChecker },
      scope: { to: 'global/global' },
    });

    // Again (the client id may be given with its @clients suffix): nothing new but another audit event.
    const again = await run(
      '--client',
      'graph-m2m@clients',
      '--role',
      ROLE.permissionChecker,
      '--scope',
      'global',
    );
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/^Already granted/);
    expect(await assignmentsOf('graph-m2m@clients')).toHaveLength(1);
  });

  it('grants by role name to a user on a project, with an expiry', async () => {
    const ada = await signUpUser(t, 'ada@acme.example');
    const bob = await signUpUser(t, 'bob@acme.example');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const expires = new Date(t.clock.now().getTime() + 86_400_000);
    const result = await run(
      '--user',
      bob.userId,
      '--role',
      'Konnektr.Data.Owner',
      '--scope',
      'project/web',
      '--expires',
      expires.toISOString(),
    );
    expect(result.code, result.output).toBe(0);
    expect(await assignmentsOf(bob.userId)).toEqual([
      { role_id: ROLE.dataOwner, scope_type: 'project', scope_id: 'web', expires_at: expires },
    ]);
    const event = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select('org_id')
      .where('actor_label', '=', 'npm run grant-role')
      .executeTakeFirstOrThrow();
    expect(event.org_id).toBe('acme');
  });

  it('refuses unknown roles, scopes and users, and bad arguments, with a message that says what to do', async () => {
    const unknownRole = await run('--client', 'x', '--role', 'superuser', '--scope', 'global');
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.output).toContain('There is no role "superuser"');
    expect(unknownRole.output).toContain(`${ROLE.permissionChecker} (Service Account: Permission Checker)`);

    const unknownProject = await run('--client', 'x', '--role', ROLE.viewer, '--scope', 'project/nope');
    expect(unknownProject.code).toBe(1);
    expect(unknownProject.output).toContain('There is no project "nope"');

    const unknownUser = await run('--user', 'auth0|nobody', '--role', ROLE.viewer, '--scope', 'global');
    expect(unknownUser.code).toBe(1);
    expect(unknownUser.output).toContain('There is no user "auth0|nobody"');

    for (const argv of [
      ['--role', ROLE.viewer, '--scope', 'global'],
      ['--client', 'x', '--user', 'y', '--role', ROLE.viewer, '--scope', 'global'],
      ['--client', 'x', '--role', ROLE.viewer, '--scope', 'galaxy/far'],
      ['--client', 'x', '--role', ROLE.viewer],
      ['--client', 'x', '--role', ROLE.viewer, '--scope', 'global', '--expires', 'soon'],
      ['--client', 'x', '--role', ROLE.viewer, '--scope', 'global', '--bogus'],
    ]) {
      const result = await run(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.output).toContain('Usage: npm run grant-role');
    }
    // Nothing was written by any refused call.
    expect(await t.database.db.selectFrom('ktrlplane.role_assignments').selectAll().execute()).toEqual([]);
    expect(await t.database.db.selectFrom('ktrlplane.users').selectAll().execute()).toEqual([]);
    expect(await t.database.db.selectFrom('ktrlplane.audit_events').selectAll().execute()).toEqual([]);
  });

  it('is wired to npm run grant-role, and refuses to write to a database with pending migrations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ktrl-grant-'));
    try {
      const outcome = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/grant-role.ts',
          '--client',
          'x',
          '--role',
          ROLE.permissionChecker,
          '--scope',
          'global',
        ],
        // Only what the command needs: the test runner's own variables (BASE_URL=/, …) are not a config.
        { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dir } },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toContain('run npm run migrate first');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
