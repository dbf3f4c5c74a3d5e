import type { InvoiceRow, SubscriptionRow } from '../../db/billing.repository.ts';
import type { Plan } from '../../schemas/plans.ts';
import type { BillingDashboard } from '../../services/billing/dashboard.ts';
import type { PlanChangePreview } from '../../services/billing/subscriptions.ts';
import { Button, Card, FormAlert, PageHeader } from '../components/form.tsx';
import { BillingDashboardSection } from './billing-dashboard.tsx';

export interface BillingView {
  /** Where this account's billing pages live: /organizations/:id/billing or /projects/:id/billing. */
  base: string;
  scopeName: string;
  tabs: unknown;
  enabled: boolean;
  plan: Plan;
  plans: Plan[];
  subscription: SubscriptionRow | null;
  invoices: InvoiceRow[];
  usage: { projects: number | null; resources: number };
  pastDueSince: Date | null;
  suspended: boolean;
  graceDays: number;
  canManage: boolean;
  /** Usage, cost, projections, invoice preview, payment method, insights. */
  dashboard: BillingDashboard;
  alert?: string;
}

function money(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(
    amount / 100,
  );
}

function day(date: Date | null): string {
  return date ? date.toISOString().slice(0, 10) : '—';
}

function PlanCard(props: { plan: Plan; view: BillingView }) {
  const { plan, view } = props;
  const current = plan.id === view.plan.id;
  const subscribed = view.subscription !== null;
  return (
    <div
      class={`rounded-lg border p-4 ${current ? 'border-indigo-500 ring-1 ring-indigo-500' : 'border-slate-200 dark:border-slate-800'}`}
      data-plan={plan.id}
    >
      <p class="font-semibold">
        {plan.display_name}
        {current && <span class="ml-2 text-xs font-medium text-indigo-600">current</span>}
      </p>
      <p class="text-sm text-slate-600 dark:text-slate-300">{plan.description}</p>
      <p class="mt-2 text-lg font-semibold">
        {plan.base_price ? `${money(plan.base_price.unit_amount, plan.currency)} / month` : 'Free'}
        {Object.keys(plan.metered).length > 0 && (
          <span class="text-sm font-normal text-slate-500"> + usage</span>
        )}
      </p>
      <ul class="mt-2 list-disc pl-5 text-xs text-slate-600 dark:text-slate-400">
        {plan.features.map((feature) => (
          <li>{feature}</li>
        ))}
      </ul>
      {view.enabled && view.canManage && !current && plan.base_price && (
        <div class="mt-3">
          {subscribed ? (
            <a
              href={`${view.base}/change?plan=${plan.id}`}
              class="text-sm font-medium text-indigo-700 hover:underline dark:text-indigo-300"
            >
              Change to {plan.display_name}…
            </a>
          ) : (
            <form method="post" action={`${view.base}/checkout`}>
              <input type="hidden" name="plan" value={plan.id} />
              <Button>Subscribe to {plan.display_name}</Button>
            </form>
          )}
        </div>
      )}
    </div>
  );
}

/** The billing page of an organization (or a project that pays for itself). */
export function BillingPage(view: BillingView) {
  const sub = view.subscription;
  return (
    <div>
      <PageHeader title="Billing" eyebrow={view.scopeName} />
      {view.tabs as never}
      <FormAlert message={view.alert} />
      {!view.enabled && (
        <p
          role="status"
          class="mb-6 rounded-md bg-slate-100 px-3 py-2 text-sm text-slate-700 dark:bg-slate-800 dark:text-slate-300"
          data-testid="billing-off"
        >
          Billing is not configured on this installation (no Stripe key), so there is nothing to pay: everyone
          is on the {view.plan.display_name} plan.
        </p>
      )}
      {view.pastDueSince && (
        <p
          role="alert"
          class="mb-6 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200"
        >
          {view.suspended
            ? 'Paid resources are suspended because an invoice is unpaid. They come back as soon as it is paid.'
            : `An invoice is unpaid since ${day(view.pastDueSince)}. Update the payment method within ${view.graceDays} days of that, or paid resources are suspended.`}
        </p>
      )}
      <BillingDashboardSection dashboard={view.dashboard} base={view.base} />
      <div class="mt-6 grid gap-6 lg:grid-cols-3">
        <Card title="Plan">
          <dl class="grid grid-cols-2 gap-y-1 text-sm" data-testid="billing-plan">
            <dt class="text-slate-500">Plan</dt>
            <dd data-testid="current-plan">{view.plan.display_name}</dd>
            <dt class="text-slate-500">Subscription</dt>
            <dd data-testid="subscription-status">{sub ? sub.status : 'none'}</dd>
            {sub && (
              <>
                <dt class="text-slate-500">Current period</dt>
                <dd>
                  {day(sub.current_period_start)} – {day(sub.current_period_end)}
                </dd>
                <dt class="text-slate-500">Renews</dt>
                <dd data-testid="renews">
                  {sub.cancel_at_period_end ? `no — ends ${day(sub.current_period_end)}` : 'yes'}
                </dd>
              </>
            )}
            {view.usage.projects !== null && (
              <>
                <dt class="text-slate-500">Projects</dt>
                <dd>
                  {view.usage.projects} of {view.plan.limits.projects}
                </dd>
              </>
            )}
            <dt class="text-slate-500">Resources</dt>
            <dd>
              {view.usage.resources} of {view.plan.limits.resources}
            </dd>
          </dl>
          {view.enabled && view.canManage && sub && (
            <div class="mt-4 flex flex-wrap gap-2">
              <form method="post" action={`${view.base}/portal`}>
                <Button variant="secondary">Payment methods and invoices</Button>
              </form>
              <form method="post" action={`${view.base}/${sub.cancel_at_period_end ? 'resume' : 'cancel'}`}>
                <Button variant="secondary">
                  {sub.cancel_at_period_end ? 'Keep the subscription' : 'Cancel at period end'}
                </Button>
              </form>
            </div>
          )}
        </Card>
        <div class="lg:col-span-2">
          <Card title="Plans">
            <div class="grid gap-4 md:grid-cols-3">
              {view.plans.map((plan) => (
                <PlanCard plan={plan} view={view} />
              ))}
            </div>
          </Card>
        </div>
      </div>
      <div class="mt-6">
        <Card title="Invoices">
          {view.invoices.length === 0 ? (
            <p class="text-sm text-slate-600 dark:text-slate-300">No invoices yet.</p>
          ) : (
            <table class="w-full text-left text-sm" data-testid="invoices">
              <thead class="text-xs text-slate-500">
                <tr>
                  <th class="py-1">Number</th>
                  <th class="py-1">Date</th>
                  <th class="py-1">Status</th>
                  <th class="py-1 text-right">Amount</th>
                  <th class="py-1" />
                </tr>
              </thead>
              <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                {view.invoices.map((invoice) => (
                  <tr>
                    <td class="py-1">{invoice.number ?? invoice.stripe_invoice_id}</td>
                    <td class="py-1">{day(invoice.created_at)}</td>
                    <td class="py-1">{invoice.status}</td>
                    <td class="py-1 text-right tabular-nums">
                      {money(invoice.amount_due, invoice.currency)}
                    </td>
                    <td class="py-1 text-right">
                      {invoice.hosted_invoice_url && (
                        <a
                          href={invoice.hosted_invoice_url}
                          class="text-indigo-700 hover:underline dark:text-indigo-300"
                        >
                          View
                        </a>
                      )}
                      {invoice.invoice_pdf && (
                        <a
                          href={invoice.invoice_pdf}
                          class="ml-3 text-indigo-700 hover:underline dark:text-indigo-300"
                        >
                          PDF
                        </a>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </div>
  );
}

export interface ActivationView {
  base: string;
  plan: string;
  status: string | null;
  active: boolean;
}

/** The status line the success page polls until the webhook has confirmed the subscription. */
export function ActivationStatus(view: ActivationView) {
  return view.active ? (
    <p id="activation" role="status" class="text-emerald-700 dark:text-emerald-300" data-testid="activation">
      Your {view.plan} plan is active.{' '}
      <a href={view.base} class="underline">
        Back to billing
      </a>
    </p>
  ) : (
    <p
      id="activation"
      role="status"
      hx-get={`${view.base}/status`}
      hx-trigger="every 1s"
      hx-swap="outerHTML"
      class="text-slate-700 dark:text-slate-300"
      data-testid="activation"
    >
      Activating… Stripe has taken the payment; waiting for its confirmation.
    </p>
  );
}

export function CheckoutSuccessPage(view: ActivationView & { scopeName: string }) {
  return (
    <div class="mx-auto max-w-xl">
      <PageHeader title="Thank you" eyebrow={view.scopeName} />
      <Card>
        <ActivationStatus {...view} />
      </Card>
    </div>
  );
}

export function PlanChangePage(view: {
  base: string;
  scopeName: string;
  preview: PlanChangePreview;
  plan: Plan;
}) {
  return (
    <div class="mx-auto max-w-2xl">
      <PageHeader title={`Change to ${view.plan.display_name}`} eyebrow={view.scopeName} />
      <Card title="Your next invoice with this change">
        <table class="w-full text-sm" data-testid="proration-preview">
          <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
            {view.preview.lines.map((line) => (
              <tr>
                <td class="py-1">
                  {line.description ?? 'Line'}
                  {line.proration && <span class="ml-2 text-xs text-slate-500">(prorated)</span>}
                </td>
                <td class="py-1 text-right tabular-nums">{money(line.amount, view.preview.currency)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr class="font-semibold">
              <td class="py-1">Amount due</td>
              <td class="py-1 text-right tabular-nums" data-testid="amount-due">
                {money(view.preview.amount_due, view.preview.currency)}
              </td>
            </tr>
          </tfoot>
        </table>
        <form method="post" action={`${view.base}/change`} class="mt-4 flex items-center gap-4">
          <input type="hidden" name="plan" value={view.plan.id} />
          <Button>Confirm the change</Button>
          <a href={view.base} class="text-sm text-slate-600 hover:underline dark:text-slate-300">
            Cancel
          </a>
        </form>
      </Card>
    </div>
  );
}
