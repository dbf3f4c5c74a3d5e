import type { Config } from '../../config.ts';

/**
 * A small client for a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics):
 * range queries only, because charts and rule evaluation both want values at a list of times.
 * Callers pass PromQL that scopePromql has already confined to the tenant. Answers are cached for
 * PROMETHEUS_CACHE_SECONDS per (query, start, end, step) — start and end are aligned to the step,
 * so page reloads within a step hit the cache.
 */
export interface PromSeries {
  labels: Record<string, string>;
  points: Array<{ t: Date; v: number | null }>;
}

export class PrometheusError extends Error {
  override name = 'PrometheusError';
}

const cache = new Map<string, { expires: number; value: PromSeries[] }>();
const MAX_CACHE_ENTRIES = 500;

export function prometheusConfigured(config: Config): boolean {
  return Boolean(config.PROMETHEUS_URL);
}

export async function queryRange(
  config: Config,
  query: string,
  range: { start: Date; end: Date; stepSeconds: number },
  now: Date,
): Promise<PromSeries[]> {
  if (!config.PROMETHEUS_URL) throw new PrometheusError('PROMETHEUS_URL is not set');
  const stepMs = range.stepSeconds * 1000;
  const start = Math.floor(range.start.getTime() / stepMs) * stepMs;
  const end = Math.floor(range.end.getTime() / stepMs) * stepMs;
  const key = `${query}\u0000${start}\u0000${end}\u0000${range.stepSeconds}`;
  const cached = cache.get(key);
  if (cached && cached.expires > now.getTime()) return cached.value;

  const url = new URL(
    'api/v1/query_range',
    config.PROMETHEUS_URL.endsWith('/') ? config.PROMETHEUS_URL : `${config.PROMETHEUS_URL}/`,
  );
  const body = new URLSearchParams({
    query,
    start: String(start / 1000),
    end: String(end / 1000),
    step: String(range.stepSeconds),
  });
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(config.PROMETHEUS_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    throw new PrometheusError(
      timedOut
        ? `the metrics backend did not answer within ${config.PROMETHEUS_TIMEOUT_MS} ms`
        : 'the metrics backend could not be reached',
    );
  }
  const payload = (await response.json().catch(() => null)) as {
    status?: string;
    error?: string;
    data?: {
      resultType: string;
      result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
    };
  } | null;
  if (!response.ok || payload?.status !== 'success' || !payload.data) {
    throw new PrometheusError(
      `the metrics backend refused the query: ${payload?.error ?? `HTTP ${response.status}`}`,
    );
  }
  const times: number[] = [];
  for (let t = start; t <= end; t += stepMs) times.push(t);
  const value = payload.data.result.map((series) => {
    const byTime = new Map(series.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]));
    return {
      labels: series.metric,
      points: times.map((t) => {
        const v = byTime.get(t);
        return { t: new Date(t), v: v === undefined || !Number.isFinite(v) ? null : v };
      }),
    };
  });
  if (config.PROMETHEUS_CACHE_SECONDS > 0) {
    if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(key, { expires: now.getTime() + config.PROMETHEUS_CACHE_SECONDS * 1000, value });
  }
  return value;
}
