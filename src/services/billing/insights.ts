import { type Plan, plans } from '../../schemas/plans.ts';
import { getResourceType } from '../../schemas/resource-types/registry.ts';
import { meterFor, usageMetric } from '../../schemas/usage-metrics.ts';
import type { UsageTotal } from './cost.ts';

/**
 * Optimization insights with estimated monthly savings (pure: the dashboard service gathers the
 * inputs). Every estimate prices a month (HOURS_PER_MONTH) at the plan's unit prices, after the
 * free allowances are used up — a marginal saving, which is what removing or shrinking a resource
 * changes on a busy account.
 *
 * - idle: deployed for more than IDLE_DAYS, and in the last IDLE_DAYS no reported usage for the
 *   resource and no API calls in its project: it costs its instance- and storage-hours for nothing.
 * - over-provisioned: more instances than the peak load needs. Load is the `peak_connections`
 *   a data plane reports; one instance serves CONNECTIONS_PER_INSTANCE with HEADROOM spare.
 *   Without reported connections there is no recommendation (we cannot tell).
 * - free tier: every paid-SKU resource would pass the free SKU's limits and the account's usage
 *   fits the Free plan (its limits and quotas): the whole bill goes away on Free.
 */
export const IDLE_DAYS = 7;
export const HOURS_PER_MONTH = 730;
export const CONNECTIONS_PER_INSTANCE = 200;
export const HEADROOM = 1.25;

export interface InsightResource {
  resource_id: string;
  project_id: string;
  name: string;
  type: string;
  sku: string;
  settings_json: unknown;
  deployment_state: string;
  created_at: Date;
}

export interface Insight {
  kind: 'idle' | 'over_provisioned' | 'free_tier';
  resource_id: string | null;
  title: string;
  detail: string;
  /** Estimated saving per month, smallest currency unit. */
  monthly_savings: number;
}

export interface InsightInputs {
  plan: Plan;
  now: Date;
  resources: readonly InsightResource[];
  /** Last IDLE_DAYS of usage per (metric, resource). */
  recent: readonly UsageTotal[];
  /** Resources with reported usage in the last IDLE_DAYS. */
  resourcesWithReportedUsage: ReadonlySet<string>;
  /** Projects with API calls in the last IDLE_DAYS. */
  projectsWithApiCalls: ReadonlySet<string>;
  /** The account's projected bill for the period (base + usage). */
  projectedTotal: number;
  /** Usage of the period so far per metric (for the Free plan's quotas). */
  periodTotals: ReadonlyArray<{ metric: string; quantity: number }>;
  projectCount: number;
}

const DAY_MS = 86_400_000;

function instancesOf(settings: unknown): number {
  const record = (settings ?? {}) as Record<string, unknown>;
  const value = record.instances ?? record.replicas;
  return typeof value === 'number' && value > 0 ? value : 1;
}

/** Price per unit of `metric` for a resource of `type` on `plan` (0 when not priced). */
function unitPrice(plan: Plan, metric: string, type: string): number {
  const definition = usageMetric(metric);
  if (!definition) return 0;
  const price = plan.metered[meterFor(definition, type)];
  return price ? price.unit_amount / definition.meter_divisor : 0;
}

/** A resource's monthly runtime cost at its recent rate (instance-hours and storage). */
function monthlyRuntimeCost(plan: Plan, resource: InsightResource, recent: readonly UsageTotal[]): number {
  const windowHours = IDLE_DAYS * 24;
  let amount = 0;
  for (const metric of ['instance_hours', 'storage_gb_hours']) {
    const used = recent
      .filter((t) => t.metric === metric && t.resource_id === resource.resource_id)
      .reduce((sum, t) => sum + t.quantity, 0);
    amount += (used / windowHours) * HOURS_PER_MONTH * unitPrice(plan, metric, resource.type);
  }
  return amount;
}

const money = (plan: Plan, cents: number) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: plan.currency.toUpperCase() }).format(
    cents / 100,
  );

export function optimizationInsights(inputs: InsightInputs): Insight[] {
  const { plan, now, resources, recent } = inputs;
  const insights: Insight[] = [];
  const live = resources.filter((r) => r.deployment_state === 'deployed');

  for (const resource of live) {
    const old = now.getTime() - resource.created_at.getTime() >= IDLE_DAYS * DAY_MS;
    const unused =
      !inputs.resourcesWithReportedUsage.has(resource.resource_id) &&
      !inputs.projectsWithApiCalls.has(resource.project_id);
    if (old && unused) {
      const savings = monthlyRuntimeCost(plan, resource, recent);
      insights.push({
        kind: 'idle',
        resource_id: resource.resource_id,
        title: `${resource.name} looks idle`,
        detail: `No reported usage and no API calls in its project for ${IDLE_DAYS} days, yet it runs. Undeploy or delete it if nobody needs it${savings > 0 ? ` — about ${money(plan, savings)} a month` : ''}.`,
        monthly_savings: savings,
      });
      continue;
    }

    const instances = instancesOf(resource.settings_json);
    const peak = recent
      .filter((t) => t.metric === 'peak_connections' && t.resource_id === resource.resource_id)
      .reduce((max, t) => Math.max(max, t.quantity), -1);
    if (instances > 1 && peak >= 0) {
      const needed = Math.max(1, Math.ceil((peak * HEADROOM) / CONNECTIONS_PER_INSTANCE));
      if (needed < instances) {
        const savings =
          (instances - needed) * HOURS_PER_MONTH * unitPrice(plan, 'instance_hours', resource.type);
        insights.push({
          kind: 'over_provisioned',
          resource_id: resource.resource_id,
          title: `${resource.name} has more instances than it needs`,
          detail: `Peak of ${peak} connections in ${IDLE_DAYS} days: ${needed} instance${needed === 1 ? ' serves' : 's serve'} it with ${Math.round((HEADROOM - 1) * 100)} % headroom (${CONNECTIONS_PER_INSTANCE} connections each), it runs ${instances}. Scaling down saves about ${money(plan, savings)} a month.`,
          monthly_savings: savings,
        });
      }
    }
  }

  // Free tier: only worth saying when the whole account could move to Free (SKU prices are the
  // same; the saving is the plan's bill).
  if (plan.id !== 'free' && inputs.projectedTotal > 0) {
    const free = plans.free;
    const paid = resources.filter((r) => !free.limits.skus.includes(r.sku));
    const fitsSku = (r: InsightResource) =>
      (getResourceType(r.type)?.checkSku('free', r.settings_json) ?? [{}]).length === 0;
    const quotasFit = Object.entries(free.quotas).every(
      ([metric, quota]) =>
        inputs.periodTotals.filter((t) => t.metric === metric).reduce((s, t) => s + t.quantity, 0) <=
        quota.per_period,
    );
    const countsFit =
      resources.length <= free.limits.resources && inputs.projectCount <= free.limits.projects;
    if (paid.length > 0 && paid.every(fitsSku) && quotasFit && countsFit) {
      insights.push({
        kind: 'free_tier',
        resource_id: null,
        title: 'Your usage fits the Free plan',
        detail: `${paid.map((r) => r.name).join(', ')} run${paid.length === 1 ? 's' : ''} within the free SKU’s limits, and this period’s usage is within Free’s quotas and limits. Moving ${paid.length === 1 ? 'it' : 'them'} to the free SKU and switching to Free saves about ${money(plan, inputs.projectedTotal)} a month.`,
        monthly_savings: inputs.projectedTotal,
      });
    }
  }
  return insights.sort((a, b) => b.monthly_savings - a.monthly_savings);
}
