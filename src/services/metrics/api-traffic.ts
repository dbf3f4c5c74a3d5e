import type { ApiMinute } from '../../db/api-usage-stats.repository.ts';

/**
 * Windows over per-minute API traffic: totals, error shares and latency percentiles from the
 * per-minute histograms (bucket i counts requests at or under bounds[i]; one more bucket past the
 * last bound counts the slower ones).
 */
export interface ApiWindow {
  requests: number;
  client_errors: number;
  server_errors: number;
  duration_ms_sum: number;
  duration_buckets: number[];
}

/** Adds up the minutes in (end - windowMs, end]. `minutes` must be sorted by minute. */
export function apiWindow(minutes: ApiMinute[], end: Date, windowMs: number): ApiWindow {
  const total: ApiWindow = {
    requests: 0,
    client_errors: 0,
    server_errors: 0,
    duration_ms_sum: 0,
    duration_buckets: [],
  };
  const to = end.getTime();
  const from = to - windowMs;
  for (const minute of minutes) {
    const at = minute.minute.getTime();
    if (at <= from || at > to) continue;
    total.requests += minute.requests;
    total.client_errors += minute.client_errors;
    total.server_errors += minute.server_errors;
    total.duration_ms_sum += minute.duration_ms_sum;
    minute.duration_buckets.forEach((count, index) => {
      total.duration_buckets[index] = (total.duration_buckets[index] ?? 0) + count;
    });
  }
  return total;
}

/** Share of requests in percent; null when there were none (no traffic is not a 0 % error rate). */
export function percentOf(part: number, whole: number): number | null {
  return whole > 0 ? (part / whole) * 100 : null;
}

/**
 * The q-quantile (0..1) of a latency histogram, interpolated linearly inside its bucket like
 * Prometheus' histogram_quantile; null without requests. Past the last bound it answers the last
 * bound (the histogram cannot say more).
 */
export function latencyPercentile(buckets: number[], bounds: readonly number[], q: number): number | null {
  const total = buckets.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let index = 0; index < buckets.length; index++) {
    const count = buckets[index] ?? 0;
    if (seen + count >= rank && count > 0) {
      const upper = bounds[index];
      if (upper === undefined) return bounds.at(-1) ?? null;
      const lower = index === 0 ? 0 : (bounds[index - 1] ?? 0);
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return bounds.at(-1) ?? null;
}
