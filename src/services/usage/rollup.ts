import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.ts';
import {
  changedResourcesSince,
  type DirtyHour,
  firstChangeAt,
  lockRollupState,
  pruneMinuteAggregates,
  recomputeApiCallAggregates,
  recomputeEventAggregates,
  replaceRuntimeAggregates,
  resourcesActiveBetween,
  runtimeChanges,
  saveRollupState,
  takeDirtyHours,
} from '../../db/usage-aggregates.repository.ts';
import { integrateRuntime } from './runtime.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Queued hours recomputed per statement (the job loops until the queue is empty). */
const DIRTY_BATCH = 2000;

export interface RollupOptions {
  /** Minute aggregates are kept (and written) only this far back. */
  minuteRetentionHours: number;
}

export interface RollupSummary {
  watermark: Date;
  runtimeResources: number;
  reopenedResources: number;
  dirtyHours: number;
}

const floorTo = (time: number, step: number) => Math.floor(time / step) * step;

/**
 * Brings the per-minute and per-hour aggregates up to `now` (floored to the minute), in the
 * caller's transaction (the rollup job's, which holds its advisory lock):
 * 1. runtime usage (instance-hours, storage GB-hours) of every resource that ran since the
 *    watermark, recomputed from the start of the watermark's hour up to now — the open hour
 *    grows minute by minute;
 * 2. history that arrived late (a change committed with a time before the watermark, followed by
 *    commit-ordered id) re-opens exactly that resource from that hour on;
 * 3. hours queued by event ingestion and API call flushes are recomputed from the raw rows.
 * Idempotent: running it twice for the same `now` writes the same numbers.
 */
export async function rollupUsage(
  trx: Transaction<Database>,
  now: Date,
  options: RollupOptions,
): Promise<RollupSummary> {
  const target = new Date(floorTo(now.getTime(), MINUTE_MS));
  const minutesFrom = new Date(target.getTime() - options.minuteRetentionHours * HOUR_MS);
  const state = await lockRollupState(trx, 'runtime', now);
  const first = state.watermark ?? (await firstChangeAt(trx));
  const watermark = first ? new Date(Math.min(floorTo(first.getTime(), HOUR_MS), target.getTime())) : target;

  // Late history: resources with changes since the last run that reach back before the watermark.
  const changed = await changedResourcesSince(trx, state.last_change_id);
  const reopened = new Map<string, number>();
  for (const { resource_id, earliest } of changed.resources) {
    if (earliest.getTime() < watermark.getTime())
      reopened.set(resource_id, floorTo(earliest.getTime(), HOUR_MS));
  }
  for (const [resourceId, from] of reopened) {
    await recomputeRuntime(trx, [resourceId], new Date(from), target, minutesFrom, now);
  }

  // Forward: everything active between the watermark's hour and now.
  const hourStart = new Date(floorTo(watermark.getTime(), HOUR_MS));
  const active = (await resourcesActiveBetween(trx, hourStart, target)).filter((id) => !reopened.has(id));
  // The open hour is recomputed whole; its minutes before the watermark are final already.
  const newMinutes = new Date(Math.max(watermark.getTime(), minutesFrom.getTime()));
  await recomputeRuntime(trx, active, hourStart, target, newMinutes, now);

  let dirtyHours = 0;
  for (;;) {
    const keys = await takeDirtyHours(trx, DIRTY_BATCH);
    if (keys.length === 0) break;
    dirtyHours += keys.length;
    await recomputeDirty(trx, keys, minutesFrom, now);
  }

  await pruneMinuteAggregates(trx, minutesFrom);
  await saveRollupState(trx, 'runtime', { watermark: target, last_change_id: changed.lastId }, now);
  return { watermark: target, runtimeResources: active.length, reopenedResources: reopened.size, dirtyHours };
}

async function recomputeRuntime(
  trx: Transaction<Database>,
  resourceIds: readonly string[],
  from: Date,
  to: Date,
  minutesFrom: Date,
  now: Date,
): Promise<void> {
  if (resourceIds.length === 0 || from >= to) return;
  const histories = await runtimeChanges(trx, resourceIds, from, to);
  const hours = [];
  const minutes = [];
  const minuteStart = new Date(Math.max(from.getTime(), floorTo(minutesFrom.getTime(), MINUTE_MS)));
  for (const changes of histories.values()) {
    hours.push(...integrateRuntime(changes, from.getTime(), to.getTime(), HOUR_MS));
    if (minuteStart < to) {
      minutes.push(...integrateRuntime(changes, minuteStart.getTime(), to.getTime(), MINUTE_MS));
    }
  }
  await replaceRuntimeAggregates(trx, 'usage_hourly', resourceIds, from, to, hours, now);
  if (minuteStart < to) {
    await replaceRuntimeAggregates(trx, 'usage_minutely', resourceIds, minuteStart, to, minutes, now);
  }
}

async function recomputeDirty(
  trx: Transaction<Database>,
  keys: readonly DirtyHour[],
  minutesFrom: Date,
  now: Date,
): Promise<void> {
  const events = keys.filter((key) => key.metric !== 'api_calls');
  const apiHours = new Map<string, { org_id: string; hour: Date }>();
  for (const key of keys) {
    if (key.metric === 'api_calls')
      apiHours.set(`${key.org_id}\u0000${key.hour.getTime()}`, { org_id: key.org_id, hour: key.hour });
  }
  await recomputeEventAggregates(trx, events, minutesFrom, now);
  await recomputeApiCallAggregates(trx, [...apiHours.values()], minutesFrom, now);
}
