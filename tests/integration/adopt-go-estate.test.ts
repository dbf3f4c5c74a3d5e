import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import { PRODUCTION_QUERIES } from '../../src/db/adopt/production-queries.ts';
import { UnrecognisedSchemaError } from '../../src/db/adopt/recognise.ts';
import { formatAdoption } from '../../src/db/adopt/report.ts';
import type { DatabaseHandle } from '../../src/db/dialects/node.ts';
import { migrateToLatest, planMigrations } from '../../src/db/migrate.ts';
import { actionsOn } from '../../src/services/rbac.ts';
import {
  catalogSnapshot,
  openBlankDatabase,
  pgDump,
  resetBlankDatabase,
} from '../fixtures/blank-database.ts';
import { buildGoEstate, GO_ROLE, SERVICE_ACCOUNT } from '../fixtures/go-estate.ts';

const run = promisify(execFile);

type Handle = DatabaseHandle & { url?: string };
let blank: Handle;
beforeAll(async () => {
  blank = await openBlankDatabase();
});
afterAll(async () => {
  await blank?.close();
});

/** The file's blank database, emptied and built into the Go shape at `version`. */
async function goEstate(version = 19, options: { scale?: number } = {}): Promise<Handle> {
  await resetBlankDatabase(untyped(blank.db));
  await buildGoEstate(untyped(blank.db), version, options);
  return blank;
}

function untyped(db: Kysely<unknown> | DatabaseHandle['db']): Kysely<unknown> {
  return db as unknown as Kysely<unknown>;
}

async function productionAnswers(db: Kysely<unknown>) {
  const answers: Record<string, unknown[]> = {};
  for (const query of PRODUCTION_QUERIES) {
    const rows = (await sql.raw(query.sql.replace(/;$/, '')).execute(db)).rows as Array<
      Record<string, unknown>
    >;
    answers[query.name] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return answers;
}

/**
 * The Go service's permission semantics, from its schema facts: the actions of every unexpired
 * assignment on the scope, on the organization and project above it, and at global.
 */
/** Grants migration 0014 adds to production's roles on purpose (README "Roles and the permission check"). */
const DELIBERATE_0014: Array<[roleId: string, action: string]> = [
  [GO_ROLE.owner, 'usage/report'],
  [GO_ROLE.graphOwner, 'jobs/imports/*'],
  [GO_ROLE.graphOwner, 'jobs/deletions/*'],
  [GO_ROLE.dataOwner, 'jobs/imports/*'],
  [GO_ROLE.dataOwner, 'jobs/deletions/*'],
];

/** A Go estate's role grants as [role id, action]. */
async function goRoleGrants(db: Kysely<unknown>): Promise<Array<[string, string]>> {
  const rows = await sql<{ role_id: string; action: string }>`
    SELECT rp.role_id, p.action FROM ktrlplane.role_permissions rp
    JOIN ktrlplane.permissions p ON p.permission_id = rp.permission_id`.execute(db);
  return rows.rows.map((row) => [row.role_id, row.action]);
}

async function goActions(
  db: Kysely<unknown>,
  extraGrants: Array<[roleId: string, action: string]> = [],
  options: { replaceGrants?: boolean } = {},
): Promise<Map<string, string[]>> {
  const extra = extraGrants.length
    ? sql.join(
        extraGrants.map(
          ([roleId, action]) => sql`SELECT ${roleId}::text AS role_id, ${action}::text AS action`,
        ),
        sql` UNION ALL `,
      )
    : sql`SELECT NULL::text AS role_id, NULL::text AS action WHERE false`;
  const rows = await sql<{ user_id: string; scope_type: string; scope_id: string; actions: string[] }>`
    WITH grants AS (
      SELECT rp.role_id, perm.action FROM ktrlplane.role_permissions rp
        JOIN ktrlplane.permissions perm ON perm.permission_id = rp.permission_id
       WHERE NOT ${options.replaceGrants ?? false}
      UNION ${extra}),
    scopes AS (
      SELECT 'organization' AS scope_type, org_id AS scope_id, org_id, NULL::text AS project_id, NULL::text AS resource_id
        FROM ktrlplane.organizations
      UNION ALL SELECT 'project', project_id, org_id, project_id, NULL FROM ktrlplane.projects
      UNION ALL SELECT 'resource', r.resource_id, p.org_id, r.project_id, r.resource_id
        FROM ktrlplane.resources r JOIN ktrlplane.projects p ON p.project_id = r.project_id)
    SELECT ra.user_id, s.scope_type, s.scope_id, array_agg(DISTINCT perm.action ORDER BY perm.action) AS actions
    FROM scopes s
    JOIN ktrlplane.role_assignments ra
      ON (ra.expires_at IS NULL OR ra.expires_at > (now() AT TIME ZONE 'UTC'))
     AND ((ra.scope_type = 'global' AND ra.scope_id = 'global')
       OR (ra.scope_type = 'organization' AND ra.scope_id = s.org_id)
       OR (ra.scope_type = 'project' AND ra.scope_id = s.project_id)
       OR (ra.scope_type = 'resource' AND ra.scope_id = s.resource_id))
    JOIN grants perm ON perm.role_id = ra.role_id
    GROUP BY 1, 2, 3`.execute(db);
  return new Map(rows.rows.map((row) => [`${row.user_id} ${row.scope_type}:${row.scope_id}`, row.actions]));
}

async function goScopes(db: Kysely<unknown>) {
  const rows = await sql<{ scope_type: 'organization' | 'project' | 'resource'; scope_id: string }>`
    SELECT 'organization' AS scope_type, org_id AS scope_id FROM ktrlplane.organizations
    UNION ALL SELECT 'project', project_id FROM ktrlplane.projects
    UNION ALL SELECT 'resource', resource_id FROM ktrlplane.resources`.execute(db);
  const users = await sql<{ user_id: string }>`SELECT user_id FROM ktrlplane.users`.execute(db);
  return { scopes: rows.rows, users: users.rows.map((row) => row.user_id) };
}

describe('adopting the Go service database', () => {
  it('adopts the estate at Go 019 in one run: every row accounted for, ids and Stripe ids kept', async () => {
    const { db } = await goEstate(19);
    const result = await migrateToLatest(db);
    const report = result.adoption;
    expect(report?.goVersion).toBe('019');
    expect(result.applied).toEqual(Object.keys(migrations).sort());
    for (const c of report?.counts ?? []) expect(c.found, c.table).toBe(c.carried + c.merged + c.notCarried);
    const byTable = Object.fromEntries((report?.counts ?? []).map((c) => [c.table, c]));
    expect(byTable.users).toMatchObject({ found: 11, carried: 11 });
    expect(byTable.organizations).toMatchObject({ found: 4, carried: 4, added: 3 });
    expect(byTable.projects).toMatchObject({ found: 8, carried: 8 });
    expect(byTable.resources).toMatchObject({ found: 7, carried: 7 });
    expect(byTable.roles).toMatchObject({ found: 7, carried: 7 });
    expect(byTable.permissions).toMatchObject({ found: 34, carried: 34 });
    expect(byTable.role_assignments).toMatchObject({ found: 19, carried: 18, notCarried: 1, added: 2 });
    expect(byTable.billing_accounts).toMatchObject({ found: 4, carried: 3, notCarried: 1, added: 3 });
    expect(byTable.roles).toMatchObject({ added: 1 });
    // The mapping renames our slug roles `<name> (ktrlplane)` to make room for Go's names; 0014
    // then merges them into the Go ids, so none is left.
    const renamed = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.roles WHERE name LIKE '% (ktrlplane)'`.execute(db);
    expect(renamed.rows[0]?.n).toBe(0);

    // Emails: one holder per address (the real account before the placeholder, the most recently
    // updated login of two); '' becomes NULL; M2M clients are service accounts.
    const users = await db
      .selectFrom('ktrlplane.users')
      .select(['user_id', 'email', 'kind'])
      .orderBy('user_id')
      .execute();
    const email = Object.fromEntries(users.map((u) => [u.user_id, u.email]));
    expect(email['auth0|bob-second']).toBe('bob@example.com');
    expect(email['google-oauth2|bob']).toBeNull();
    expect(email['auth0|nomail']).toBeNull();
    expect(email['dave@example.com']).toBe('dave@example.com');
    expect(users.find((u) => u.user_id === SERVICE_ACCOUNT)?.kind).toBe('service');

    // Organization-less projects: one organization per owner, Owner on it; the rest together.
    expect(report?.personalOrganizations).toEqual([
      {
        orgId: 'carol-lab-org-2',
        name: 'Personal projects of Carol',
        ownerId: 'auth0|carol',
        projectIds: ['carol-lab', 'carol-sandbox'],
      },
      {
        orgId: 'alice-side-org',
        name: 'Personal projects of Alice Admin',
        ownerId: 'auth0|alice',
        projectIds: ['alice-side'],
      },
      {
        orgId: 'unowned-projects',
        name: 'Projects without an owner (from the Go service)',
        ownerId: null,
        projectIds: ['stray'],
      },
    ]);
    const initech = await db
      .selectFrom('ktrlplane.organizations')
      .selectAll()
      .where('org_id', '=', 'initech')
      .executeTakeFirstOrThrow();
    expect(initech.name).toBe('initech');

    // Go's role ids and assigned_by → created_by; timestamps read as UTC.
    const alice = await db
      .selectFrom('ktrlplane.role_assignments')
      .selectAll()
      .where('user_id', '=', 'auth0|alice')
      .where('scope_id', '=', 'acme')
      .executeTakeFirstOrThrow();
    expect(alice).toMatchObject({ role_id: GO_ROLE.owner, created_by: 'auth0|alice' });
    expect(alice.created_at.toISOString()).toBe('2025-03-10T12:00:00.000Z');
    const graph = await db
      .selectFrom('ktrlplane.resources')
      .selectAll()
      .where('resource_id', '=', 'acme-graph')
      .executeTakeFirstOrThrow();
    expect(graph.updated_at.toISOString()).toBe('2025-08-01T09:20:00.000Z');
    const dev = await db
      .selectFrom('ktrlplane.resources')
      .selectAll()
      .where('resource_id', '=', 'acme-dev-graph')
      .executeTakeFirstOrThrow();
    expect(dev).toMatchObject({ settings_json: {}, status: 'Pending', sku: 'free' });
    const billing = await db
      .selectFrom('ktrlplane.billing_accounts')
      .selectAll()
      .orderBy('scope_id')
      .execute();
    // Go's rows as they were, and (migration 0015) a mirror per project of an organization with a
    // Stripe customer, carrying the organization's ids.
    expect(
      billing.map((b) => [
        b.scope_type,
        b.scope_id,
        b.stripe_customer_id,
        b.stripe_subscription_id,
        b.mirrors_organization,
      ]),
    ).toEqual([
      ['organization', 'acme', 'cus_acme', 'sub_acme', false],
      ['project', 'acme-dev', 'cus_acme', 'sub_acme', true],
      ['project', 'acme-prod', 'cus_acme', 'sub_acme', true],
      ['project', 'carol-lab', 'cus_carol', 'sub_carol', false],
      ['organization', 'globex', 'cus_globex', null, false],
      ['project', 'globex-web', 'cus_globex', null, true],
    ]);

    // The Go tables are kept as they were, out of the way; the Go runner's records with them.
    const archived = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ktrlplane_go_archive.users`.execute(db);
    expect(archived.rows[0]?.n).toBe(11);
    const goRunner = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'schema_migrations'`.execute(
      db,
    );
    expect(goRunner.rows[0]?.n).toBe(0);
  });

  it('leaves the production operator queries answering the same rows (org-less projects gain their organization)', async () => {
    const { db } = await goEstate(19);
    const before = await productionAnswers(untyped(db));
    await migrateToLatest(db);
    const after = await productionAnswers(untyped(db));
    const orgOf: Record<string, string> = {
      'carol-lab': 'carol-lab-org-2',
      'carol-sandbox': 'carol-lab-org-2',
      'alice-side': 'alice-side-org',
      stray: 'unowned-projects',
    };
    const expected = Object.fromEntries(
      Object.entries(before).map(([name, rows]) => [
        name,
        (rows as string[])
          .map((row) => {
            const parsed = JSON.parse(row) as {
              project_id: string;
              org_id?: string | null;
              settings_json?: unknown;
            };
            // Settings are never NULL here (the operator's templates index into them): {}.
            if ('settings_json' in parsed && parsed.settings_json === null)
              return JSON.stringify({ ...parsed, settings_json: {} });
            return 'org_id' in parsed && parsed.org_id === null
              ? JSON.stringify({ ...parsed, org_id: orgOf[parsed.project_id] })
              : row;
          })
          .sort(),
      ]),
    );
    // The intended difference (migration 0015, issue 14 item 4): projects paid by their organization
    // have mirror billing rows, so the gate also lists those with a non-free resource — acme-prod
    // (acme has Stripe customer cus_acme; acme-graph is standard). acme-dev (free only), globex-web
    // (no resource) stay out.
    const gate = 'Auth0 client gate (auth0-client-dbqr)';
    expected[gate] = [
      ...(expected[gate] as string[]),
      JSON.stringify({ project_id: 'acme-prod', org_id: 'acme' }),
    ].sort();
    expect(after).toEqual(expected);
    expect(after['graph resources (graph-dbqr)']).toHaveLength(4);
    expect(after['secret resources (secret-dbqr)']).toHaveLength(2);
    expect(after[gate]).toEqual([
      JSON.stringify({ project_id: 'acme-prod', org_id: 'acme' }),
      JSON.stringify({ project_id: 'carol-lab', org_id: 'carol-lab-org-2' }),
    ]);

    // The operator's status write-back leaves updated_at (its change detection) alone.
    const stamp = async () =>
      (
        await db
          .selectFrom('ktrlplane.resources')
          .select('updated_at')
          .where('resource_id', '=', 'acme-graph')
          .executeTakeFirstOrThrow()
      ).updated_at;
    const was = await stamp();
    await sql`UPDATE ktrlplane.resources SET status = 'Degraded' WHERE resource_id = 'acme-graph'`.execute(
      db,
    );
    expect(await stamp()).toEqual(was);
  });

  it('lets the same people see and do the same things (Go semantics before, our permission check after)', async () => {
    const { db } = await goEstate(19);
    // Go's semantics plus the deliberate differences of migration 0014 (README "Roles and the
    // permission check"): Graph Owner and Data Owner also grant the job resources the data plane
    // parses, and Owner keeps usage/report.
    const before = await goActions(untyped(db), DELIBERATE_0014);
    const { scopes, users } = await goScopes(untyped(db));
    expect(before.size).toBeGreaterThan(20);
    const { adoption } = await migrateToLatest(db);
    const now = new Date();
    const after = new Map<string, string[]>();
    for (const userId of users) {
      // M2M clients became service accounts; the permission checker's role answers only them.
      const principal = {
        userId,
        email: null,
        name: null,
        kind: userId === SERVICE_ACCOUNT ? ('service' as const) : ('user' as const),
        isPlatformAdmin: false,
        via: 'oidc' as const,
      };
      for (const scope of scopes) {
        const actions = await actionsOn(db, principal, scope.scope_type, scope.scope_id, now);
        if (actions.length > 0)
          after.set(`${userId} ${scope.scope_type}:${scope.scope_id}`, [...actions].sort());
      }
    }
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before));
    // The only new access: each owner sees the organization made for their own projects.
    for (const org of adoption?.personalOrganizations ?? []) {
      for (const userId of users) {
        const principal = {
          userId,
          email: null,
          name: null,
          kind: 'user' as const,
          isPlatformAdmin: false,
          via: 'oidc' as const,
        };
        const actions = await actionsOn(db, principal, 'organization', org.orgId, now);
        expect(actions.includes('read'), `${userId} on ${org.orgId}`).toBe(userId === org.ownerId);
      }
    }
  });

  it('is a no-op when run again', async () => {
    const { db } = await goEstate(19);
    await migrateToLatest(db);
    const once = await catalogSnapshot(untyped(db));
    expect(await migrateToLatest(db)).toEqual({ applied: [] });
    expect((await planMigrations(db)).pending).toEqual([]);
    expect(await catalogSnapshot(untyped(db))).toEqual(once);
  });

  it('leaves the database exactly as it was when adoption fails half-way', async () => {
    const handle = await goEstate(19);
    const before = await catalogSnapshot(untyped(handle.db));
    const dumpBefore = handle.url ? await pgDump(handle.url) : null;
    const steps: string[] = [];
    await expect(
      migrateToLatest(handle.db, {
        onAdoptionStep: (step) => {
          steps.push(step);
          if (step === 'mapped resources') throw new Error('injected failure after the resources');
        },
      }),
    ).rejects.toThrow('injected failure after the resources');
    expect(steps).toContain('mapped projects');
    expect(await catalogSnapshot(untyped(handle.db))).toEqual(before);
    if (handle.url && dumpBefore) expect(await pgDump(handle.url)).toEqual(dumpBefore);
    // …and a run without the failure then adopts it.
    expect((await migrateToLatest(handle.db)).adoption?.goVersion).toBe('019');
  });

  it('rehearses in a dry run: the plan and a count per table, nothing changed', async () => {
    const handle = await goEstate(19);
    const before = await catalogSnapshot(untyped(handle.db));
    const dumpBefore = handle.url ? await pgDump(handle.url) : null;
    const plan = await planMigrations(handle.db);
    expect(plan.found).toEqual({ kind: 'go', version: 19, legacyTables: [] });
    expect(plan.pending).toEqual(Object.keys(migrations).sort());
    const text = formatAdoption(plan.adoption ?? (undefined as never), 'dry-run');
    expect(text).toContain('Adoption would, in one transaction');
    expect(text).toMatch(/role_assignments\s+19\s+18\s+0\s+1\s+2\s+20/);
    expect(text).toContain(
      'carol-lab-org-2 "Personal projects of Carol" (Owner: auth0|carol): carol-lab, carol-sandbox',
    );
    expect(await catalogSnapshot(untyped(handle.db))).toEqual(before);
    if (handle.url && dumpBefore) expect(await pgDump(handle.url)).toEqual(dumpBefore);
  });

  it.each([1, 2, 3, 5, 7, 8, 10, 12, 17, 18])('adopts a Go estate at %i', async (version) => {
    // Migration 0014 makes the roles production's roles at Go 019 (what Go's own migrations up to
    // 019 would have granted), with its deliberate differences; so the expectation is this estate's
    // assignments read with the roles of a Go 019 estate plus those differences.
    const grants019 = await goRoleGrants(untyped((await goEstate(19)).db));
    const { db } = await goEstate(version);
    const before = await goActions(untyped(db), [...grants019, ...DELIBERATE_0014], { replaceGrants: true });
    const { adoption } = await migrateToLatest(db);
    expect(adoption?.goVersion).toBe(String(version).padStart(3, '0'));
    for (const c of adoption?.counts ?? [])
      expect(c.found, c.table).toBe(c.carried + c.merged + c.notCarried);
    expect(adoption?.counts.find((c) => c.table === 'billing_accounts') !== undefined).toBe(version >= 3);
    const after = new Map<string, string[]>();
    for (const key of before.keys()) {
      const [userId, scope] = key.split(' ') as [string, string];
      const [type, id] = scope.split(':') as ['organization' | 'project' | 'resource', string];
      const principal = {
        userId,
        email: null,
        name: null,
        kind: userId === SERVICE_ACCOUNT ? ('service' as const) : ('user' as const),
        isPlatformAdmin: false,
        via: 'oidc' as const,
      };
      after.set(key, [...(await actionsOn(db, principal, type, id, new Date()))].sort());
    }
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before));
  });

  it('refuses a schema it does not recognise, saying what it found, and changes nothing', async () => {
    const cases: Array<[string, (db: Kysely<unknown>) => Promise<void>, RegExp]> = [
      [
        'an unknown column',
        (db) => sql`ALTER TABLE ktrlplane.projects ADD COLUMN colour text`.execute(db).then(() => {}),
        /ktrlplane\.projects at Go 019 should have .*unexpected colour/,
      ],
      [
        'a missing column',
        (db) => sql`ALTER TABLE ktrlplane.resources DROP COLUMN stripe_price_id`.execute(db).then(() => {}),
        /ktrlplane\.resources at Go 019 .*missing stripe_price_id/,
      ],
      [
        'an unknown table',
        (db) => sql`CREATE TABLE ktrlplane.widgets (id int)`.execute(db).then(() => {}),
        /table ktrlplane\.widgets \(id\)/,
      ],
      [
        'a newer Go migration',
        (db) => sql`INSERT INTO public.schema_migrations (version) VALUES ('020')`.execute(db).then(() => {}),
        /Go migration 020 is newer than the last one adoption knows \(019\)/,
      ],
      [
        'a gap in the Go migrations',
        (db) => sql`DELETE FROM public.schema_migrations WHERE version = '010'`.execute(db).then(() => {}),
        /records 001, .*009, 011.*without gaps/,
      ],
    ];
    for (const [what, change, message] of cases) {
      const handle = await goEstate(19);
      await change(untyped(handle.db));
      const before = await catalogSnapshot(untyped(handle.db));
      const error = await migrateToLatest(handle.db).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(UnrecognisedSchemaError);
      expect((error as Error).message, what).toMatch(message);
      expect((error as Error).message).toContain('Nothing was changed.');
      await expect(planMigrations(handle.db)).rejects.toThrow(UnrecognisedSchemaError);
      expect(await catalogSnapshot(untyped(handle.db)), what).toEqual(before);
    }
  });

  it('refuses rows ktrlplane cannot hold as they are, listing them', async () => {
    const handle = await goEstate(19);
    await sql`INSERT INTO ktrlplane.organizations (org_id, name) VALUES ('0c9e5b1a-uuid-org', 'Uuid org'), ('Upper', 'Upper')`.execute(
      handle.db,
    );
    const before = await catalogSnapshot(untyped(handle.db));
    await expect(migrateToLatest(handle.db)).rejects.toThrow(
      /2 organization ids that are not DNS labels: "0c9e5b1a-uuid-org", "Upper"/,
    );
    expect(await catalogSnapshot(untyped(handle.db))).toEqual(before);
  });

  it('adopts once when two instances start on the same Go estate', async () => {
    const handle = await goEstate(19);
    const [a, b] = await Promise.all([migrateToLatest(handle.db), migrateToLatest(handle.db)]);
    expect([a.adoption, b.adoption].filter(Boolean)).toHaveLength(1);
    const count = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ktrlplane.schema_migrations`.execute(handle.db);
    expect(count.rows[0]?.n).toBe(Object.keys(migrations).length);
  });

  it.runIf(process.env.TEST_DATABASE_URL)(
    "keeps the operator role's grants: the production queries and status write-back run as that role",
    async () => {
      const { db } = await goEstate(19);
      const role = `go_operator_${crypto.randomUUID().replaceAll('-', '').slice(0, 8)}`;
      await sql.raw(`CREATE ROLE ${role} NOLOGIN`).execute(db);
      try {
        await sql
          .raw(
            `GRANT USAGE ON SCHEMA ktrlplane TO ${role};
             GRANT SELECT ON ktrlplane.projects, ktrlplane.billing_accounts TO ${role};
             GRANT SELECT (resource_id, project_id, type, sku, settings_json, updated_at) ON ktrlplane.resources TO ${role};
             GRANT UPDATE (status) ON ktrlplane.resources TO ${role};`,
          )
          .execute(db);
        const { adoption } = await migrateToLatest(db);
        expect(adoption?.grants).toContain(`GRANT UPDATE ("status") ON ktrlplane."resources" TO "${role}"`);
        await db.transaction().execute(async (trx) => {
          await sql.raw(`SET LOCAL ROLE ${role}`).execute(trx);
          const answers = await productionAnswers(untyped(trx));
          expect(answers['graph resources (graph-dbqr)']).toHaveLength(4);
          await sql`UPDATE ktrlplane.resources SET status = 'Healthy' WHERE resource_id = 'globex-graph'`.execute(
            trx,
          );
        });
        // …and no more than before.
        const denied = await db
          .transaction()
          .execute(async (trx) => {
            await sql.raw(`SET LOCAL ROLE ${role}`).execute(trx);
            await sql`SELECT name FROM ktrlplane.resources`.execute(trx);
          })
          .catch((error: unknown) => error);
        expect(String(denied)).toMatch(/permission denied/);
      } finally {
        await sql.raw(`DROP OWNED BY ${role}`).execute(db);
        await sql.raw(`DROP ROLE ${role}`).execute(db);
      }
    },
  );

  it('can be undone from the archive schema (the fast roll back of deploy/switch-over.md)', async () => {
    const { db } = await goEstate(19);
    const before = await catalogSnapshot(untyped(db));
    await migrateToLatest(db);
    await db.transaction().execute(async (trx) => {
      await sql`DROP SCHEMA ktrlplane CASCADE`.execute(trx);
      await sql`ALTER SCHEMA ktrlplane_go_archive RENAME TO ktrlplane`.execute(trx);
      await sql`COMMENT ON SCHEMA ktrlplane IS NULL`.execute(trx);
      await sql`ALTER TABLE ktrlplane.schema_migrations SET SCHEMA public`.execute(trx);
    });
    expect(await catalogSnapshot(untyped(db))).toEqual(before);
  });

  it.runIf(process.env.TEST_DATABASE_URL)(
    'npm run migrate -- --dry-run prints the plan and counts; a refused schema exits 1 with the findings',
    async () => {
      const handle = await goEstate(19);
      const cli = (args: string[]) =>
        run('npx', ['tsx', 'scripts/migrate.ts', ...args], {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            DATABASE_URL: handle.url,
            NODE_ENV: 'development',
          },
        });
      const dry = await cli(['--dry-run']);
      expect(dry.stdout).toContain('dry run, nothing was changed');
      expect(dry.stdout).toMatch(/resources\s+7\s+7\s+0\s+0\s+0\s+7/);
      expect((await planMigrations(handle.db)).found.kind).toBe('go');
      await sql`ALTER TABLE ktrlplane.users ADD COLUMN nickname text`.execute(handle.db);
      const refused = await cli([]).catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 1 });
      expect((refused as { stderr: string }).stderr).toMatch(
        /ktrlplane\.users at Go 019 .*unexpected nickname/,
      );
    },
    60_000,
  );
});
