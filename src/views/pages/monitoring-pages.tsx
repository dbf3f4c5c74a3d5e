import type { ControlPlaneMetrics, MetricRange } from '../../services/metrics/control-plane.ts';
import { METRIC_RANGES } from '../../services/metrics/control-plane.ts';
import type { ResourceChart } from '../../services/metrics/resource-metrics.ts';
import type { ResourceView } from '../../services/resources.ts';
import { type ChartSeries, TimeSeriesChart } from '../components/chart.tsx';
import { Button, Card, PageHeader } from '../components/form.tsx';
import { organizationTabs } from './organization-pages.tsx';
import { projectTabs } from './project-pages.tsx';
import { resourceTabs } from './resource-pages.tsx';

/**
 * Monitoring pages: the control-plane charts of an organization or project (ResourceHealth,
 * DeploymentStatus, APIUsage, ErrorRate and latency percentiles), and a resource's metrics from
 * the Prometheus-compatible backend, each with the 1h / 6h / 24h / 7d range picker.
 */

function RangePicker(props: { base: string; current: MetricRange; extra?: Record<string, string> }) {
  return (
    <nav aria-label="Time range" class="mb-4 inline-flex rounded-md shadow-sm" data-testid="range-picker">
      {(Object.keys(METRIC_RANGES) as MetricRange[]).map((range, index, all) => {
        const query = new URLSearchParams({ ...props.extra, range }).toString();
        const edges = `${index === 0 ? ' rounded-l-md' : ''}${index === all.length - 1 ? ' rounded-r-md' : ''}`;
        return (
          <a
            href={`${props.base}?${query}`}
            aria-current={range === props.current ? 'true' : undefined}
            class={`-ml-px px-3 py-1.5 text-sm font-medium ring-1 ring-inset ring-slate-300 dark:ring-slate-700${edges} ${
              range === props.current
                ? 'bg-indigo-600 text-white ring-indigo-600'
                : 'bg-white text-slate-700 hover:bg-slate-50 dark:bg-slate-900 dark:text-slate-200'
            }`}
          >
            {range}
          </a>
        );
      })}
    </nav>
  );
}

function ChartCard(props: {
  id: string;
  title: string;
  description: string;
  series: ChartSeries[];
  kind?: 'line' | 'bar' | 'area';
  from: Date;
  to: Date;
  stepMs?: number;
  empty: string;
}) {
  return (
    <Card>
      <TimeSeriesChart
        id={props.id}
        title={props.title}
        description={props.description}
        kind={props.kind ?? 'line'}
        series={props.series}
        from={props.from}
        to={props.to}
        {...(props.stepMs ? { stepMs: props.stepMs } : {})}
        emptyText={props.empty}
      />
    </Card>
  );
}

export interface ControlPlaneView {
  scope: { type: 'organization' | 'project'; id: string; name: string; orgId: string; orgName?: string };
  permissions: string[];
  metrics: ControlPlaneMetrics;
}

export function ControlPlaneMonitoringPage(view: ControlPlaneView) {
  const m = view.metrics;
  const base =
    view.scope.type === 'organization' ? `/organizations/${view.scope.id}` : `/projects/${view.scope.id}`;
  const stepMs = m.step_seconds * 1000;
  const noApi = 'No API calls in this range.';
  return (
    <div>
      <PageHeader
        title={`${view.scope.name} monitoring`}
        eyebrow={
          view.scope.type === 'project' ? (
            <a href={`/organizations/${view.scope.orgId}`} class="hover:underline">
              {view.scope.orgName ?? view.scope.orgId}
            </a>
          ) : undefined
        }
        subtitle={`Computed from ktrlplane's own records: resource status history and API calls (/api/v1). Buckets of ${m.step_seconds / 60} minutes. JSON: ${base}/monitoring?range=${m.range} with Accept: application/json.`}
      />
      {view.scope.type === 'organization'
        ? organizationTabs(view.scope.id, 'monitoring', view.permissions)
        : projectTabs(view.scope.id, 'monitoring', view.permissions)}
      <RangePicker base={`${base}/monitoring`} current={m.range} />
      <div class="grid gap-6 xl:grid-cols-2" data-testid="control-plane-charts">
        <ChartCard
          id="resource-health"
          title="Resource health"
          description="How many resources were in each kind of status, over time."
          series={m.resource_health}
          kind="area"
          from={m.from}
          to={m.to}
          empty="No resources had a status in this range."
        />
        <ChartCard
          id="deployment-status"
          title="Deployments by status"
          description="Status transitions reported by the operator, per bucket, by the kind of status reached."
          series={m.deployment_status}
          kind="bar"
          from={m.from}
          to={m.to}
          stepMs={stepMs}
          empty="No status changes in this range."
        />
        <ChartCard
          id="api-usage"
          title="API usage"
          description="API requests per bucket, with client and server errors."
          series={m.api_usage}
          kind="bar"
          from={m.from}
          to={m.to}
          stepMs={stepMs}
          empty={noApi}
        />
        <ChartCard
          id="error-rate"
          title="Error rate"
          description="Share of API requests answered with a 5xx or a 4xx status, per bucket."
          series={m.error_rate}
          from={m.from}
          to={m.to}
          empty={noApi}
        />
        <ChartCard
          id="api-latency"
          title="Request latency"
          description="API request latency percentiles per bucket (from the per-minute latency histograms)."
          series={m.latency}
          from={m.from}
          to={m.to}
          empty={noApi}
        />
      </div>
    </div>
  );
}

export interface ResourceMonitoringView {
  resource: ResourceView;
  projectName: string;
  range: MetricRange;
  connected: boolean;
  charts: ResourceChart[];
  from: Date;
  to: Date;
  custom: string;
  customError?: string;
}

export function ResourceMonitoringPage(view: ResourceMonitoringView) {
  const r = view.resource;
  const base = `/projects/${r.project_id}/resources/${r.resource_id}/monitoring`;
  return (
    <div>
      <PageHeader
        title={`${r.name} monitoring`}
        eyebrow={
          <a href={`/projects/${r.project_id}/resources`} class="hover:underline">
            {view.projectName} / Resources
          </a>
        }
        subtitle={`${r.type} · ${r.sku}`}
      />
      {resourceTabs(r, 'monitoring')}
      {!view.connected ? (
        <Card title="Connect a metrics backend">
          <div class="space-y-2 text-sm text-slate-700 dark:text-slate-300" data-testid="no-backend">
            <p>
              No metrics backend is connected, so CPU, memory and network of this resource cannot be shown.
            </p>
            <p>
              Set <code>PROMETHEUS_URL</code> to the base URL of a Prometheus-compatible API (Prometheus,
              Thanos, Mimir, VictoriaMetrics), e.g. <code>PROMETHEUS_URL=http://prometheus:9090</code>, and
              restart ktrlplane. The resource's series must carry the labels{' '}
              <code>project_id="{r.project_id}"</code> and <code>resource_id="{r.resource_id}"</code> (add
              them with relabelling in the scrape configuration).
            </p>
            <p>
              Control-plane metrics (health, deployments, API calls) need nothing: see the project's
              Monitoring tab.
            </p>
          </div>
        </Card>
      ) : (
        <>
          <RangePicker base={base} current={view.range} extra={view.custom ? { query: view.custom } : {}} />
          <form method="get" action={base} class="mb-6 flex flex-wrap items-end gap-2">
            <input type="hidden" name="range" value={view.range} />
            <div class="min-w-0 flex-1">
              <label for="field-query" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
                Custom PromQL
              </label>
              <input
                id="field-query"
                name="query"
                value={view.custom}
                placeholder="sum(rate(http_requests_total[5m])) by (code)"
                aria-invalid={view.customError ? 'true' : undefined}
                aria-describedby="field-query-help"
                class="mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-sm dark:border-slate-700 dark:bg-slate-900"
              />
              <p
                id="field-query-help"
                class={`mt-1 text-xs ${view.customError ? 'text-rose-600' : 'text-slate-500'}`}
              >
                {view.customError ??
                  `ktrlplane adds project_id="${r.project_id}" and resource_id="${r.resource_id}" to every selector.`}
              </p>
            </div>
            <Button variant="secondary">Chart</Button>
          </form>
          <div class="grid gap-6 xl:grid-cols-2" data-testid="resource-charts">
            {view.charts.map((chart) => (
              <Card>
                {chart.error ? (
                  <p class="text-sm text-rose-600">
                    {chart.title}: {chart.error}
                  </p>
                ) : (
                  <TimeSeriesChart
                    id={`metric-${chart.key}`}
                    title={chart.title}
                    description={`PromQL: ${chart.query}`}
                    series={chart.series}
                    from={view.from}
                    to={view.to}
                    emptyText="The backend has no data for this resource in this range."
                  />
                )}
              </Card>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
