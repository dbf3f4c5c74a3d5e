import type { Transaction } from 'kysely';
import {
  accountKeyForProject,
  countProjects,
  countResourcesOfAccount,
  lockBillingAccount,
} from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';
import { AppError, unprocessable } from '../../lib/errors.ts';
import { planNeededForSku, plans } from '../../schemas/plans.ts';
import {
  instanceCountSetting,
  type ResourceTypeDefinition,
} from '../../schemas/resource-types/resource-type.ts';
import { type BillingPolicy, effectivePlan, planSatisfies } from './policy.ts';

/**
 * Plan limits, checked inside the transaction of the write they guard, after locking the paying
 * account's row: parallel requests queue on that lock, so each one counts what the previous one
 * committed and none can slip past a limit. Answers:
 * - 402 when a SKU needs a plan the account is not on (the browser offers to subscribe),
 * - 403 naming the limit when a count limit (projects, resources) is reached,
 * - 422 at the field when a resource asks for more instances than the plan allows.
 */

function billingUrl(scopeType: 'organization' | 'project', scopeId: string): string {
  return scopeType === 'organization' ? `/organizations/${scopeId}/billing` : `/projects/${scopeId}/billing`;
}

function limitReached(what: string, limit: number, planName: string, url: string): AppError {
  return new AppError(
    403,
    'Forbidden',
    `The ${planName} plan allows ${limit} ${what}; this would be one more. Remove one, or upgrade on the billing page (${url}).`,
    [],
    {},
    { limit: what, allowed: limit, billing_url: url },
  );
}

export async function enforceProjectLimit(
  trx: Transaction<Database>,
  orgId: string,
  policy: BillingPolicy,
): Promise<void> {
  const key = { scope_type: 'organization' as const, scope_id: orgId };
  const plan = effectivePlan(await lockBillingAccount(trx, key), policy);
  if ((await countProjects(trx, orgId)) >= plan.limits.projects) {
    throw limitReached(
      'projects',
      plan.limits.projects,
      plan.display_name,
      billingUrl('organization', orgId),
    );
  }
}

/** A resource's instance count, from the setting its deployment maps to an instance count. */
export function instanceCountOf(type: ResourceTypeDefinition, settings: Record<string, unknown>): number {
  const pointer = instanceCountSetting(type.deployment);
  const value = pointer ? settings[pointer.slice(1)] : undefined;
  return typeof value === 'number' ? value : 1;
}

export async function enforceResourceLimits(
  trx: Transaction<Database>,
  place: { orgId: string; projectId: string },
  resource: {
    type: ResourceTypeDefinition;
    sku: string;
    settings: Record<string, unknown>;
    creating: boolean;
  },
  policy: BillingPolicy,
): Promise<void> {
  const key = await accountKeyForProject(trx, place.projectId, place.orgId);
  const plan = effectivePlan(await lockBillingAccount(trx, key), policy);
  const url = billingUrl(key.scope_type, key.scope_id);
  const needed = planNeededForSku(resource.sku);
  if (!plan.limits.skus.includes(resource.sku) || !planSatisfies(plan, needed)) {
    throw new AppError(
      402,
      'Payment Required',
      `The "${resource.sku}" SKU needs the ${plans[needed].display_name} plan; this ${key.scope_type} is on ${plan.display_name}. Subscribe on the billing page (${url}), then try again.`,
      [{ pointer: '/sku', message: `needs the ${needed} plan` }],
      {},
      { needed_plan: needed, billing_url: url },
    );
  }
  if (resource.creating && (await countResourcesOfAccount(trx, key)) >= plan.limits.resources) {
    throw limitReached('resources', plan.limits.resources, plan.display_name, url);
  }
  const instances = instanceCountOf(resource.type, resource.settings);
  if (instances > plan.limits.instances) {
    const pointer = instanceCountSetting(resource.type.deployment);
    throw unprocessable(
      [
        {
          pointer: `/settings_json${pointer ?? ''}`,
          message: `the ${plan.display_name} plan allows at most ${plan.limits.instances}`,
        },
      ],
      `The ${plan.display_name} plan allows at most ${plan.limits.instances} instances per resource.`,
    );
  }
}
