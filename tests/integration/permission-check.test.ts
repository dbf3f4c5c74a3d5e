import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import { grantRoleAsOperator, serviceAccountId } from '../../src/services/operator-grants.ts';
import { createOrgFor, createProjectFor, createResourceRow, grant, signUpUser } from '../helpers/fixtures.ts';
import { goPermissionCheck } from '../helpers/go-permission-check.ts';
import { GRAPH_OPERATIONS, graphAllows } from '../helpers/graph-dataplane-matcher.ts';
import { API_AUDIENCE, MACHINE_CLIENT, OTHER_AUDIENCE, startOidcProvider } from '../helpers/oidc-provider.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * The permission check as the Graph data plane calls it: an M2M token (client credentials, sub
 * `<client id>@clients`) asking `GET /api/v1/permissions/check?scopeType=resource&scopeId=<id>&userId=<sub>`
 * and reading `.permissions`. Each row's answer must equal the Go service's answer for the same
 * rows (tests/helpers/go-permission-check.ts) and the expected list, and the Graph's matching
 * (tests/helpers/graph-dataplane-matcher.ts) must let owners through every operation and viewers
 * only through reads.
 */
const provider = await startOidcProvider({ baseUrl: 'http://localhost' });
afterAll(() => provider.close());

const CONTROL_OWNER = ['delete', 'manage_access', 'manage_billing', 'read', 'usage/report', 'write'];
const DATA_OWNER = [
  'digitaltwins/*',
  'digitaltwins/relationships/*',
  'jobs/*',
  'jobs/deletions/*',
  'jobs/imports/*',
  'mcp/*',
  'models/*',
  'query/*',
];
const GRAPH_VIEWER = [
  'digitaltwins/read',
  'digitaltwins/relationships/read',
  'jobs/deletions/read',
  'jobs/imports/read',
  'models/read',
  'query/action',
];

const SYSTEM = {
  actorType: 'system' as const,
  actorId: null,
  actorLabel: 'test',
  requestId: null,
  ip: null,
  userAgent: null,
};

describe('GET /api/v1/permissions/check for the Graph data plane', () => {
  const t = useTestApp({ OIDC_ISSUER: provider.issuer, OIDC_AUDIENCE: API_AUDIENCE });
  // The provider stamps tokens with the real time; the app's clock follows it.
  beforeEach(() => t.clock.set(new Date()));

  /**
   * Acme (Olga owns the organization) with project web, created by Paul (an organization Editor),
   * which makes him its Owner and Data Owner; resource graph in it; and one user per row below.
   */
  async function estate() {
    const now = t.clock.now();
    const olga = await signUpUser(t, 'olga@acme.example');
    const paul = await signUpUser(t, 'paul@acme.example');
    await createOrgFor(t, olga, 'Acme', 'acme');
    await grant(t, paul, ROLE.editor, 'organization', 'acme');
    await createProjectFor(t, paul, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'graph');
    await createResourceRow(t, 'web', 'flows', 'Konnektr.Flows');
    const users = {
      olga,
      paul,
      erin: await signUpUser(t, 'erin@acme.example'),
      vera: await signUpUser(t, 'vera@acme.example'),
      dora: await signUpUser(t, 'dora@acme.example'),
      gina: await signUpUser(t, 'gina@acme.example'),
      exa: await signUpUser(t, 'exa@acme.example'),
      nina: await signUpUser(t, 'nina@acme.example'),
    };
    await grant(t, users.erin, ROLE.editor, 'project', 'web');
    await grant(t, users.vera, ROLE.viewer, 'resource', 'graph');
    await grant(t, users.dora, ROLE.dataOwner, 'resource', 'graph');
    await grant(t, users.gina, ROLE.graphViewer, 'project', 'web');
    await grant(t, users.exa, ROLE.dataOwner, 'project', 'web', new Date(now.getTime() - 1000));
    await grant(t, users.exa, ROLE.editor, 'organization', 'acme', new Date(now.getTime() - 1000));
    // The data plane's M2M client, through the supported command's service (audited).
    await grantRoleAsOperator(
      t.database.db,
      {
        subject: { kind: 'client', clientId: MACHINE_CLIENT.id },
        role: ROLE.permissionChecker,
        scope: { type: 'global' },
      },
      SYSTEM,
      now,
    );
    return users;
  }

  async function check(token: string, query: Record<string, string>) {
    return t.app.request(`/api/v1/permissions/check?${new URLSearchParams(query)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
  }

  const matrix: Array<{
    who: string;
    user: 'olga' | 'paul' | 'erin' | 'vera' | 'dora' | 'gina' | 'exa' | 'nina';
    scope: [string, string];
    permissions: string[];
    graph: 'everything' | 'reads' | 'nothing';
  }> = [
    {
      who: 'organization owner',
      user: 'olga',
      scope: ['resource', 'graph'],
      permissions: CONTROL_OWNER,
      graph: 'nothing',
    },
    {
      who: 'project creator (Owner and Data Owner)',
      user: 'paul',
      scope: ['resource', 'graph'],
      permissions: [...CONTROL_OWNER, ...DATA_OWNER].sort(),
      graph: 'everything',
    },
    {
      who: 'project editor',
      user: 'erin',
      scope: ['resource', 'graph'],
      permissions: ['read', 'write'],
      graph: 'nothing',
    },
    {
      who: 'resource viewer',
      user: 'vera',
      scope: ['resource', 'graph'],
      permissions: ['read'],
      graph: 'nothing',
    },
    {
      who: 'Data Owner on the resource',
      user: 'dora',
      scope: ['resource', 'graph'],
      permissions: DATA_OWNER,
      graph: 'everything',
    },
    {
      who: 'Graph Viewer on the project',
      user: 'gina',
      scope: ['resource', 'graph'],
      permissions: GRAPH_VIEWER,
      graph: 'reads',
    },
    {
      who: 'expired assignments',
      user: 'exa',
      scope: ['resource', 'graph'],
      permissions: [],
      graph: 'nothing',
    },
    { who: 'no access', user: 'nina', scope: ['resource', 'graph'], permissions: [], graph: 'nothing' },
    {
      who: 'Data Owner, on another resource',
      user: 'dora',
      scope: ['resource', 'flows'],
      permissions: [],
      graph: 'nothing',
    },
    {
      who: 'project creator, at the project',
      user: 'paul',
      scope: ['project', 'web'],
      permissions: [...CONTROL_OWNER, ...DATA_OWNER].sort(),
      graph: 'everything',
    },
    {
      who: 'organization editor, at the organization',
      user: 'paul',
      scope: ['organization', 'acme'],
      permissions: ['read', 'write'],
      graph: 'nothing',
    },
    {
      who: 'no access, on a resource that does not exist',
      user: 'nina',
      scope: ['resource', 'nope'],
      permissions: [],
      graph: 'nothing',
    },
  ];

  it('answers the M2M checker on behalf of each user what the Go service answered, and the Graph lets them through accordingly', async () => {
    const users = await estate();
    const m2m = await provider.clientCredentialsToken();
    for (const row of matrix) {
      const userId = users[row.user].userId;
      const res = await check(m2m, { scopeType: row.scope[0], scopeId: row.scope[1], userId });
      expect(res.status, row.who).toBe(200);
      const body = (await res.json()) as {
        user_id: string;
        scope_type: string;
        scope_id: string;
        permissions: string[];
      };
      expect(body, row.who).toEqual({
        user_id: userId,
        scope_type: row.scope[0],
        scope_id: row.scope[1],
        permissions: row.permissions,
      });
      const go = await goPermissionCheck(t.database.db, userId, row.scope[0], row.scope[1], t.clock.now());
      expect([...body.permissions].sort(), `${row.who}: same as the Go service`).toEqual(go);
      for (const operation of GRAPH_OPERATIONS) {
        const expected = row.graph === 'everything' || (row.graph === 'reads' && operation.reads);
        expect(graphAllows(body.permissions, operation.requires), `${row.who} may ${operation.name}`).toBe(
          expected,
        );
      }
    }
  });

  it('answers a caller their own permissions, and never counts global assignments (the checker has none on the graph)', async () => {
    await estate();
    const m2m = await provider.clientCredentialsToken();
    const own = await check(m2m, { scopeType: 'resource', scopeId: 'graph' });
    expect(await own.json()).toEqual({
      user_id: serviceAccountId(MACHINE_CLIENT.id),
      scope_type: 'resource',
      scope_id: 'graph',
      permissions: [],
    });
    provider.accounts.set('auth0|paula', { email: 'paula@acme.example', name: 'Paula' });
    const userToken = await provider.userAccessToken('auth0|paula');
    const paula = (await check(userToken, { scopeType: 'resource', scopeId: 'graph' })) as Response;
    expect(paula.status).toBe(200);
    expect((await paula.json()).permissions).toEqual([]);
    await grant(
      t,
      { userId: 'auth0|paula', email: '', password: '', cookie: '' },
      ROLE.graphViewer,
      'resource',
      'graph',
    );
    const again = await check(userToken, { scopeType: 'resource', scopeId: 'graph', userId: 'auth0|paula' });
    expect((await again.json()).permissions).toEqual(GRAPH_VIEWER);
  });

  it('refuses a user asking on behalf of another (403), even one holding the checker role', async () => {
    const users = await estate();
    provider.accounts.set('auth0|mallory', { email: 'mallory@evil.example', name: 'Mallory' });
    const token = await provider.userAccessToken('auth0|mallory');
    const res = await check(token, { scopeType: 'resource', scopeId: 'graph', userId: users.paul.userId });
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toMatch(/Only service accounts/);
    await grant(
      t,
      { userId: 'auth0|mallory', email: '', password: '', cookie: '' },
      ROLE.permissionChecker,
      'global',
      'global',
    );
    expect(
      (await check(token, { scopeType: 'resource', scopeId: 'graph', userId: users.paul.userId })).status,
    ).toBe(403);
  });

  it('refuses an M2M client without the checker role (403) and a token for another audience (401)', async () => {
    const users = await estate();
    await t.database.db
      .deleteFrom('ktrlplane.role_assignments')
      .where('user_id', '=', serviceAccountId(MACHINE_CLIENT.id))
      .execute();
    const m2m = await provider.clientCredentialsToken();
    const refused = await check(m2m, { scopeType: 'resource', scopeId: 'graph', userId: users.paul.userId });
    expect(refused.status).toBe(403);
    expect((await refused.json()).detail).toMatch(/grant-role/);
    const wrongAudience = await provider.clientCredentialsToken(OTHER_AUDIENCE);
    const res = await check(wrongAudience, {
      scopeType: 'resource',
      scopeId: 'graph',
      userId: users.paul.userId,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
  });
});
