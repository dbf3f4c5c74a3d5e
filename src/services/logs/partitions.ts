import type { Kysely } from 'kysely';
import { accountKeyForProject, findBillingAccount } from '../../db/billing.repository.ts';
import {
  createLogPartitions,
  dropLogPartition,
  type LogPartition,
  listLogPartitions,
  partitionName,
} from '../../db/logs.repository.ts';
import type { Database } from '../../db/types.ts';
import { plans } from '../../schemas/plans.ts';
import { type BillingPolicy, effectivePlan } from '../billing/policy.ts';

/**
 * Day partitions of ktrlplane.logs. A line is stored in the partition of its retention class (the
 * project's plan's `log_retention_days` when it arrived) and of its UTC day. Partitions are made
 * ahead by the create-log-partitions job and, for a day nobody made yet (a late line, a new
 * class), on demand by ingest; the enforce-log-retention job drops a day once all of it is older
 * than its class's retention. Dropping a whole table is instant and leaves no dead rows behind.
 */

const DAY_MS = 86_400_000;

export function utcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

/** Partitions known to exist, per database (ingest checks here before it asks Postgres). */
const known = new WeakMap<object, Set<string>>();

function knownOf(db: Kysely<Database>): Set<string> {
  let set = known.get(db);
  if (!set) {
    set = new Set();
    known.set(db, set);
  }
  return set;
}

/** Makes sure every (class, day) the lines go to has its partition. */
export async function ensureLogPartitions(
  db: Kysely<Database>,
  lines: readonly { retention_days: number; ts: Date }[],
): Promise<void> {
  const cache = knownOf(db);
  const missing = new Map<string, { retentionDays: number; day: Date }>();
  for (const line of lines) {
    const day = utcDay(line.ts);
    const name = partitionName(line.retention_days, day);
    if (!cache.has(name) && !missing.has(name))
      missing.set(name, { retentionDays: line.retention_days, day });
  }
  if (missing.size === 0) return;
  await createLogPartitions(db, [...missing.values()]);
  for (const name of missing.keys()) cache.add(name);
}

/** Forgets what this process believes exists (after a drop, or an insert that found no partition). */
export function forgetLogPartitions(db: Kysely<Database>): void {
  known.delete(db);
}

/** How long lines of this project are kept: its paying account's plan. */
export async function logRetentionDaysOf(
  db: Kysely<Database>,
  place: { projectId: string; orgId: string },
  policy: BillingPolicy,
): Promise<number> {
  const key = await accountKeyForProject(db, place.projectId, place.orgId);
  return effectivePlan(await findBillingAccount(db, key), policy).limits.log_retention_days;
}

/** Every retention class a plan can give. */
export function retentionClasses(): number[] {
  return [...new Set(Object.values(plans).map((plan) => plan.limits.log_retention_days))].sort(
    (a, b) => a - b,
  );
}

/** Creates today's and the next `daysAhead` days' partitions of every retention class. */
export async function createLogPartitionsAhead(
  db: Kysely<Database>,
  now: Date,
  daysAhead = 2,
): Promise<string[]> {
  const today = utcDay(now);
  const wanted = retentionClasses().flatMap((retentionDays) =>
    Array.from({ length: daysAhead + 1 }, (_, i) => ({
      retentionDays,
      day: new Date(today.getTime() + i * DAY_MS),
    })),
  );
  return createLogPartitions(db, wanted);
}

/** Partitions whose every line is past its retention: the day ended `retentionDays` days ago or more. */
export function expiredPartitions(partitions: readonly LogPartition[], now: Date): LogPartition[] {
  return partitions.filter(
    (partition) => partition.day.getTime() + DAY_MS + partition.retentionDays * DAY_MS <= now.getTime(),
  );
}

/** Drops expired day partitions; answers their names. */
export async function dropExpiredLogPartitions(db: Kysely<Database>, now: Date): Promise<string[]> {
  const expired = expiredPartitions(await listLogPartitions(db), now);
  for (const partition of expired) await dropLogPartition(db, partition.name);
  if (expired.length > 0) forgetLogPartitions(db);
  return expired.map((partition) => partition.name);
}
