import { sql } from 'kysely';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { accountKeyForProject } from '../../src/db/billing.repository.ts';
import { stripeCatalogue } from '../../src/services/billing/catalogue.ts';
import { processPendingStripeEvents } from '../../src/services/billing/webhooks.ts';
import {
  as,
  asJson,
  createOrgFor,
  createProjectFor,
  ORIGIN,
  signUpUser,
  type TestUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { startStripeLocal } from '../stripe-local/index.ts';

/**
 * The queries the production db-query-operator manifests (konnektr-io/infra,
 * kubernetes/apps/…/*-dbqr.yaml) run against ktrlplane's database, character for character, on
 * rows made through the app. A change here is a change of the contract with the running estate.
 */
const GRAPH_QUERY =
  "SELECT resource_id, project_id, sku, settings_json FROM ktrlplane.resources WHERE type = 'Konnektr.Graph';";
const NAMESPACES_QUERY = 'SELECT project_id, org_id FROM ktrlplane.projects;';
/**
 * The Auth0 client gate: projects with a billing account of their own scope carrying Stripe
 * customer and subscription ids, and at least one resource that is not free. Written from the
 * manifest's description (issue 14): keep it unchanged when the app changes.
 */
const AUTH0_GATE_QUERY = `SELECT DISTINCT p.project_id, p.org_id
FROM ktrlplane.projects p
JOIN ktrlplane.billing_accounts ba ON ba.scope_type = 'project' AND ba.scope_id = p.project_id
JOIN ktrlplane.resources r ON r.project_id = p.project_id
WHERE ba.stripe_customer_id IS NOT NULL
  AND ba.stripe_subscription_id IS NOT NULL
  AND r.sku != 'free';`;
/** The graph manifest's statusUpdateQueryTemplate, rendered. */
const statusWrite = (status: string, resourceId: string) =>
  `UPDATE ktrlplane.resources SET status = '${status}' WHERE resource_id = '${resourceId}';`;

let deliver: (url: string, init: RequestInit) => Promise<Response> = async () =>
  new Response(null, { status: 503 });
const stripeLocal = await startStripeLocal({
  ...stripeCatalogue(),
  webhookUrl: 'http://localhost/webhooks/stripe',
  webhookFetch: (url, init) => deliver(url, init),
});
afterAll(() => stripeLocal.stop());

describe('production operator queries', () => {
  const t = useTestApp({
    STRIPE_SECRET_KEY: stripeLocal.secretKey,
    STRIPE_API_BASE: stripeLocal.url,
    STRIPE_WEBHOOK_SECRET: stripeLocal.webhookSecret,
    BASE_URL: ORIGIN,
  });
  const db = () => t.database.db;

  beforeEach(async () => {
    deliver = async (url, init) => t.app.request(url, init);
    await stripeLocal.control.reset();
    t.clock.set(new Date());
  });

  async function run<T>(query: string): Promise<T[]> {
    return (await sql.raw<T>(query).execute(db())).rows;
  }

  async function settle() {
    await stripeLocal.control.webhooksIdle();
    for (let tries = 0; tries < 200; tries++) {
      await processPendingStripeEvents(db(), t.deps.stripe as never, () => t.clock.now());
      const open = await db()
        .selectFrom('ktrlplane.stripe_events')
        .select('event_id')
        .where('processed_at', 'is', null)
        .execute();
      if (open.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('stripe events still unprocessed');
  }

  /** Checkout through the local Stripe server for `billingPath` (an organization's or a project's). */
  async function subscribe(user: TestUser, billingPath: string) {
    const res = await t.app.request(`${billingPath}/checkout`, {
      method: 'POST',
      headers: as(user, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: 'plan=standard',
    });
    expect(res.status).toBe(303);
    const sessionId = /cs_[A-Za-z0-9_]+/.exec(res.headers.get('Location') ?? '')?.[0] ?? '';
    await stripeLocal.control.completeCheckout(sessionId);
    await settle();
  }

  async function createResource(user: TestUser, projectId: string, body: Record<string, unknown>) {
    const res = await t.app.request(`/projects/${projectId}/resources`, {
      method: 'POST',
      headers: asJson(user),
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }

  const orgAccount = () =>
    db()
      .selectFrom('ktrlplane.billing_accounts')
      .selectAll()
      .where('scope_type', '=', 'organization')
      .where('scope_id', '=', 'acme')
      .executeTakeFirstOrThrow();

  it('finds resources, namespaces and organization-paid projects as production reads them', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createOrgFor(t, ada, 'Hobby', 'hobby');
    await createProjectFor(t, ada, 'hobby', 'Toys', 'toys');
    await subscribe(ada, '/organizations/acme/billing');
    // Made after the organization subscribed: its mirror comes with the project.
    await createProjectFor(t, ada, 'acme', 'Data', 'data');

    const sinks = {
      webhook: [
        {
          name: 'hook',
          url: 'https://hooks.example.com/twins',
          method: 'POST',
          authentication: { type: 'Bearer', token: 'planted-token' },
        },
      ],
    };
    await createResource(ada, 'web', {
      resource_id: 'graph-std',
      name: 'Graph std',
      type: 'Konnektr.Graph',
      sku: 'standard',
      settings_json: {
        instances: 2,
        eventSinks: sinks,
        eventRoutes: [{ name: 'all', sinkName: 'hook', eventFormat: 'EventNotification', filters: [] }],
      },
    });
    await createResource(ada, 'data', { resource_id: 'graph-free', name: 'Free', type: 'Konnektr.Graph' });
    // The deprecated id still lands under the production one.
    await createResource(ada, 'toys', {
      resource_id: 'toy-graph',
      name: 'Toy',
      type: 'Konnektr.DigitalTwins',
    });
    await createResource(ada, 'toys', { resource_id: 'toy-flow', name: 'Flow', type: 'Konnektr.Flows' });

    const graphs = await run<{
      resource_id: string;
      project_id: string;
      sku: string;
      settings_json: unknown;
    }>(GRAPH_QUERY);
    expect(graphs.map((row) => [row.resource_id, row.project_id, row.sku]).sort()).toEqual([
      ['graph-free', 'data', 'free'],
      ['graph-std', 'web', 'standard'],
      ['toy-graph', 'toys', 'free'],
    ]);
    // The template indexes settings_json.eventSinks and .eventRoutes: they are where it looks.
    const standard = graphs.find((row) => row.resource_id === 'graph-std')?.settings_json as Record<
      string,
      unknown
    >;
    // Secrets included: the operator renders them into the Secret it creates.
    expect(standard.eventSinks).toMatchObject(sinks);
    expect(standard.eventRoutes).toEqual([
      { name: 'all', sinkName: 'hook', eventFormat: 'EventNotification', filters: [] },
    ]);

    const namespaces = await run<{ project_id: string; org_id: string }>(NAMESPACES_QUERY);
    expect(namespaces.map((row) => [row.project_id, row.org_id]).sort()).toEqual([
      ['data', 'acme'],
      ['toys', 'hobby'],
      ['web', 'acme'],
    ]);

    // web is paid through acme's subscription and runs a standard Graph; data is paid too but
    // runs only free resources; toys' organization does not pay.
    const org = await orgAccount();
    expect(org.stripe_subscription_id).toMatch(/^sub_/);
    expect(await run(AUTH0_GATE_QUERY)).toEqual([{ project_id: 'web', org_id: 'acme' }]);
    const mirrors = await db()
      .selectFrom('ktrlplane.billing_accounts')
      .select(['scope_id', 'stripe_customer_id', 'stripe_subscription_id'])
      .where('mirrors_organization', '=', true)
      .orderBy('scope_id')
      .execute();
    expect(mirrors).toEqual([
      {
        scope_id: 'data',
        stripe_customer_id: org.stripe_customer_id,
        stripe_subscription_id: org.stripe_subscription_id,
      },
      {
        scope_id: 'web',
        stripe_customer_id: org.stripe_customer_id,
        stripe_subscription_id: org.stripe_subscription_id,
      },
    ]);
    // A mirror is not an account: the project is still billed to its organization.
    expect(await accountKeyForProject(db(), 'web', 'acme')).toEqual({
      scope_type: 'organization',
      scope_id: 'acme',
    });
    const projectBilling = await t.app.request('/projects/web/billing', { headers: asJson(ada) });
    expect(projectBilling.status).toBe(200);
    expect(JSON.stringify(await projectBilling.json())).not.toContain(org.stripe_customer_id ?? 'none');

    // The organization's ids change (here: its subscription is gone): the mirrors follow at once.
    await db()
      .updateTable('ktrlplane.billing_accounts')
      .set({ stripe_subscription_id: null })
      .where('scope_type', '=', 'organization')
      .where('scope_id', '=', 'acme')
      .execute();
    expect(await run(AUTH0_GATE_QUERY)).toEqual([]);
    await db()
      .updateTable('ktrlplane.billing_accounts')
      .set({ stripe_customer_id: null })
      .where('scope_type', '=', 'organization')
      .where('scope_id', '=', 'acme')
      .execute();
    const left = await db()
      .selectFrom('ktrlplane.billing_accounts')
      .select('scope_id')
      .where('mirrors_organization', '=', true)
      .execute();
    expect(left).toEqual([]);
  });

  it('keeps a project that pays for itself on its own Stripe ids', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createProjectFor(t, ada, 'acme', 'Solo', 'solo');
    await subscribe(ada, '/organizations/acme/billing');
    const org = await orgAccount();
    // solo had a mirror; subscribing it on its own turns that row into its own account.
    await subscribe(ada, '/projects/solo/billing');
    const solo = await db()
      .selectFrom('ktrlplane.billing_accounts')
      .selectAll()
      .where('scope_type', '=', 'project')
      .where('scope_id', '=', 'solo')
      .executeTakeFirstOrThrow();
    expect(solo.mirrors_organization).toBe(false);
    expect(solo.stripe_customer_id).toMatch(/^cus_/);
    expect(solo.stripe_customer_id).not.toBe(org.stripe_customer_id);
    expect(solo.stripe_subscription_id).toMatch(/^sub_/);
    expect(await accountKeyForProject(db(), 'solo', 'acme')).toEqual({
      scope_type: 'project',
      scope_id: 'solo',
    });

    await createResource(ada, 'solo', {
      resource_id: 'solo-graph',
      name: 'Solo',
      type: 'Konnektr.Graph',
      sku: 'standard',
    });
    await createResource(ada, 'web', {
      resource_id: 'web-graph',
      name: 'Web',
      type: 'Konnektr.Graph',
      sku: 'standard',
    });
    expect((await run<{ project_id: string }>(AUTH0_GATE_QUERY)).map((row) => row.project_id).sort()).toEqual(
      ['solo', 'web'],
    );

    // The organization's ids changing never touches solo's own row.
    await db()
      .updateTable('ktrlplane.billing_accounts')
      .set({ stripe_subscription_id: 'sub_replaced' })
      .where('scope_type', '=', 'organization')
      .where('scope_id', '=', 'acme')
      .execute();
    const after = await db()
      .selectFrom('ktrlplane.billing_accounts')
      .select(['scope_id', 'stripe_subscription_id', 'mirrors_organization'])
      .where('scope_type', '=', 'project')
      .orderBy('scope_id')
      .execute();
    expect(after).toEqual([
      { scope_id: 'solo', stripe_subscription_id: solo.stripe_subscription_id, mirrors_organization: false },
      { scope_id: 'web', stripe_subscription_id: 'sub_replaced', mirrors_organization: true },
    ]);
  });

  it('lets the operator write status back without moving updated_at', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResource(ada, 'web', { resource_id: 'graph', name: 'Graph', type: 'Konnektr.Graph' });
    const before = await db()
      .selectFrom('ktrlplane.resources')
      .select(['updated_at', 'status'])
      .where('resource_id', '=', 'graph')
      .executeTakeFirstOrThrow();
    // A little later, so a moved timestamp would show.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const status of ['Progressing', 'Healthy', 'Unknown']) {
      await sql.raw(statusWrite(status, 'graph')).execute(db());
      const row = await db()
        .selectFrom('ktrlplane.resources')
        .select(['updated_at', 'status'])
        .where('resource_id', '=', 'graph')
        .executeTakeFirstOrThrow();
      expect(row.status).toBe(status);
      expect(row.updated_at.toISOString()).toBe(before.updated_at.toISOString());
    }
    // A user's change does move it: the operator has something to pick up.
    const patched = await t.app.request('/projects/web/resources/graph', {
      method: 'PATCH',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Renamed' }),
    });
    expect(patched.status).toBe(200);
    const changed = await db()
      .selectFrom('ktrlplane.resources')
      .select('updated_at')
      .where('resource_id', '=', 'graph')
      .executeTakeFirstOrThrow();
    expect(changed.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
  });
});
