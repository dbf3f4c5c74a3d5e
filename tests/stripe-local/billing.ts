import type Stripe from 'stripe';
import { formatDate, formatMoney } from './format.ts';
import {
  amountFor,
  decimal,
  findPrice,
  isMetered,
  planOf,
  productIdOf,
  productName,
} from './resources/catalog.ts';
import { updateCustomer } from './resources/customers.ts';
import { aggregateUsage } from './resources/meters.ts';
import type { Store } from './store.ts';
import { newId, previousAttributes } from './store.ts';
import { invalidRequest, resourceMissing, StripeApiError, toJson } from './wire.ts';

/**
 * The subscription engine: periods (on the movable clock), invoices and their payment,
 * prorations on plan changes, previews, renewals with metered usage billed in arrears,
 * cancellation at period end or at once, failed payments with retries. Every state change
 * emits the events Stripe emits for it, in Stripe's order.
 */

export interface BillingOptions {
  /** What happens when the last automatic payment retry fails (Stripe's default setting cancels). */
  afterFinalPaymentFailure: 'cancel' | 'unpaid' | 'past_due';
  /** Days after the first failed attempt at which payment is retried automatically. */
  retryDays: readonly number[];
}

export type ProrationBehavior = 'create_prorations' | 'always_invoice' | 'none';

/** One entry of a subscription update's or preview's `items[]`. */
export interface ItemChange {
  id?: string;
  price?: string;
  quantity?: number;
  deleted?: boolean;
  /** The parameter path, for errors (`items[0]`). */
  param: string;
}

/** What `subscriptions.update` changes (absent fields stay as they are). */
export interface SubscriptionUpdate {
  changes: readonly ItemChange[];
  behavior: ProrationBehavior;
  prorationDate: number;
  cancelAtPeriodEnd?: boolean;
  metadata?: Stripe.Metadata;
  description?: string | null;
  cancellationDetails?: {
    comment?: string | null;
    feedback?: Stripe.Subscription.CancellationDetails.Feedback | null;
  };
}

interface PlannedItem {
  id: string;
  price: Stripe.Price;
  quantity: number | undefined;
  existing: Stripe.SubscriptionItem | undefined;
}

interface LineSpec {
  amount: number;
  description: string;
  price: Stripe.Price;
  quantity: number;
  period: { start: number; end: number };
  proration: boolean;
  subscriptionItem: string;
}

interface ItemPlan {
  items: PlannedItem[];
  prorations: LineSpec[];
}

const DAY = 86_400;

/** End of period `index` of a subscription anchored at `anchor` (month ends clamp, like Stripe). */
export function periodBoundary(anchor: number, index: number, interval: string, count: number): number {
  if (interval === 'day') return anchor + index * count * DAY;
  if (interval === 'week') return anchor + index * count * 7 * DAY;
  const months = index * count * (interval === 'year' ? 12 : 1);
  const start = new Date(anchor * 1000);
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(start.getUTCDate(), lastDay);
  return Date.UTC(year, month, day, start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds()) / 1000;
}

export function customerIdOf(value: string | Stripe.Customer | Stripe.DeletedCustomer | null): string {
  if (value === null) throw new Error('stripe-local: object has no customer');
  return typeof value === 'string' ? value : value.id;
}

export function subscriptionIdOfInvoice(invoice: Stripe.Invoice): string | null {
  const subscription = invoice.parent?.subscription_details?.subscription;
  if (!subscription) return null;
  return typeof subscription === 'string' ? subscription : subscription.id;
}

export class Billing {
  constructor(
    private readonly store: Store,
    private readonly baseUrl: () => string,
    private readonly options: BillingOptions,
  ) {}

  // ---------------------------------------------------------------- subscriptions

  /** The current period, from the first item (API 2025+: periods live on the items). */
  currentPeriod(subscription: Stripe.Subscription): { start: number; end: number } {
    const first = subscription.items.data[0];
    if (!first) throw new Error(`stripe-local: subscription ${subscription.id} has no items`);
    return { start: first.current_period_start, end: first.current_period_end };
  }

  /**
   * Creates an active subscription whose first invoice is paid at once (what a completed
   * Checkout Session does). Events: customer.subscription.created (incomplete), invoice.created,
   * invoice.finalized, invoice.paid, invoice.payment_succeeded, customer.subscription.updated (active).
   */
  createSubscription(input: {
    customer: Stripe.Customer;
    items: { price: Stripe.Price; quantity?: number }[];
    metadata: Stripe.Metadata;
    description: string | null;
  }): { subscription: Stripe.Subscription; invoice: Stripe.Invoice } {
    const now = this.store.now();
    const first = input.items[0];
    if (!first) throw invalidRequest('A subscription needs at least one item.', 'items');
    const recurring = first.price.recurring;
    if (!recurring) throw invalidRequest(`The price ${first.price.id} is not recurring.`, 'items');
    const id = newId('sub');
    const end = periodBoundary(now, 1, recurring.interval, recurring.interval_count);
    const items = input.items.map((item) => this.buildItem(id, item.price, item.quantity, now, end));
    const subscription: Stripe.Subscription = {
      id,
      object: 'subscription',
      application: null,
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: now,
      billing_cycle_anchor_config: null,
      billing_mode: { flexible: { proration_discounts: 'included' }, type: 'flexible', updated_at: now },
      billing_schedules: [],
      billing_thresholds: null,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
      collection_method: 'charge_automatically',
      created: now,
      currency: first.price.currency,
      customer: input.customer.id,
      customer_account: null,
      days_until_due: null,
      default_payment_method: null,
      default_source: null,
      default_tax_rates: [],
      description: input.description,
      discounts: [],
      ended_at: null,
      invoice_settings: {
        account_tax_ids: null,
        custom_fields: null,
        description: null,
        footer: null,
        issuer: { type: 'self' },
      },
      items: {
        object: 'list',
        data: items,
        has_more: false,
        url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: null,
      livemode: false,
      managed_payments: null,
      metadata: input.metadata,
      next_pending_invoice_item_invoice: null,
      on_behalf_of: null,
      pause_collection: null,
      payment_settings: {
        payment_method_options: null,
        payment_method_types: null,
        save_default_payment_method: 'off',
      },
      pending_invoice_item_interval: null,
      pending_setup_intent: null,
      pending_update: null,
      schedule: null,
      start_date: now,
      status: 'incomplete',
      test_clock: null,
      transfer_data: null,
      trial_end: null,
      trial_settings: {
        end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' },
      },
      trial_start: null,
    };
    this.store.subscriptions.set(id, subscription);
    this.store.subscriptionState.set(id, { anchor: now, periodIndex: 0, pendingLines: [] });

    const invoice = this.newInvoice(input.customer, subscription, 'subscription_create', {
      start: now,
      end: now,
    });
    this.setLines(invoice, [
      ...this.licensedLines(subscription.id, planFromItems(subscription), { start: now, end }),
      ...this.meteredLines(subscription, planFromItems(subscription), { start: now, end }, 0),
    ]);
    subscription.latest_invoice = invoice.id;
    this.store.emit('customer.subscription.created', subscription);
    this.store.invoices.set(invoice.id, invoice);
    this.store.emit('invoice.created', invoice);
    this.finalize(invoice);
    this.markPaid(invoice);
    this.updateSubscription(subscription, (target) => {
      target.status = 'active';
    });
    return { subscription, invoice };
  }

  private buildItem(
    subscriptionId: string,
    price: Stripe.Price,
    quantity: number | undefined,
    start: number,
    end: number,
    id = newId('si', 14),
  ): Stripe.SubscriptionItem {
    const item: Stripe.SubscriptionItem = {
      id,
      object: 'subscription_item',
      billing_thresholds: null,
      created: this.store.now(),
      current_period_end: end,
      current_period_start: start,
      current_trial: null,
      discounts: [],
      metadata: {},
      plan: planOf(price),
      price,
      subscription: subscriptionId,
      tax_rates: [],
    };
    if (!isMetered(price)) item.quantity = quantity ?? 1;
    return item;
  }

  /** Applies `change` and emits `customer.subscription.updated` when anything changed. */
  updateSubscription(
    subscription: Stripe.Subscription,
    change: (subscription: Stripe.Subscription) => void,
  ): void {
    const before = toJson(subscription);
    change(subscription);
    const changed = previousAttributes(before, subscription);
    if (Object.keys(changed).length > 0)
      this.store.emit('customer.subscription.updated', subscription, changed);
  }

  assertNotCanceled(subscription: Stripe.Subscription): void {
    if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') {
      throw invalidRequest(
        'A canceled subscription can only update its cancellation_details and metadata.',
        undefined,
        'invalid_canceled_subscription_fields',
      );
    }
  }

  /**
   * Plans an `items[]` change without touching anything: the resulting items and the proration
   * lines (unused time credited, remaining time charged, by the fraction of the period left at
   * `prorationDate`). Metered items are never prorated (their usage is billed in arrears).
   */
  planItems(
    subscription: Stripe.Subscription,
    changes: readonly ItemChange[],
    prorationDate: number,
    /** False to plan removing every item (the credits of an immediate cancellation). */
    validate = true,
  ): ItemPlan {
    const period = this.currentPeriod(subscription);
    const fraction = Math.min(1, Math.max(0, (period.end - prorationDate) / (period.end - period.start)));
    const plan = planFromItems(subscription);
    const prorations: LineSpec[] = [];
    const prorate = (price: Stripe.Price, quantity: number, item: string, credit: boolean) => {
      if (isMetered(price)) return;
      const amount = Math.round(amountFor(price, quantity) * fraction);
      const what = `${quantity > 1 ? `${quantity} × ` : ''}${productName(this.store, price)}`;
      prorations.push({
        amount: credit ? -amount : amount,
        description: `${credit ? 'Unused' : 'Remaining'} time on ${what} after ${formatDate(prorationDate)}`,
        price,
        quantity,
        period: { start: prorationDate, end: period.end },
        proration: true,
        subscriptionItem: item,
      });
    };
    for (const change of changes) {
      if (change.id) {
        const index = plan.items.findIndex((item) => item.id === change.id);
        const current = plan.items[index];
        if (!current) throw resourceMissing('subscription item', change.id, `${change.param}[id]`);
        if (change.deleted) {
          prorate(current.price, current.quantity ?? 1, current.id, true);
          plan.items.splice(index, 1);
          continue;
        }
        const price = change.price
          ? findPrice(this.store, change.price, `${change.param}[price]`)
          : current.price;
        const quantity = isMetered(price) ? undefined : (change.quantity ?? current.quantity ?? 1);
        if (change.quantity !== undefined && isMetered(price)) {
          throw invalidRequest(
            'Quantity should not be specified where usage_type is `metered`.',
            `${change.param}[quantity]`,
          );
        }
        if (price.id !== current.price.id || quantity !== current.quantity) {
          prorate(current.price, current.quantity ?? 1, current.id, true);
          prorate(price, quantity ?? 1, current.id, false);
        }
        plan.items[index] = { ...current, price, quantity };
      } else {
        if (change.deleted) throw invalidRequest('An item to delete needs its id.', `${change.param}[id]`);
        if (!change.price)
          throw invalidRequest(
            `Missing required param: ${change.param}[price].`,
            `${change.param}[price]`,
            'parameter_missing',
          );
        const price = findPrice(this.store, change.price, `${change.param}[price]`);
        if (change.quantity !== undefined && isMetered(price)) {
          throw invalidRequest(
            'Quantity should not be specified where usage_type is `metered`.',
            `${change.param}[quantity]`,
          );
        }
        const quantity = isMetered(price) ? undefined : (change.quantity ?? 1);
        const id = newId('si', 14);
        prorate(price, quantity ?? 1, id, false);
        plan.items.push({ id, price, quantity, existing: undefined });
      }
    }
    if (validate) validateItems(plan.items, subscription.currency);
    plan.prorations = prorations;
    return plan;
  }

  /**
   * `subscriptions.update`: one `customer.subscription.updated` event for all the changes. Item
   * changes prorate by `behavior`: `create_prorations` keeps the proration lines for the next
   * invoice, `always_invoice` invoices them at once, `none` drops them. A canceled subscription
   * only takes metadata and cancellation details, as Stripe allows.
   */
  applyUpdate(subscription: Stripe.Subscription, update: SubscriptionUpdate): void {
    const canceled = subscription.status === 'canceled' || subscription.status === 'incomplete_expired';
    if (
      canceled &&
      (update.changes.length > 0 ||
        update.cancelAtPeriodEnd !== undefined ||
        update.description !== undefined)
    ) {
      this.assertNotCanceled(subscription);
    }
    const period = this.currentPeriod(subscription);
    let plan: ItemPlan | null = null;
    if (update.changes.length > 0) {
      if (update.prorationDate < period.start || update.prorationDate > period.end) {
        throw invalidRequest(
          "The proration_date must be within the subscription's current billing period.",
          'proration_date',
        );
      }
      plan = this.planItems(subscription, update.changes, update.prorationDate);
    }
    const now = this.store.now();
    // An invoice issued at once becomes the latest in the same `customer.subscription.updated`.
    const invoiceNow =
      plan && update.behavior === 'always_invoice' && plan.prorations.length > 0
        ? this.newInvoice(this.customerOf(subscription), subscription, 'subscription_update', {
            start: now,
            end: now,
          })
        : null;
    this.updateSubscription(subscription, (target) => {
      if (invoiceNow) target.latest_invoice = invoiceNow.id;
      if (plan) {
        target.items.data = plan.items.map((item) => {
          if (!item.existing) {
            return this.buildItem(target.id, item.price, item.quantity, period.start, period.end, item.id);
          }
          const existing = item.existing;
          existing.price = item.price;
          existing.plan = planOf(item.price);
          if (item.quantity === undefined) delete existing.quantity;
          else existing.quantity = item.quantity;
          return existing;
        });
      }
      if (update.metadata !== undefined) target.metadata = update.metadata;
      if (update.description !== undefined) target.description = update.description;
      const cancel = update.cancelAtPeriodEnd;
      if (cancel !== undefined && cancel !== target.cancel_at_period_end) {
        target.cancel_at_period_end = cancel;
        target.cancel_at = cancel ? period.end : null;
        target.canceled_at = cancel ? now : null;
        target.cancellation_details = {
          comment: null,
          feedback: null,
          feedback_option: null,
          reason: cancel ? 'cancellation_requested' : null,
        };
      }
      if (update.cancellationDetails) {
        const details = target.cancellation_details ?? {
          comment: null,
          feedback: null,
          feedback_option: null,
          reason: null,
        };
        target.cancellation_details = {
          ...details,
          ...(update.cancellationDetails.comment !== undefined
            ? { comment: update.cancellationDetails.comment }
            : {}),
          ...(update.cancellationDetails.feedback !== undefined
            ? { feedback: update.cancellationDetails.feedback }
            : {}),
        };
      }
    });
    if (!plan || update.behavior === 'none' || plan.prorations.length === 0) return;
    const state = this.store.stateOfSubscription(subscription.id);
    const lines = plan.prorations.map((spec) => this.buildLine(null, subscription.id, spec));
    if (!invoiceNow) {
      state.pendingLines.push(...lines);
      return;
    }
    const invoice = invoiceNow;
    if (invoice.parent?.subscription_details)
      invoice.parent.subscription_details.metadata = subscription.metadata;
    this.setLines(invoice, [...state.pendingLines, ...lines]);
    state.pendingLines = [];
    this.issue(invoice, subscription);
  }

  /** Cancels at once (`DELETE /v1/subscriptions/:id`), optionally invoicing usage and prorations now. */
  cancelNow(
    subscription: Stripe.Subscription,
    options: {
      invoiceNow: boolean;
      prorate: boolean;
      reason?: Stripe.Subscription.CancellationDetails.Reason;
      comment?: string | null;
      feedback?: Stripe.Subscription.CancellationDetails.Feedback | null;
    },
  ): void {
    if (subscription.status === 'canceled') {
      throw invalidRequest('This subscription has already been canceled.', undefined, 'resource_missing');
    }
    const now = this.store.now();
    const period = this.currentPeriod(subscription);
    const state = this.store.stateOfSubscription(subscription.id);
    const plan = planFromItems(subscription);
    const credits: LineSpec[] = options.prorate
      ? this.planItems(
          subscription,
          plan.items.map((item, index) => ({ id: item.id, deleted: true, param: `items[${index}]` })),
          now,
          false,
        ).prorations
      : [];
    const before = toJson(subscription);
    subscription.status = 'canceled';
    subscription.canceled_at = subscription.canceled_at ?? now;
    subscription.ended_at = now;
    subscription.cancellation_details = {
      comment: options.comment ?? subscription.cancellation_details?.comment ?? null,
      feedback: options.feedback ?? subscription.cancellation_details?.feedback ?? null,
      feedback_option: null,
      reason: options.reason ?? 'cancellation_requested',
    };
    this.store.emit('customer.subscription.deleted', subscription, previousAttributes(before, subscription));
    const customer = this.customerOf(subscription);
    if (options.invoiceNow) {
      const invoice = this.newInvoice(customer, subscription, 'subscription_cycle', {
        start: period.start,
        end: now,
      });
      this.setLines(invoice, [
        ...state.pendingLines,
        ...credits.map((spec) => this.buildLine(invoice.id, subscription.id, spec)),
        ...this.meteredLines(subscription, plan, { start: period.start, end: now }),
      ]);
      this.issue(invoice, subscription);
    } else if (credits.length > 0) {
      const credit = credits.reduce((sum, spec) => sum + spec.amount, 0);
      updateCustomer(this.store, customer, (target) => {
        target.balance += credit;
      });
    }
    state.pendingLines = [];
  }

  // ---------------------------------------------------------------- invoices

  private customerOf(subscription: Stripe.Subscription): Stripe.Customer {
    const id = customerIdOf(subscription.customer);
    const customer = this.store.customer(id);
    if (!customer) throw new Error(`stripe-local: customer ${id} of ${subscription.id} is gone`);
    return customer;
  }

  /** A draft invoice (not stored); `preview` makes the id an `upcoming_in_…` one. */
  newInvoice(
    customer: Stripe.Customer,
    subscription: Stripe.Subscription | null,
    billingReason: Stripe.Invoice.BillingReason,
    period: { start: number; end: number },
    preview = false,
  ): Stripe.Invoice {
    const id = preview ? newId('upcoming_in') : newId('in');
    return {
      id,
      object: 'invoice',
      account_country: 'US',
      account_name: 'stripe-local',
      account_tax_ids: null,
      amount_due: 0,
      amount_overpaid: 0,
      amount_paid: 0,
      amount_remaining: 0,
      amount_shipping: 0,
      application: null,
      attempt_count: 0,
      attempted: false,
      auto_advance: !preview,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
      automatically_finalizes_at: null,
      billing_reason: billingReason,
      collection_method: 'charge_automatically',
      created: this.store.now(),
      currency: subscription?.currency ?? 'usd',
      custom_fields: null,
      customer: customer.id,
      customer_account: null,
      customer_address: customer.address ?? null,
      customer_email: customer.email,
      customer_name: customer.name ?? null,
      customer_phone: customer.phone ?? null,
      customer_shipping: null,
      customer_tax_exempt: 'none',
      customer_tax_ids: [],
      default_payment_method: null,
      default_source: null,
      default_tax_rates: [],
      description: null,
      discounts: [],
      due_date: null,
      effective_at: null,
      ending_balance: null,
      footer: null,
      from_invoice: null,
      hosted_invoice_url: null,
      invoice_pdf: null,
      issuer: { type: 'self' },
      last_finalization_error: null,
      latest_revision: null,
      lines: { object: 'list', data: [], has_more: false, url: `/v1/invoices/${id}/lines` },
      livemode: false,
      metadata: {},
      next_payment_attempt: null,
      number: null,
      on_behalf_of: null,
      parent: subscription
        ? {
            quote_details: null,
            subscription_details: { metadata: subscription.metadata, subscription: subscription.id },
            type: 'subscription_details',
          }
        : null,
      payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
      period_end: period.end,
      period_start: period.start,
      post_payment_credit_notes_amount: 0,
      pre_payment_credit_notes_amount: 0,
      receipt_number: null,
      rendering: null,
      shipping_cost: null,
      shipping_details: null,
      starting_balance: customer.balance,
      statement_descriptor: null,
      status: 'draft',
      status_transitions: {
        finalized_at: null,
        marked_uncollectible_at: null,
        paid_at: null,
        voided_at: null,
      },
      subtotal: 0,
      subtotal_excluding_tax: 0,
      test_clock: null,
      total: 0,
      total_discount_amounts: [],
      total_excluding_tax: 0,
      total_pretax_credit_amounts: [],
      total_taxes: [],
      webhooks_delivered_at: null,
    };
  }

  /** Sets the lines and totals; `amount_due` nets the customer's balance (credit) as Stripe does. */
  setLines(invoice: Stripe.Invoice, lines: Stripe.InvoiceLineItem[]): void {
    for (const line of lines) line.invoice = invoice.id;
    invoice.lines.data = lines;
    const total = lines.reduce((sum, line) => sum + line.amount, 0);
    invoice.subtotal = total;
    invoice.subtotal_excluding_tax = total;
    invoice.total = total;
    invoice.total_excluding_tax = total;
    const net = total + invoice.starting_balance;
    invoice.amount_due = Math.max(0, net);
    invoice.amount_remaining = invoice.amount_due;
  }

  buildLine(invoiceId: string | null, subscriptionId: string | null, spec: LineSpec): Stripe.InvoiceLineItem {
    const unit = spec.price.unit_amount ?? Number(String(spec.price.unit_amount_decimal ?? '0'));
    return {
      id: newId('il'),
      object: 'line_item',
      amount: spec.amount,
      currency: spec.price.currency,
      description: spec.description,
      discount_amounts: [],
      discountable: !spec.proration,
      discounts: [],
      invoice: invoiceId,
      livemode: false,
      metadata: {},
      parent: {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: spec.proration ? newId('ii') : null,
          proration: spec.proration,
          proration_details: { credited_items: null },
          subscription: subscriptionId,
          subscription_item: spec.subscriptionItem,
        },
        type: 'subscription_item_details',
      },
      period: spec.period,
      pretax_credit_amounts: [],
      pricing: {
        price_details: { price: spec.price.id, product: productIdOf(spec.price) },
        type: 'price_details',
        unit_amount_decimal: decimal(unit),
      },
      quantity: spec.quantity,
      quantity_decimal: decimal(spec.quantity),
      subscription: subscriptionId,
      subtotal: spec.amount,
      taxes: [],
    };
  }

  private licensedLines(
    subscriptionId: string | null,
    plan: ItemPlan,
    period: { start: number; end: number },
  ): Stripe.InvoiceLineItem[] {
    return plan.items
      .filter((item) => !isMetered(item.price))
      .map((item) => {
        const quantity = item.quantity ?? 1;
        const recurring = item.price.recurring;
        const unit = item.price.unit_amount ?? Number(String(item.price.unit_amount_decimal ?? '0'));
        const every = recurring
          ? `${recurring.interval_count > 1 ? `${recurring.interval_count} ` : ''}${recurring.interval}`
          : '';
        return this.buildLine(null, subscriptionId, {
          amount: amountFor(item.price, quantity),
          description: `${quantity} × ${productName(this.store, item.price)} (at ${formatMoney(unit, item.price.currency)}${every ? ` / ${every}` : ''})`,
          price: item.price,
          quantity,
          period,
          proration: false,
          subscriptionItem: item.id,
        });
      });
  }

  /** Usage lines of metered items for `period` (quantity from the meter, unless given). */
  private meteredLines(
    subscription: Stripe.Subscription,
    plan: ItemPlan,
    period: { start: number; end: number },
    fixedQuantity?: number,
  ): Stripe.InvoiceLineItem[] {
    const customer = customerIdOf(subscription.customer);
    return plan.items
      .filter((item) => isMetered(item.price))
      .map((item) => {
        const meterId = item.price.recurring?.meter;
        const meter = meterId ? this.store.meters.get(meterId) : undefined;
        const usage =
          fixedQuantity ??
          (meter ? aggregateUsage(this.store, meter, customer, period.start, period.end) : 0);
        return this.buildLine(null, subscription.id, {
          amount: amountFor(item.price, usage),
          description: `${productName(this.store, item.price)} (usage)`,
          price: item.price,
          quantity: usage,
          period,
          proration: false,
          subscriptionItem: item.id,
        });
      });
  }

  /** Draft → open: number, hosted URLs, `invoice.finalized`. */
  finalize(invoice: Stripe.Invoice): void {
    const customerId = customerIdOf(invoice.customer);
    const customer = this.store.customer(customerId);
    const state = this.store.stateOfCustomer(customerId);
    const now = this.store.now();
    invoice.number = `${customer?.invoice_prefix ?? 'LOCAL'}-${String(state.nextInvoiceNumber).padStart(4, '0')}`;
    state.nextInvoiceNumber += 1;
    if (customer) customer.next_invoice_sequence = state.nextInvoiceNumber;
    invoice.status = 'open';
    invoice.effective_at = now;
    invoice.status_transitions.finalized_at = now;
    invoice.hosted_invoice_url = `${this.baseUrl()}/i/${invoice.id}`;
    invoice.invoice_pdf = `${this.baseUrl()}/i/${invoice.id}/pdf`;
    const net = invoice.total + invoice.starting_balance;
    invoice.ending_balance = Math.min(0, net);
    if (customer && customer.balance !== invoice.ending_balance) {
      const ending = invoice.ending_balance;
      updateCustomer(this.store, customer, (target) => {
        target.balance = ending;
      });
    }
    this.store.emit('invoice.finalized', invoice);
  }

  /** Stores, finalizes and charges an invoice of `subscription`, and makes it the latest. */
  private issue(invoice: Stripe.Invoice, subscription: Stripe.Subscription): void {
    this.store.invoices.set(invoice.id, invoice);
    this.store.emit('invoice.created', invoice);
    this.finalize(invoice);
    if (subscription.status !== 'canceled') {
      this.updateSubscription(subscription, (target) => {
        target.latest_invoice = invoice.id;
      });
    } else {
      subscription.latest_invoice = invoice.id;
    }
    this.attemptPayment(invoice, 'automatic');
  }

  /**
   * Charges an open invoice with the customer's saved card. `automatic` attempts follow the
   * retry schedule; `manual` ones (`invoices.pay`, the portal) do not move it. Answers whether
   * the invoice is paid.
   */
  attemptPayment(invoice: Stripe.Invoice, kind: 'automatic' | 'manual'): boolean {
    if (invoice.status !== 'open') return invoice.status === 'paid';
    const customerId = customerIdOf(invoice.customer);
    const outcome = this.store.stateOfCustomer(customerId).paymentOutcome;
    invoice.attempted = true;
    if (invoice.amount_due === 0 || outcome === 'succeed') {
      if (invoice.amount_due > 0) invoice.attempt_count += 1;
      this.markPaid(invoice);
      return true;
    }
    invoice.attempt_count += 1;
    this.markFailed(invoice, kind);
    return false;
  }

  private markPaid(invoice: Stripe.Invoice): void {
    const now = this.store.now();
    invoice.status = 'paid';
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.next_payment_attempt = null;
    invoice.status_transitions.paid_at = now;
    this.store.invoiceState.delete(invoice.id);
    this.store.emit('invoice.paid', invoice);
    this.store.emit('invoice.payment_succeeded', invoice);
    const customer = this.store.customer(customerIdOf(invoice.customer));
    const subscriptionId = subscriptionIdOfInvoice(invoice);
    const stillOpen = [...this.store.invoices.values()].some(
      (other) => other.status === 'open' && customerIdOf(other.customer) === customer?.id,
    );
    if (customer && !stillOpen) customer.delinquent = false;
    const subscription = subscriptionId ? this.store.subscriptions.get(subscriptionId) : undefined;
    if (subscription && (subscription.status === 'past_due' || subscription.status === 'unpaid')) {
      const openForSubscription = [...this.store.invoices.values()].some(
        (other) => other.status === 'open' && subscriptionIdOfInvoice(other) === subscription.id,
      );
      if (!openForSubscription) {
        this.updateSubscription(subscription, (target) => {
          target.status = 'active';
        });
      }
    }
  }

  private markFailed(invoice: Stripe.Invoice, kind: 'automatic' | 'manual'): void {
    const now = this.store.now();
    let state = this.store.invoiceState.get(invoice.id);
    if (!state) {
      state = { firstFailedAt: now, automaticFailures: 0, retryAt: null };
      this.store.invoiceState.set(invoice.id, state);
    }
    let exhausted = false;
    if (kind === 'automatic') {
      state.automaticFailures += 1;
      const days = this.options.retryDays[state.automaticFailures - 1];
      state.retryAt = days === undefined ? null : state.firstFailedAt + days * DAY;
      exhausted = state.retryAt === null;
      invoice.next_payment_attempt = state.retryAt;
    }
    this.store.emit('invoice.payment_failed', invoice);
    const customer = this.store.customer(customerIdOf(invoice.customer));
    if (customer) customer.delinquent = true;
    const subscriptionId = subscriptionIdOfInvoice(invoice);
    const subscription = subscriptionId ? this.store.subscriptions.get(subscriptionId) : undefined;
    if (!subscription || subscription.status === 'canceled') return;
    if (subscription.status === 'active' || subscription.status === 'trialing') {
      this.updateSubscription(subscription, (target) => {
        target.status = 'past_due';
      });
    }
    if (!exhausted) return;
    if (this.options.afterFinalPaymentFailure === 'cancel') {
      this.cancelNow(subscription, { invoiceNow: false, prorate: false, reason: 'payment_failed' });
    } else if (this.options.afterFinalPaymentFailure === 'unpaid') {
      this.updateSubscription(subscription, (target) => {
        target.status = 'unpaid';
      });
    }
  }

  /**
   * Makes the next payment of `subscription` fail (the `invoice.payment_failed` trigger): the
   * customer's card starts declining and an invoice for the current period's licensed items is
   * issued and fails, so the subscription turns `past_due` until an invoice is paid.
   */
  failPayment(subscription: Stripe.Subscription): Stripe.Invoice {
    this.assertNotCanceled(subscription);
    const customer = this.customerOf(subscription);
    this.store.stateOfCustomer(customer.id).paymentOutcome = 'decline';
    const period = this.currentPeriod(subscription);
    const invoice = this.newInvoice(customer, subscription, 'subscription_cycle', period);
    this.setLines(invoice, this.licensedLines(subscription.id, planFromItems(subscription), period));
    if (invoice.amount_due === 0) {
      throw invalidRequest(
        'The subscription has nothing to charge for this period, so a payment cannot fail.',
      );
    }
    this.issue(invoice, subscription);
    return invoice;
  }

  /** `invoices.pay`: a manual charge; a decline is Stripe's 402 card error. */
  pay(invoice: Stripe.Invoice): Stripe.Invoice {
    if (invoice.status === 'paid')
      throw invalidRequest('Invoice is already paid', undefined, 'invoice_payment_intent_requires_action');
    if (invoice.status !== 'open')
      throw invalidRequest(`You can only pay an open invoice (this one is ${invoice.status}).`);
    if (!this.attemptPayment(invoice, 'manual')) {
      throw new StripeApiError(402, {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
      });
    }
    return invoice;
  }

  // ---------------------------------------------------------------- previews

  /**
   * `invoices.createPreview`: the invoice a change would produce, never stored. With
   * `always_invoice` it is the invoice issued at once (the prorations); otherwise the next
   * renewal invoice: pending and new prorations, the next period of licensed items, and the
   * metered usage of the current period so far.
   */
  preview(input: {
    customer: Stripe.Customer;
    subscription: Stripe.Subscription | null;
    changes: readonly ItemChange[];
    behavior: ProrationBehavior;
    prorationDate: number;
    cancelAtPeriodEnd: boolean | undefined;
    newItems: { price: Stripe.Price; quantity?: number }[];
  }): Stripe.Invoice {
    const now = this.store.now();
    const subscription = input.subscription;
    if (!subscription) {
      if (input.newItems.length === 0) {
        throw invalidRequest(
          'You must pass subscription, or subscription_details[items], to preview an invoice.',
          undefined,
          'invoice_upcoming_none',
        );
      }
      const first = input.newItems[0]?.price.recurring;
      if (!first)
        throw invalidRequest('Preview items must be recurring prices.', 'subscription_details[items]');
      validateItems(
        input.newItems.map((item) => ({
          id: '',
          price: item.price,
          quantity: item.quantity,
          existing: undefined,
        })),
        input.newItems[0]?.price.currency ?? 'usd',
      );
      const end = periodBoundary(now, 1, first.interval, first.interval_count);
      const invoice = this.newInvoice(
        input.customer,
        null,
        'subscription_create',
        { start: now, end: now },
        true,
      );
      invoice.currency = input.newItems[0]?.price.currency ?? 'usd';
      const plan: ItemPlan = {
        items: input.newItems.map((item) => ({
          id: newId('si', 14),
          price: item.price,
          quantity: isMetered(item.price) ? undefined : (item.quantity ?? 1),
          existing: undefined,
        })),
        prorations: [],
      };
      this.setLines(invoice, this.licensedLines(null, plan, { start: now, end }));
      return invoice;
    }
    if (subscription.status === 'canceled') {
      throw invalidRequest(
        'No upcoming invoices for a canceled subscription.',
        'subscription',
        'invoice_upcoming_none',
      );
    }
    const state = this.store.stateOfSubscription(subscription.id);
    const period = this.currentPeriod(subscription);
    const plan =
      input.changes.length > 0
        ? this.planItems(subscription, input.changes, input.prorationDate)
        : planFromItems(subscription);
    const prorations =
      input.behavior === 'none'
        ? []
        : plan.prorations.map((spec) => this.buildLine(null, subscription.id, spec));
    const customer = input.customer;
    let invoice: Stripe.Invoice;
    if (input.behavior === 'always_invoice' && input.changes.length > 0) {
      invoice = this.newInvoice(
        customer,
        subscription,
        'subscription_update',
        { start: now, end: now },
        true,
      );
      this.setLines(invoice, [...state.pendingLines.map(cloneLine), ...prorations]);
    } else {
      const recurring = plan.items[0]?.price.recurring;
      const nextEnd = recurring
        ? periodBoundary(state.anchor, state.periodIndex + 2, recurring.interval, recurring.interval_count)
        : period.end;
      const cancels = input.cancelAtPeriodEnd ?? subscription.cancel_at_period_end;
      invoice = this.newInvoice(customer, subscription, 'subscription_cycle', period, true);
      this.setLines(invoice, [
        ...state.pendingLines.map(cloneLine),
        ...prorations,
        ...(cancels ? [] : this.licensedLines(subscription.id, plan, { start: period.end, end: nextEnd })),
        ...this.meteredLines(subscription, plan, period),
      ]);
      invoice.created = period.end;
      invoice.next_payment_attempt = period.end;
      invoice.automatically_finalizes_at = period.end;
    }
    if (prorations.length > 0 && invoice.parent?.subscription_details) {
      invoice.parent.subscription_details.subscription_proration_date = input.prorationDate;
    }
    return invoice;
  }

  // ---------------------------------------------------------------- the clock

  /**
   * Moves the clock to `target`, running everything that falls due on the way in time order:
   * period ends (renewal invoices with usage, or the end of a subscription set to cancel),
   * automatic payment retries, and expiring Checkout Sessions.
   */
  advanceTo(target: number, expireSession: (session: Stripe.Checkout.Session) => void): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const due = this.nextDue(expireSession);
      if (!due || due.at > target) break;
      this.setNow(due.at);
      due.run();
    }
    this.setNow(target);
  }

  private setNow(at: number): void {
    this.store.clockOffset = at - Math.floor(Date.now() / 1000);
  }

  private nextDue(
    expireSession: (session: Stripe.Checkout.Session) => void,
  ): { at: number; run: () => void } | null {
    let best: { at: number; run: () => void } | null = null;
    const consider = (at: number, run: () => void) => {
      if (!best || at < best.at) best = { at, run };
    };
    for (const subscription of this.store.subscriptions.values()) {
      if (!['active', 'past_due', 'trialing', 'unpaid'].includes(subscription.status)) continue;
      consider(this.currentPeriod(subscription).end, () => this.rollOver(subscription));
    }
    for (const [id, state] of this.store.invoiceState) {
      const invoice = this.store.invoices.get(id);
      if (invoice?.status === 'open' && state.retryAt !== null) {
        const at = state.retryAt;
        consider(at, () => {
          state.retryAt = null;
          this.attemptPayment(invoice, 'automatic');
        });
      }
    }
    for (const session of this.store.checkoutSessions.values()) {
      if (session.status === 'open') consider(session.expires_at, () => expireSession(session));
    }
    return best;
  }

  /** Period end: end the subscription if it was set to cancel, otherwise renew and invoice. */
  private rollOver(subscription: Stripe.Subscription): void {
    const state = this.store.stateOfSubscription(subscription.id);
    const period = this.currentPeriod(subscription);
    const plan = planFromItems(subscription);
    const customer = this.customerOf(subscription);
    if (
      subscription.cancel_at_period_end ||
      (subscription.cancel_at !== null && subscription.cancel_at <= period.end)
    ) {
      const before = toJson(subscription);
      subscription.status = 'canceled';
      subscription.ended_at = period.end;
      this.store.emit(
        'customer.subscription.deleted',
        subscription,
        previousAttributes(before, subscription),
      );
      const hasMetered = plan.items.some((item) => isMetered(item.price));
      if (hasMetered || state.pendingLines.length > 0) {
        const invoice = this.newInvoice(customer, subscription, 'subscription_cycle', period);
        this.setLines(invoice, [...state.pendingLines, ...this.meteredLines(subscription, plan, period)]);
        state.pendingLines = [];
        this.issue(invoice, subscription);
      }
      return;
    }
    const recurring = plan.items[0]?.price.recurring;
    if (!recurring) return;
    const nextStart = period.end;
    const nextEnd = periodBoundary(
      state.anchor,
      state.periodIndex + 2,
      recurring.interval,
      recurring.interval_count,
    );
    const usage = this.meteredLines(subscription, plan, period);
    state.periodIndex += 1;
    const invoice = this.newInvoice(customer, subscription, 'subscription_cycle', period);
    // One `customer.subscription.updated` for the new period and its invoice, as Stripe sends.
    this.updateSubscription(subscription, (target) => {
      for (const item of target.items.data) {
        item.current_period_start = nextStart;
        item.current_period_end = nextEnd;
      }
      target.latest_invoice = invoice.id;
    });
    this.setLines(invoice, [
      ...state.pendingLines,
      ...this.licensedLines(subscription.id, plan, { start: nextStart, end: nextEnd }),
      ...usage,
    ]);
    state.pendingLines = [];
    this.issue(invoice, subscription);
  }
}

function planFromItems(subscription: Stripe.Subscription): ItemPlan {
  return {
    items: subscription.items.data.map((item) => ({
      id: item.id,
      price: item.price,
      quantity: item.quantity,
      existing: item,
    })),
    prorations: [],
  };
}

function cloneLine(line: Stripe.InvoiceLineItem): Stripe.InvoiceLineItem {
  return { ...line, id: newId('il') };
}

/** Stripe's rules for the items of one subscription: one or more, distinct, same currency and interval. */
function validateItems(items: readonly PlannedItem[], currency: string): void {
  if (items.length === 0) throw invalidRequest('A subscription must have at least one item.', 'items');
  const seen = new Set<string>();
  const first = items[0]?.price.recurring;
  for (const item of items) {
    if (seen.has(item.price.id)) {
      throw invalidRequest(
        `Cannot add multiple subscription items with the same price: ${item.price.id}`,
        'items',
      );
    }
    seen.add(item.price.id);
    const recurring = item.price.recurring;
    if (!recurring) throw invalidRequest(`The price ${item.price.id} is not a recurring price.`, 'items');
    if (
      item.price.currency !== currency ||
      recurring.interval !== first?.interval ||
      recurring.interval_count !== first?.interval_count
    ) {
      throw invalidRequest(
        'Currency and interval fields must match across all plans on this subscription. Found mismatch in interval field.',
        'items',
      );
    }
  }
}
