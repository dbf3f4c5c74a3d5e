import { type Context, Hono } from 'hono';
import type Stripe from 'stripe';
import {
  type AccountKey,
  countProjects,
  countResourcesOfAccount,
  findBillingAccount,
  listInvoices,
  listSubscriptions,
} from '../db/billing.repository.ts';
import { getOrganization } from '../db/organizations.repository.ts';
import { getProject } from '../db/projects.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess } from '../lib/auth-middleware.ts';
import { conflict, type FieldError, unprocessable } from '../lib/errors.ts';
import { redirectAfterWrite, validate } from '../lib/forms.tsx';
import { readBodyOrQuery } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { planFor, plans } from '../schemas/plans.ts';
import { usageMetric } from '../schemas/usage-metrics.ts';
import { MAX_USAGE_SPAN_DAYS, usageQuerySchema } from '../schemas/usage-query.ts';
import { billingDashboard } from '../services/billing/dashboard.ts';
import { billingPolicyOf, effectivePlan } from '../services/billing/policy.ts';
import { accountBilling } from '../services/billing/quotas.ts';
import { callStripe } from '../services/billing/stripe-errors.ts';
import { syncAccountFromStripe } from '../services/billing/stripe-sync.ts';
import {
  changePlan,
  openPortal,
  previewPlanChange,
  setCancelAtPeriodEnd,
  startCheckout,
} from '../services/billing/subscriptions.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { type UsageSeriesRow, usageSeries } from '../services/usage/series.ts';
import {
  ActivationStatus,
  BillingPage,
  CheckoutSuccessPage,
  PlanChangePage,
} from '../views/pages/billing-page.tsx';
import { organizationTabs } from '../views/pages/organization-pages.tsx';
import { projectTabs } from '../views/pages/project-pages.tsx';

/**
 * Billing of an organization — or of a project that pays for itself — at `/organizations/:orgId/
 * billing` and `/projects/:projectId/billing` (also under /api/v1): the plan, subscription,
 * invoices and limits (read), and subscribe / portal / change plan / cancel / resume, which need
 * `manage_billing`. Without STRIPE_SECRET_KEY the page says billing is off and the writes answer
 * 409. Stripe failures answer 503 with Retry-After (services/billing/stripe-errors.ts).
 */
export const billingRoutes = new Hono<AppEnv>();

type Place = 'organization' | 'project';
const PLACES: Array<{ place: Place; prefix: string; param: 'orgId' | 'projectId' }> = [
  { place: 'organization', prefix: '/organizations/:orgId/billing', param: 'orgId' },
  { place: 'project', prefix: '/projects/:projectId/billing', param: 'projectId' },
];

function accountKey(c: Context<AppEnv>, place: Place): AccountKey {
  const scope = c.get('scope') as AuthorizedScope;
  return { scope_type: place, scope_id: scope.id };
}

function baseOf(key: AccountKey): string {
  return key.scope_type === 'organization'
    ? `/organizations/${key.scope_id}/billing`
    : `/projects/${key.scope_id}/billing`;
}

async function scopeName(c: Context<AppEnv>, place: Place): Promise<string> {
  const { db } = c.get('deps');
  return place === 'organization'
    ? (await getOrganization(db, c.get('scope') as AuthorizedScope<'organization'>)).name
    : (await getProject(db, c.get('scope') as AuthorizedScope<'project'>)).name;
}

/** The Stripe client, or 409 when billing is off on this installation. */
function stripeOf(c: Context<AppEnv>): Stripe {
  const stripe = c.get('deps').stripe;
  if (!stripe)
    throw conflict(
      'Billing is not configured on this installation (no Stripe key); there is nothing to pay.',
    );
  return stripe;
}

async function billingView(c: Context<AppEnv>, place: Place, alert?: string) {
  const { db, config } = c.get('deps');
  const key = accountKey(c, place);
  const scope = c.get('scope') as AuthorizedScope;
  const account = await findBillingAccount(db, key);
  const policy = billingPolicyOf(c.get('deps'));
  const [subscriptions, invoices, resources, projects] = await Promise.all([
    listSubscriptions(db, key),
    listInvoices(db, key, 24),
    countResourcesOfAccount(db, key),
    place === 'organization' ? countProjects(db, key.scope_id) : Promise.resolve(null),
  ]);
  const permissions = [...scope.actions];
  const dashboard = await billingDashboard(
    { db, stripe: c.get('deps').stripe, logger: c.get('deps').logger, policy },
    key,
    c.get('deps').clock.now(),
  );
  return {
    dashboard,
    base: baseOf(key),
    scopeName: await scopeName(c, place),
    tabs:
      place === 'organization'
        ? organizationTabs(key.scope_id, 'billing', permissions)
        : projectTabs(key.scope_id, 'billing', permissions),
    enabled: policy.enabled,
    plan: effectivePlan(account, policy),
    plans: Object.values(plans),
    subscription:
      subscriptions.find((s) => s.stripe_subscription_id === account?.stripe_subscription_id) ?? null,
    invoices,
    usage: { projects, resources },
    pastDueSince: account?.past_due_since ?? null,
    suspended: Boolean(account?.suspended_at),
    graceDays: config.BILLING_GRACE_DAYS,
    canManage: scope.actions.has('manage_billing'),
    ...(alert ? { alert } : {}),
  };
}

function usageSpanProblems(from: Date, to: Date, granularity: 'hour' | 'day'): FieldError[] {
  if (to <= from) return [{ pointer: '/to', message: 'must be after from' }];
  const maxDays = MAX_USAGE_SPAN_DAYS[granularity];
  if (to.getTime() - from.getTime() > maxDays * 86_400_000)
    return [
      { pointer: '/to', message: `at most ${maxDays} days after from with granularity ${granularity}` },
    ];
  return [];
}

function wantsCsv(accept: string | undefined): boolean {
  return /\btext\/csv\b/.test(accept ?? '');
}

/** RFC 4180: quote a field holding a comma, quote or line break; double the quotes inside. */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function usageCsv(rows: UsageSeriesRow[]): string {
  const lines = ['period_start,metric,unit,resource_id,resource_type,sku,quantity'];
  for (const row of rows) {
    lines.push(
      [
        row.period_start.toISOString(),
        row.metric,
        usageMetric(row.metric)?.unit ?? '',
        row.resource_id,
        row.resource_type,
        row.sku,
        row.quantity,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** If webhooks do not arrive (say, local development without forwarding), look at Stripe itself. */
const FALLBACK_SYNC_MS = 10_000;

async function activation(c: Context<AppEnv>, place: Place) {
  const { db, stripe, clock, logger } = c.get('deps');
  const key = accountKey(c, place);
  let account = await findBillingAccount(db, key);
  // Webhooks get the first FALLBACK_SYNC_MS after the checkout began (the customer was recorded),
  // then the status page reads Stripe itself, at most once per FALLBACK_SYNC_MS.
  const waited = (at: Date | null | undefined) =>
    !at || clock.now().getTime() - at.getTime() > FALLBACK_SYNC_MS;
  const waitedLongEnough = account ? waited(account.updated_at) && waited(account.synced_at) : false;
  if (stripe && account?.stripe_customer_id && !account.stripe_subscription_id && waitedLongEnough) {
    await syncAccountFromStripe(db, stripe, key, clock.now()).catch((error: unknown) => {
      logger.warn('billing status: sync from Stripe failed', { err: error });
    });
    account = await findBillingAccount(db, key);
  }
  const subscription = account?.stripe_subscription_id
    ? (await listSubscriptions(db, key)).find(
        (s) => s.stripe_subscription_id === account.stripe_subscription_id,
      )
    : undefined;
  return {
    base: baseOf(key),
    plan: planFor(account?.plan ?? 'free').display_name,
    status: subscription?.status ?? null,
    active: subscription?.status === 'active' || subscription?.status === 'trialing',
  };
}

function planField(body: unknown): string {
  const plan = (body as Record<string, unknown> | null)?.plan;
  return typeof plan === 'string' ? plan : '';
}

for (const { place, prefix, param } of PLACES) {
  const read = requireAccess('read', place, param);
  const manage = requireAccess('manage_billing', place, param);

  billingRoutes.get(prefix, read, async (c) => {
    const view = await billingView(c, place);
    if (representationFor(c) === 'json') {
      const { tabs: _tabs, plans: _plans, base: _base, ...data } = view;
      // `dashboard` carries the usage, cost, projection, invoice preview and insights.
      return c.json({ ...data, plan: view.plan.id, limits: view.plan.limits });
    }
    return respond(c, view, BillingPage, { title: 'Billing' });
  });

  billingRoutes.get(`${prefix}/usage`, read, async (c) => {
    const { db, clock } = c.get('deps');
    const key = accountKey(c, place);
    const parsed = validate(usageQuerySchema, c.req.query());
    if (!parsed.ok) throw unprocessable(parsed.errors, 'The usage query is invalid; see errors.');
    const query = parsed.data;
    const now = clock.now();
    const { period } = await accountBilling(db, key, billingPolicyOf(c.get('deps')), now);
    const from = query.from ?? period.start;
    const to = query.to ?? period.end;
    const problems = usageSpanProblems(from, to, query.granularity);
    if (problems.length > 0) throw unprocessable(problems, 'The usage query is invalid; see errors.');
    const rows = await usageSeries(db, key, {
      from,
      to,
      granularity: query.granularity,
      metric: query.metric,
    });
    const csv = query.format === 'csv' || (query.format === undefined && wantsCsv(c.req.header('Accept')));
    c.header('Vary', 'Accept, HX-Request');
    if (csv) {
      c.header('Content-Type', 'text/csv; charset=utf-8');
      c.header(
        'Content-Disposition',
        `attachment; filename="usage-${key.scope_id}-${from.toISOString().slice(0, 10)}-${to.toISOString().slice(0, 10)}.csv"`,
      );
      return c.body(usageCsv(rows));
    }
    return c.json({
      from,
      to,
      granularity: query.granularity,
      metric: query.metric ?? null,
      rows: rows.map((row) => ({ ...row, unit: usageMetric(row.metric)?.unit ?? null })),
    });
  });

  billingRoutes.post(`${prefix}/checkout`, manage, async (c) => {
    const { db, clock, config } = c.get('deps');
    const stripe = stripeOf(c);
    const key = accountKey(c, place);
    const url = await callStripe(async () =>
      startCheckout(
        db,
        stripe,
        key,
        {
          plan: planField(await readBodyOrQuery(c)),
          name: await scopeName(c, place),
          email: currentPrincipal(c).email ?? null,
          baseUrl: config.BASE_URL,
          returnPath: baseOf(key),
        },
        c.get('auditActor'),
        clock.now(),
      ),
    );
    if (representationFor(c) === 'json') return c.json({ url }, 201);
    return redirectAfterWrite(c, url);
  });

  billingRoutes.get(`${prefix}/success`, read, async (c) => {
    const view = await activation(c, place);
    if (representationFor(c) === 'json') return c.json(view);
    return respond(c, { ...view, scopeName: await scopeName(c, place) }, CheckoutSuccessPage, {
      title: 'Subscription',
    });
  });

  billingRoutes.get(`${prefix}/status`, read, async (c) => {
    const view = await activation(c, place);
    if (representationFor(c) === 'json') return c.json(view);
    return c.html(<ActivationStatus {...view} />);
  });

  billingRoutes.post(`${prefix}/portal`, manage, async (c) => {
    const { db, config } = c.get('deps');
    const key = accountKey(c, place);
    const url = await callStripe(() => openPortal(db, stripeOf(c), key, `${config.BASE_URL}${baseOf(key)}`));
    if (representationFor(c) === 'json') return c.json({ url }, 201);
    return redirectAfterWrite(c, url);
  });

  billingRoutes.get(`${prefix}/change`, manage, async (c) => {
    const { db } = c.get('deps');
    const key = accountKey(c, place);
    const planId = c.req.query('plan') ?? '';
    const preview = await callStripe(() => previewPlanChange(db, stripeOf(c), key, planId));
    if (representationFor(c) === 'json') return c.json(preview);
    return respond(
      c,
      { base: baseOf(key), scopeName: await scopeName(c, place), preview, plan: planFor(planId) },
      PlanChangePage,
      { title: 'Change plan' },
    );
  });

  billingRoutes.post(`${prefix}/change`, manage, async (c) => {
    const { db, clock } = c.get('deps');
    const key = accountKey(c, place);
    const planId = planField(await readBodyOrQuery(c));
    await callStripe(() => changePlan(db, stripeOf(c), key, planId, c.get('auditActor'), clock.now()));
    if (representationFor(c) === 'json') return c.json(await activation(c, place));
    return redirectAfterWrite(c, baseOf(key));
  });

  for (const [action, cancel] of [
    ['cancel', true],
    ['resume', false],
  ] as const) {
    billingRoutes.post(`${prefix}/${action}`, manage, async (c) => {
      const { db, clock } = c.get('deps');
      const key = accountKey(c, place);
      await callStripe(() =>
        setCancelAtPeriodEnd(db, stripeOf(c), key, cancel, c.get('auditActor'), clock.now()),
      );
      if (representationFor(c) === 'json') return c.json(await activation(c, place));
      return redirectAfterWrite(c, baseOf(key));
    });
  }
}
