import type { BillingAccount } from '../../db/billing.repository.ts';
import { type Plan, type PlanId, planFor, plans } from '../../schemas/plans.ts';

/**
 * Which plan applies. With Stripe configured, an account's plan is what its subscription says (the
 * `plan` column, kept by the Stripe sync; `free` without one). Without Stripe, billing is off and
 * everyone is on PLAN_WITHOUT_BILLING (`free` unless a self-hosting operator chose otherwise).
 */
export interface BillingPolicy {
  enabled: boolean;
  planWithoutBilling: PlanId;
}

export function billingPolicy(
  config: { PLAN_WITHOUT_BILLING: PlanId },
  stripeConfigured: boolean,
): BillingPolicy {
  return { enabled: stripeConfigured, planWithoutBilling: config.PLAN_WITHOUT_BILLING };
}

export function effectivePlan(
  account: Pick<BillingAccount, 'plan'> | undefined,
  policy: BillingPolicy,
): Plan {
  if (!policy.enabled) return plans[policy.planWithoutBilling];
  return planFor(account?.plan ?? 'free');
}

/** Plans in order of what they allow; a plan satisfies a need for any plan at or below it. */
const PLAN_RANK: Record<PlanId, number> = { free: 0, standard: 1, premium: 2 };

export function planSatisfies(plan: Plan, needed: PlanId): boolean {
  return PLAN_RANK[plan.id] >= PLAN_RANK[needed];
}

/** The policy of a running app: billing is on when it has a Stripe client. */
export function billingPolicyOf(deps: {
  config: { PLAN_WITHOUT_BILLING: PlanId };
  stripe: unknown;
}): BillingPolicy {
  return billingPolicy(deps.config, deps.stripe !== null);
}
