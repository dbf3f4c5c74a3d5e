import { metricLabel } from '../../lib/metric-label.ts';
import type { BillingDashboard } from '../../services/billing/dashboard.ts';
import { TimeSeriesChart } from '../components/chart.tsx';
import { Card } from '../components/form.tsx';

/**
 * The usage-and-cost part of the billing page: what the period costs so far and is projected to,
 * usage per metric against quota, daily usage and cumulative cost charts, the breakdowns, the
 * upcoming invoice, the payment method and the optimization insights. Every figure here is in the
 * JSON of the same route (`dashboard`), rounded the same way, so the page and the API agree.
 */

export function formatMoney(cents: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(
    cents / 100,
  );
}

const quantityFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function formatQuantity(value: number): string {
  return quantityFormat.format(value);
}

function plural(unit: string, n: number): string {
  return n === 1 || unit.endsWith('s') ? unit : `${unit}s`;
}

const day = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : '—');
const typeLabel = (type: string | null) =>
  type === null ? 'Organization (API calls)' : type.replace(/^Konnektr\./, '');

function Figure(props: { label: string; value: string; note?: string; testId: string }) {
  return (
    <div class="rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <p class="text-xs font-medium uppercase tracking-wide text-slate-500">{props.label}</p>
      <p class="mt-1 text-2xl font-semibold tabular-nums" data-testid={props.testId}>
        {props.value}
      </p>
      {props.note && <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{props.note}</p>}
    </div>
  );
}

function QuotaBar(props: { percent: number; hard: boolean }) {
  const clamped = Math.min(100, Math.max(0, props.percent));
  const tone = props.percent >= 100 ? 'bg-rose-600' : props.percent >= 80 ? 'bg-amber-500' : 'bg-indigo-600';
  // Width in 5 % steps through classes (no inline style under our CSP).
  const step = Math.round(clamped / 5) * 5;
  return (
    <div class="flex items-center gap-2">
      <progress class="sr-only" max="100" value={String(clamped)}>
        {Math.floor(props.percent)}%
      </progress>
      <div class="h-2 w-32 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700" aria-hidden="true">
        <div class={`h-2 ${tone} ${WIDTH_CLASSES[step / 5]}`} />
      </div>
      <span class="text-xs tabular-nums text-slate-600 dark:text-slate-300">
        {Math.floor(props.percent)}%{props.hard ? ' · hard limit' : ''}
      </span>
    </div>
  );
}

// Literal class names so Tailwind generates them.
const WIDTH_CLASSES = [
  'w-0',
  'w-[5%]',
  'w-[10%]',
  'w-[15%]',
  'w-[20%]',
  'w-[25%]',
  'w-[30%]',
  'w-[35%]',
  'w-[40%]',
  'w-[45%]',
  'w-[50%]',
  'w-[55%]',
  'w-[60%]',
  'w-[65%]',
  'w-[70%]',
  'w-[75%]',
  'w-[80%]',
  'w-[85%]',
  'w-[90%]',
  'w-[95%]',
  'w-full',
];

const cellClass = 'py-1.5 pr-3';

export function BillingDashboardSection(props: { dashboard: BillingDashboard; base: string }) {
  const d = props.dashboard;
  const money = (cents: number) => formatMoney(cents, d.currency);
  const DAY_MS = 86_400_000;
  const lastDay = d.cost.cumulative.at(-1);
  return (
    <section class="space-y-6" aria-label="Usage and cost" data-testid="billing-dashboard">
      <p class="text-sm text-slate-600 dark:text-slate-300">
        {d.plan.display_name} plan · period{' '}
        <time datetime={d.period.start.toISOString()}>{day(d.period.start)}</time> to{' '}
        <time datetime={d.period.end.toISOString()}>{day(d.period.end)}</time> (UTC) · usage as of{' '}
        {d.as_of.toISOString().slice(0, 16).replace('T', ' ')} UTC (a minute or two behind).{' '}
        <a
          href={`${props.base}/usage?format=csv`}
          class="font-medium text-indigo-700 hover:underline dark:text-indigo-300"
        >
          Download usage (CSV)
        </a>
      </p>
      {d.stripe_error && (
        <p
          role="alert"
          class="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200"
        >
          {d.stripe_error}
        </p>
      )}
      <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Figure
          label="Cost so far"
          value={money(d.cost.total)}
          note={`${money(d.cost.base_amount)} plan + ${money(d.cost.usage_amount)} usage`}
          testId="cost-so-far"
        />
        <Figure
          label="Projected for the period"
          value={money(d.cost.projected_total)}
          note="At the rate of the last 7 days"
          testId="projected-total"
        />
        <Figure
          label="Upcoming invoice"
          value={
            d.upcoming_invoice ? formatMoney(d.upcoming_invoice.amount_due, d.upcoming_invoice.currency) : '—'
          }
          note={
            d.upcoming_invoice
              ? `Stripe's preview, due ${day(d.upcoming_invoice.period_end)}`
              : 'No subscription: nothing to invoice'
          }
          testId="upcoming-invoice"
        />
        <Figure
          label="Payment method"
          value={
            d.payment_method ? `${d.payment_method.brand.toUpperCase()} ···· ${d.payment_method.last4}` : '—'
          }
          note={
            d.payment_method
              ? `Expires ${String(d.payment_method.exp_month).padStart(2, '0')}/${d.payment_method.exp_year}`
              : 'None on file'
          }
          testId="payment-method"
        />
      </div>

      <Card title="Usage this period">
        <table class="w-full text-left text-sm" data-testid="usage-table">
          <thead class="text-xs text-slate-500">
            <tr>
              <th class={cellClass}>Metric</th>
              <th class={`${cellClass} text-right`}>Used</th>
              <th class={cellClass}>Quota</th>
            </tr>
          </thead>
          <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
            {d.usage.map((u) => (
              <tr data-testid={`usage-${u.metric}`}>
                <td class={cellClass}>
                  <span class="font-medium">{metricLabel(u.metric)}</span>
                  <span class="block text-xs text-slate-500">{u.description}</span>
                </td>
                <td class={`${cellClass} text-right tabular-nums`} data-testid={`usage-${u.metric}-quantity`}>
                  {formatQuantity(u.quantity)} {plural(u.unit, u.quantity)}
                </td>
                <td class={cellClass}>
                  {u.quota ? (
                    <div>
                      <QuotaBar percent={u.quota.percent} hard={u.quota.hard} />
                      <span class="text-xs text-slate-500">
                        of {formatQuantity(u.quota.limit)} {plural(u.unit, u.quota.limit)}
                      </span>
                    </div>
                  ) : (
                    <span class="text-xs text-slate-500">no quota</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>

      <div class="grid gap-6 lg:grid-cols-2">
        <Card>
          <TimeSeriesChart
            id="cumulative-cost"
            width={520}
            kind="line"
            title="Cost this period (cumulative)"
            description="Cost of the period through each day, plan price included, and the projection to the period's end."
            from={d.period.start}
            to={d.period.end}
            series={[
              {
                name: 'Cost so far',
                unit: d.currency.toUpperCase(),
                points: d.cost.cumulative.map((p) => ({ t: p.t, v: p.amount / 100 })),
              },
              ...(lastDay
                ? [
                    {
                      name: 'Projected',
                      unit: d.currency.toUpperCase(),
                      dashed: true,
                      points: [
                        { t: lastDay.t, v: lastDay.amount / 100 },
                        { t: d.period.end, v: d.cost.projected_total / 100 },
                      ],
                    },
                  ]
                : []),
            ]}
            formatValue={(v) => formatMoney(v * 100, d.currency)}
          />
        </Card>
        {d.daily_usage.map((series) => (
          <Card>
            <TimeSeriesChart
              id={`daily-${series.metric.replaceAll('_', '-')}`}
              width={520}
              kind="bar"
              title={`${metricLabel(series.metric)} per day`}
              description={`Daily ${series.metric.replaceAll('_', ' ')} this period (UTC days).`}
              from={d.period.start}
              to={d.period.end}
              stepMs={DAY_MS}
              series={[
                { name: metricLabel(series.metric), unit: plural(series.unit, 2), points: series.points },
              ]}
            />
          </Card>
        ))}
      </div>

      <div class="grid gap-6 lg:grid-cols-2">
        <Card title="Cost by resource type">
          <table class="w-full text-left text-sm" data-testid="cost-by-type">
            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
              {d.cost.by_resource_type.map((row) => (
                <tr>
                  <td class={cellClass}>{typeLabel(row.resource_type)}</td>
                  <td class={`${cellClass} text-right tabular-nums`}>{money(row.amount)}</td>
                </tr>
              ))}
              <tr class="font-medium">
                <td class={cellClass}>Plan ({d.plan.display_name})</td>
                <td class={`${cellClass} text-right tabular-nums`}>{money(d.cost.base_amount)}</td>
              </tr>
            </tbody>
          </table>
        </Card>
        <Card title="Cost by resource">
          {d.cost.by_resource.length === 0 ? (
            <p class="text-sm text-slate-600 dark:text-slate-300">No usage yet this period.</p>
          ) : (
            <table class="w-full text-left text-sm" data-testid="cost-by-resource">
              <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                {d.cost.by_resource.map((row) => (
                  <tr data-testid={`cost-resource-${row.resource_id ?? 'account'}`}>
                    <td class={cellClass}>
                      {row.name}
                      {row.deleted && <span class="ml-1 text-xs text-slate-500">(deleted)</span>}
                      {row.resource_id !== null && (
                        <span class="block text-xs text-slate-500">{typeLabel(row.resource_type)}</span>
                      )}
                    </td>
                    <td class={`${cellClass} text-right tabular-nums`}>{money(row.amount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>

      <div class="grid gap-6 lg:grid-cols-2">
        <Card title="Savings">
          {d.insights.length === 0 ? (
            <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="insights-none">
              Nothing to save that we can see: no idle or oversized resources.
            </p>
          ) : (
            <ul class="space-y-3" data-testid="insights">
              {d.insights.map((insight) => (
                <li data-testid={`insight-${insight.kind}`} class="text-sm">
                  <p class="flex justify-between gap-3 font-medium">
                    <span>{insight.title}</span>
                    {insight.monthly_savings > 0 && (
                      <span class="shrink-0 text-emerald-700 dark:text-emerald-400">
                        −{money(insight.monthly_savings)}/mo
                      </span>
                    )}
                  </p>
                  <p class="text-slate-600 dark:text-slate-300">{insight.detail}</p>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Upcoming invoice">
          {d.upcoming_invoice ? (
            <table class="w-full text-left text-sm" data-testid="upcoming-invoice-lines">
              <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                {d.upcoming_invoice.lines.map((line) => (
                  <tr>
                    <td class={cellClass}>{line.description ?? '—'}</td>
                    <td class={`${cellClass} text-right tabular-nums`}>
                      {formatMoney(line.amount, d.upcoming_invoice?.currency ?? d.currency)}
                    </td>
                  </tr>
                ))}
                <tr class="font-medium">
                  <td class={cellClass}>Amount due</td>
                  <td class={`${cellClass} text-right tabular-nums`}>
                    {formatMoney(d.upcoming_invoice.amount_due, d.upcoming_invoice.currency)}
                  </td>
                </tr>
              </tbody>
            </table>
          ) : (
            <p class="text-sm text-slate-600 dark:text-slate-300">
              Without a subscription there is no invoice: usage on this plan costs nothing.
            </p>
          )}
          <p class="mt-2 text-xs text-slate-500">
            Stripe's preview of the next invoice from the usage reported to it so far. It matches the cost so
            far above once the reporting job has sent the latest closed hours (every 5 minutes).
          </p>
        </Card>
      </div>

      <Card title="Reconciliation with Stripe">
        <Reconciliation dashboard={d} />
      </Card>
    </section>
  );
}

function Reconciliation(props: { dashboard: BillingDashboard }) {
  const r = props.dashboard.reconciliation;
  if (!r.checked_at)
    return (
      <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="reconciliation-status">
        Not checked yet: the reconciliation job compares our usage with Stripe's meters every hour once usage
        is reported.
      </p>
    );
  const drifting = r.periods.filter((p) => p.drift !== 0);
  return (
    <div>
      <p
        data-testid="reconciliation-status"
        class={`text-sm font-medium ${r.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-rose-700 dark:text-rose-400'}`}
      >
        {r.ok
          ? `In agreement with Stripe${drifting.length > 0 ? ' (apart from usage still being sent)' : ''}`
          : 'Stripe’s totals differ from ours: the drift below is not explained by usage still being sent, and is in the audit log.'}{' '}
        <span class="font-normal text-slate-500">
          · checked {r.checked_at.toISOString().slice(0, 16).replace('T', ' ')} UTC
        </span>
      </p>
      {drifting.length > 0 && (
        <table class="mt-3 w-full text-left text-sm" data-testid="reconciliation-drift">
          <thead class="text-xs text-slate-500">
            <tr>
              <th class={cellClass}>Meter</th>
              <th class={cellClass}>Day</th>
              <th class={`${cellClass} text-right`}>Ours</th>
              <th class={`${cellClass} text-right`}>Stripe</th>
              <th class={`${cellClass} text-right`}>Being sent</th>
              <th class={`${cellClass} text-right`}>Unexplained</th>
            </tr>
          </thead>
          <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
            {drifting.map((p) => (
              <tr>
                <td class={cellClass}>{p.meter}</td>
                <td class={cellClass}>{day(p.period_start)}</td>
                <td class={`${cellClass} text-right tabular-nums`}>{formatQuantity(p.ours)}</td>
                <td class={`${cellClass} text-right tabular-nums`}>{formatQuantity(p.stripe)}</td>
                <td class={`${cellClass} text-right tabular-nums`}>{formatQuantity(p.unsent)}</td>
                <td
                  class={`${cellClass} text-right tabular-nums ${p.unexplained !== 0 ? 'font-semibold text-rose-700' : ''}`}
                >
                  {formatQuantity(p.unexplained)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
