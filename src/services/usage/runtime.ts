import { RUNNING_STATUSES, storageGib } from '../../schemas/usage-metrics.ts';

/** One entry of ktrlplane.resource_usage_changes: the resource's state from `at` on. */
export interface RuntimeChange {
  resource_id: string;
  type: string;
  sku: string;
  status: string;
  deployment_state: string;
  instances: number;
  storage_quantity: string | null;
  at: Date;
}

/** Runtime usage of one resource in one period, in metric-milliseconds (instance-ms, GiB-ms). */
export interface RuntimeUsage {
  resource_id: string;
  period: number;
  type: string;
  sku: string;
  instance_ms: number;
  gib_ms: number;
}

/**
 * Whether instances run (and are billed) in this state: deployed — in the operator's query — and
 * in a running status. Storage is billed while deployed, whatever the status (the volume exists).
 */
export function runningInstances(change: RuntimeChange): number {
  return change.deployment_state === 'deployed' && RUNNING_STATUSES.has(change.status) ? change.instances : 0;
}

export function deployedStorageGib(change: RuntimeChange): number {
  return change.deployment_state === 'deployed' ? storageGib(change.storage_quantity) : 0;
}

/**
 * Integrates a resource's history over [from, to) into periods of `periodMs` (minutes, hours):
 * instances × time in a running status and storage × time deployed, to the millisecond. `changes`
 * are one resource's, in order, and include the last change at or before `from` (the state then).
 * Periods with no usage are left out; the type and SKU are the ones of the period's last state.
 */
export function integrateRuntime(
  changes: readonly RuntimeChange[],
  from: number,
  to: number,
  periodMs: number,
): RuntimeUsage[] {
  const periods = new Map<number, RuntimeUsage>();
  for (let index = 0; index < changes.length; index++) {
    const change = changes[index] as RuntimeChange;
    const next = changes[index + 1];
    const start = Math.max(change.at.getTime(), from);
    const end = Math.min(next ? next.at.getTime() : to, to);
    const instances = runningInstances(change);
    const gib = deployedStorageGib(change);
    if (end <= start) continue;
    for (let period = Math.floor(start / periodMs) * periodMs; period < end; period += periodMs) {
      const overlap = Math.min(end, period + periodMs) - Math.max(start, period);
      let usage = periods.get(period);
      if (!usage) {
        usage = {
          resource_id: change.resource_id,
          period,
          type: change.type,
          sku: change.sku,
          instance_ms: 0,
          gib_ms: 0,
        };
        periods.set(period, usage);
      }
      usage.type = change.type;
      usage.sku = change.sku;
      usage.instance_ms += instances * overlap;
      usage.gib_ms += gib * overlap;
    }
  }
  return [...periods.values()].filter((usage) => usage.instance_ms > 0 || usage.gib_ms > 0);
}
