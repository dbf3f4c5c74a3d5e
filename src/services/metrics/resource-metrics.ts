import type { Config } from '../../config.ts';
import type { ChartSeries } from '../../views/components/chart.tsx';
import { METRIC_RANGES, type MetricRange } from './control-plane.ts';
import { PrometheusError, type PromSeries, queryRange } from './prometheus.ts';
import { scopePromql } from './promql-scope.ts';

/**
 * A resource's metrics from the Prometheus-compatible backend (PROMETHEUS_URL). The data plane's
 * series carry `project_id` and `resource_id` labels (README "Resource metrics"); every query —
 * the built-in ones and a user's custom one — goes through scopePromql, which pins both labels on
 * every selector, so a query can never read another resource's series.
 */
export interface ResourceChart {
  key: string;
  title: string;
  unit: string;
  query: string;
  series: ChartSeries[];
  error: string | null;
}

/** Steps per range for the backend (finer than the control-plane buckets; Prometheus is cheap here). */
const PROM_STEP_SECONDS: Record<MetricRange, number> = { '1h': 30, '6h': 120, '24h': 300, '7d': 1800 };

/** The built-in charts; `$window` becomes the rate window (twice the step, at least a minute). */
export const RESOURCE_METRIC_QUERIES = [
  { key: 'cpu', title: 'CPU', unit: 'cores', query: 'sum(rate(container_cpu_usage_seconds_total[$window]))' },
  { key: 'memory', title: 'Memory', unit: 'bytes', query: 'sum(container_memory_working_set_bytes)' },
  {
    key: 'network_receive',
    title: 'Network received',
    unit: 'bytes/s',
    query: 'sum(rate(container_network_receive_bytes_total[$window]))',
  },
  {
    key: 'network_transmit',
    title: 'Network sent',
    unit: 'bytes/s',
    query: 'sum(rate(container_network_transmit_bytes_total[$window]))',
  },
] as const;

function seriesName(labels: Record<string, string>, fallback: string): string {
  const { __name__: name, project_id: _p, resource_id: _r, ...rest } = labels;
  const extra = Object.entries(rest)
    .map(([key, value]) => `${key}="${value}"`)
    .join(', ');
  return extra ? `${name ?? fallback}{${extra}}` : (name ?? fallback);
}

function toChartSeries(result: PromSeries[], unit: string, fallback: string): ChartSeries[] {
  return result
    .slice(0, 8)
    .map((series) => ({ name: seriesName(series.labels, fallback), unit, points: series.points }));
}

export async function resourceCharts(
  config: Config,
  tenant: { projectId: string; resourceId: string },
  range: MetricRange,
  now: Date,
  custom?: string,
): Promise<ResourceChart[]> {
  const stepSeconds = PROM_STEP_SECONDS[range];
  const window = `${Math.max(60, stepSeconds * 2)}s`;
  const span = { start: new Date(now.getTime() - METRIC_RANGES[range].ms), end: now, stepSeconds };
  const labels = { project_id: tenant.projectId, resource_id: tenant.resourceId };
  const definitions: Array<{ key: string; title: string; unit: string; query: string }> =
    RESOURCE_METRIC_QUERIES.map((definition) => ({
      ...definition,
      query: definition.query.replace('$window', window),
    }));
  if (custom) definitions.push({ key: 'custom', title: 'Custom query', unit: '', query: custom });
  return Promise.all(
    definitions.map(async (definition): Promise<ResourceChart> => {
      try {
        // Throws PromqlScopeError for a custom query that is malformed or names another tenant.
        const scoped = scopePromql(definition.query, labels);
        const result = await queryRange(config, scoped, span, now);
        return {
          ...definition,
          query: scoped,
          series: toChartSeries(result, definition.unit, definition.title),
          error: null,
        };
      } catch (error) {
        if (!(error instanceof PrometheusError)) throw error;
        return { ...definition, series: [], error: error.message };
      }
    }),
  );
}
