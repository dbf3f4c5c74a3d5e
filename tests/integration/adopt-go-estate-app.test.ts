import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { randomToken, sha256Hex } from '../../src/lib/crypto.ts';
import { upsertOidcUser } from '../../src/services/oidc.ts';
import { actionsOn } from '../../src/services/rbac.ts';
import { resetBlankDatabase } from '../fixtures/blank-database.ts';
import { buildGoEstate } from '../fixtures/go-estate.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * An adopted estate through the running app: the lists its users get are what the Go service's
 * permissions let them see, and a placeholder invitee's roles go to the person who signs in with
 * that email, as they did in the Go service.
 */
describe('an adopted Go estate in the app', () => {
  const t = useTestApp();

  async function adopt(): Promise<void> {
    const db = t.database.db as unknown as Kysely<unknown>;
    await resetBlankDatabase(db);
    await buildGoEstate(db, 19);
    await migrateToLatest(t.database.db);
  }

  async function signedIn(userId: string): Promise<Record<string, string>> {
    const token = randomToken();
    const now = t.clock.now();
    await t.database.db
      .insertInto('ktrlplane.sessions')
      .values({
        session_hash: await sha256Hex(token),
        user_id: userId,
        created_at: now,
        expires_at: new Date(now.getTime() + 3_600_000),
        last_seen_at: now,
        ip: null,
        user_agent: null,
      })
      .execute();
    return { Cookie: `session=${token}`, Accept: 'application/json' };
  }

  async function list(path: string, userId: string, key: string): Promise<string[]> {
    const res = await t.app.request(path, { headers: await signedIn(userId) });
    expect(res.status, `${path} as ${userId}`).toBe(200);
    const body = (await res.json()) as unknown;
    const rows = (
      Array.isArray(body) ? body : ((body as Record<string, unknown>)[path.slice(1)] as unknown[])
    ) as Array<Record<string, string>>;
    return rows.map((row) => row[key] as string).sort();
  }

  it('lists for each user the organizations and projects the Go service let them read', async () => {
    // Who may read what, by the Go semantics, on the Go-shaped database before adoption.
    const db = t.database.db as unknown as Kysely<unknown>;
    await resetBlankDatabase(db);
    await buildGoEstate(db, 19);
    const readers = await sql<{ user_id: string; scope_type: string; scope_id: string }>`
      SELECT DISTINCT ra.user_id, s.scope_type, s.scope_id
      FROM (SELECT 'organization' AS scope_type, org_id AS scope_id, org_id, NULL::text AS project_id FROM ktrlplane.organizations
            UNION ALL SELECT 'project', project_id, org_id, project_id FROM ktrlplane.projects) s
      JOIN ktrlplane.role_assignments ra
        ON (ra.expires_at IS NULL OR ra.expires_at > (now() AT TIME ZONE 'UTC'))
       AND ((ra.scope_type = 'organization' AND ra.scope_id = s.org_id)
         OR (ra.scope_type = 'project' AND ra.scope_id = s.project_id))
      JOIN ktrlplane.role_permissions rp ON rp.role_id = ra.role_id
      JOIN ktrlplane.permissions p ON p.permission_id = rp.permission_id AND p.action = 'read'`.execute(db);
    const users = (await sql<{ user_id: string }>`SELECT user_id FROM ktrlplane.users`.execute(db)).rows;
    const { adoption } = await migrateToLatest(t.database.db);

    for (const { user_id: userId } of users) {
      const mine = readers.rows.filter((row) => row.user_id === userId);
      const personal = (adoption?.personalOrganizations ?? [])
        .filter((org) => org.ownerId === userId)
        .map((org) => org.orgId);
      expect(await list('/organizations', userId, 'org_id'), userId).toEqual(
        [
          ...mine.filter((row) => row.scope_type === 'organization').map((row) => row.scope_id),
          ...personal,
        ].sort(),
      );
      expect(await list('/projects', userId, 'project_id'), userId).toEqual(
        mine
          .filter((row) => row.scope_type === 'project')
          .map((row) => row.scope_id)
          .sort(),
      );
    }
  });

  it("hands a placeholder invitee's roles to whoever first signs in with that email", async () => {
    await adopt();
    const now = t.clock.now();
    const dave = await upsertOidcUser(
      t.database.db,
      { userId: 'auth0|dave', email: 'dave@example.com', name: 'Dave', kind: 'user', emailVerified: true },
      now,
      'refuse',
    );
    expect(dave).toMatchObject({ user_id: 'auth0|dave', email: 'dave@example.com' });
    const principal = {
      userId: 'auth0|dave',
      email: dave.email,
      name: 'Dave',
      kind: 'user' as const,
      isPlatformAdmin: false,
      via: 'oidc' as const,
    };
    expect(await actionsOn(t.database.db, principal, 'organization', 'acme', now)).toEqual(['read']);
    expect(await list('/organizations', 'auth0|dave', 'org_id')).toEqual(['acme']);
    const gone = await t.database.db
      .selectFrom('ktrlplane.users')
      .select('user_id')
      .where('user_id', '=', 'dave@example.com')
      .execute();
    expect(gone).toEqual([]);
    const audit = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['action', 'org_id', 'target_id'])
      .where('action', '=', 'user.invitation_claimed')
      .execute();
    expect(audit).toEqual([{ action: 'user.invitation_claimed', org_id: 'acme', target_id: 'auth0|dave' }]);

    // Erin's placeholder id differs in case from the address she signs in with.
    const erin = await upsertOidcUser(
      t.database.db,
      { userId: 'auth0|erin', email: 'erin@example.com', name: 'Erin', kind: 'user', emailVerified: true },
      now,
    );
    expect(erin.email).toBe('erin@example.com');
    const erinPrincipal = { ...principal, userId: 'auth0|erin', email: 'erin@example.com' };
    expect(await actionsOn(t.database.db, erinPrincipal, 'project', 'carol-lab', now)).toEqual([
      'read',
      'write',
    ]);

    // A real account's address is never taken over that way.
    await expect(
      upsertOidcUser(
        t.database.db,
        {
          userId: 'auth0|impostor',
          email: 'alice@example.com',
          name: 'X',
          kind: 'user',
          emailVerified: true,
        },
        now,
        'refuse',
      ),
    ).rejects.toThrow(/already exists/);
  });
});
