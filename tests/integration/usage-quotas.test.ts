import { describe, expect, it } from 'vitest';
import { runJob } from '../../src/jobs/run-job.ts';
import { usageQuotaAlertsJob } from '../../src/jobs/usage-quota-alerts.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { plans } from '../../src/schemas/plans.ts';
import { ApiQuotaGate, billingPeriodOf, QUOTA_CACHE_MS } from '../../src/services/billing/quotas.ts';
import {
  apiTokenFor,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  grant,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

const FREE_QUOTA = plans.free.quotas.api_calls?.per_period ?? 0;

/** API calls of `orgId` in one hour, as the usage rollup writes them. */
async function setApiCalls(t: TestContext, orgId: string, hour: Date, quantity: number) {
  await t.database.db
    .insertInto('ktrlplane.usage_hourly')
    .values({
      scope_type: 'organization',
      scope_id: orgId,
      metric: 'api_calls',
      resource_id: '',
      hour,
      org_id: orgId,
      project_id: '',
      resource_type: null,
      sku: null,
      quantity,
      reported_quantity: null,
      updated_at: t.clock.now(),
    })
    .onConflict((oc) =>
      oc.columns(['scope_type', 'scope_id', 'metric', 'resource_id', 'hour']).doUpdateSet({ quantity }),
    )
    .execute();
}

describe('usage quotas', () => {
  // Billing off, everyone on Free: a hard API-call quota of 100,000 a month.
  const t = useTestApp({ BASE_URL: ORIGIN, PLAN_WITHOUT_BILLING: 'free' });

  async function world() {
    t.clock.set(new Date('2026-11-20T12:00:00Z'));
    const ada = await signUpUser(t, 'ada@example.com'); // owner: billing member
    const bea = await signUpUser(t, 'bea@example.com'); // viewer: not told
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await grant(t, bea, ROLE.viewer, 'organization', 'acme');
    return { ada, bea };
  }

  const runAlerts = () =>
    runJob(
      { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config },
      usageQuotaAlertsJob,
      'test',
    );

  const titles = async (userId: string) =>
    (
      await t.database.db
        .selectFrom('ktrlplane.notifications')
        .select('title')
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute()
    ).map((row) => row.title);

  it('uses the subscription period, or the UTC month without one', () => {
    const now = new Date('2026-11-20T12:00:00Z');
    expect(billingPeriodOf(null, now)).toEqual({
      start: new Date('2026-11-01T00:00:00Z'),
      end: new Date('2026-12-01T00:00:00Z'),
    });
    const sub = {
      current_period_start: new Date('2026-11-15T08:00:00Z'),
      current_period_end: new Date('2026-12-15T08:00:00Z'),
    };
    expect(billingPeriodOf(sub, now)).toEqual({
      start: sub.current_period_start,
      end: sub.current_period_end,
    });
  });

  it('notifies billing members at 50, 80 and 100 % once each per period, in-app and by email', async () => {
    const { ada, bea } = await world();
    const hour = new Date('2026-11-20T10:00:00Z');
    await setApiCalls(t, 'acme', hour, FREE_QUOTA * 0.3);
    expect((await runAlerts()).detail).toBe('checked 1 accounts, 0 notifications');

    await setApiCalls(t, 'acme', hour, FREE_QUOTA * 0.55);
    {
      const { quotaUsage } = await import('../../src/services/billing/quotas.ts');
      const { usageSeries } = await import('../../src/services/usage/series.ts');
      const key = { scope_type: 'organization' as const, scope_id: 'acme' };
      const period = { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-12-01T00:00:00Z') };
      const { announceQuotaThresholds } = await import('../../src/services/billing/quotas.ts');
      const { recipientsOf } = await import('../../src/db/notifications.repository.ts');
      console.log(
        'DBG2',
        await recipientsOf(t.database.db, {
          orgId: 'acme',
          projectId: null,
          audience: 'billing',
          now: t.clock.now(),
        }),
        await announceQuotaThresholds(t.database.db, {
          key,
          orgId: 'acme',
          plan: plans.free,
          period,
          quotas: await quotaUsage(t.database.db, key, plans.free, period),
          now: t.clock.now(),
          baseUrl: ORIGIN,
        }),
      );
      console.log(
        'DBG',
        await usageSeries(t.database.db, key, {
          ...period,
          from: period.start,
          to: period.end,
          granularity: 'day',
          metric: 'api_calls',
        }),
        await quotaUsage(t.database.db, key, plans.free, period),
      );
    }
    await runAlerts(); // again: nothing new
    expect(await titles(ada.userId)).toEqual(["API calls: 50% of this period's quota used"]);

    // From 55 % straight past 80 % to 100 %: one notification for the highest threshold reached.
    await setApiCalls(t, 'acme', hour, FREE_QUOTA);
    t.clock.advance(5 * 60_000);
    await Promise.all([runAlerts(), runAlerts()]);
    expect(await titles(ada.userId)).toEqual([
      "API calls: 50% of this period's quota used",
      "API calls: 100% of this period's quota used",
    ]);
    expect(await titles(bea.userId)).toEqual([]);

    const mails = await t.database.db
      .selectFrom('ktrlplane.mail_outbox')
      .select(['to_address', 'subject', 'body_text'])
      .orderBy('created_at')
      .execute();
    expect(mails.map((m) => [m.to_address, m.subject])).toEqual([
      ['ada@example.com', "API calls: 50% of this period's quota used"],
      ['ada@example.com', "API calls: 100% of this period's quota used"],
    ]);
    expect(mails[1]?.body_text).toContain('100,000 of 100,000 calls used (100%) on the Free plan');
    expect(mails[1]?.body_text).toContain('refused (HTTP 429) until 2026-12-01');
    expect(mails[1]?.body_text).toContain(`${ORIGIN}/organizations/acme/billing`);

    // A new period starts over.
    t.clock.set(new Date('2026-12-02T00:00:00Z'));
    await setApiCalls(t, 'acme', new Date('2026-12-01T05:00:00Z'), FREE_QUOTA * 0.5);
    await runAlerts();
    expect(await titles(ada.userId)).toHaveLength(3);
  });

  it('answers 429 with a clear message past a hard quota, cached per organization, billing routes exempt', async () => {
    const { ada } = await world();
    const token = await apiTokenFor(t, ada);
    const project = () => t.app.request('/api/v1/projects/web', { headers: bearer(token) });
    expect((await project()).status).toBe(200);

    await setApiCalls(t, 'acme', new Date('2026-11-20T10:00:00Z'), FREE_QUOTA);
    // The decision of a moment ago is reused for QUOTA_CACHE_MS: no usage read per request.
    expect((await project()).status).toBe(200);
    t.clock.advance(QUOTA_CACHE_MS + 1);
    const refused = await project();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Content-Type')).toContain('application/problem+json');
    expect(Number(refused.headers.get('Retry-After'))).toBe(
      Math.ceil((new Date('2026-12-01T00:00:00Z').getTime() - t.clock.now().getTime()) / 1000),
    );
    const problem = (await refused.json()) as { detail: string; quota: number; billing_url: string };
    expect(problem.detail).toBe(
      `This organization has used its 100,000 API calls of the Free plan for the period ending 2026-12-01 (UTC). API calls are refused until then; upgrade the plan at ${ORIGIN}/organizations/acme/billing to continue now.`,
    );
    expect(problem.quota).toBe(FREE_QUOTA);

    // Billing stays reachable through the API (to see usage and upgrade), and the browser is not the API.
    expect(
      (await t.app.request('/api/v1/organizations/acme/billing', { headers: bearer(token) })).status,
    ).toBe(200);
    expect((await t.app.request('/projects/web', { headers: asJson(ada) })).status).toBe(200);

    // Next period: calls are accepted again.
    t.clock.set(new Date('2026-12-01T00:00:01Z'));
    expect((await project()).status).toBe(200);
  });

  it('never refuses calls on a plan whose quota only alerts (Standard)', async () => {
    await world();
    const quota = plans.standard.quotas.api_calls?.per_period ?? 0;
    await setApiCalls(t, 'acme', new Date('2026-11-20T10:00:00Z'), quota * 2);
    const standardEverywhere = new ApiQuotaGate({ enabled: false, planWithoutBilling: 'standard' }, ORIGIN);
    await expect(standardEverywhere.check(t.database.db, 'acme', t.clock.now())).resolves.toBeUndefined();
    const freeEverywhere = new ApiQuotaGate({ enabled: false, planWithoutBilling: 'free' }, ORIGIN);
    await expect(freeEverywhere.check(t.database.db, 'acme', t.clock.now())).rejects.toMatchObject({
      status: 429,
    });
  });
});
