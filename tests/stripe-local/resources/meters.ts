import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { ApiRouter } from '../router.ts';
import type { MeterEventError, MeterEventRecord, Store } from '../store.ts';
import { newestFirst, newId, previousAttributes } from '../store.ts';
import { invalidRequest, listPage, missingParam, resourceMissing, StripeApiError, toJson } from '../wire.ts';

/**
 * Billing meters and what feeds them: meter events (deduplicated by `identifier`, as Stripe
 * does), cancel adjustments, and event summaries per hour or day. Like Stripe, ingestion answers
 * 200 for events it cannot attribute (unknown event name, customer, bad value, timestamp out of
 * range) and reports them asynchronously; here they are listed by `/_control/meter_event_errors`.
 */

export interface SeedMeter {
  id?: string;
  event_name: string;
  display_name?: string;
  formula?: 'sum' | 'count' | 'last';
  /** Payload key holding the customer id; default `stripe_customer_id`. */
  customer_payload_key?: string;
  /** Payload key holding the value; default `value`. */
  value_payload_key?: string;
  /** Pre-aggregated ingestion: only the last event per customer per window counts. */
  event_time_window?: 'hour' | 'day';
}

const DAY = 86_400;
const HOUR = 3_600;
/** Stripe enforces identifier uniqueness for "at least 24 hours"; this server keeps them for good. */
const ADJUSTMENT_WINDOW_SECONDS = DAY;

export function createMeter(store: Store, input: SeedMeter): Stripe.Billing.Meter {
  if (input.id && store.meters.has(input.id))
    throw invalidRequest('Meter already exists.', 'id', 'resource_already_exists');
  const clash = [...store.meters.values()].find(
    (meter) => meter.status === 'active' && meter.event_name === input.event_name,
  );
  if (clash) {
    throw invalidRequest(
      `An active meter (\`${clash.id}\`) already uses the event name \`${input.event_name}\`.`,
      'event_name',
      'resource_already_exists',
    );
  }
  const now = store.now();
  const meter: Stripe.Billing.Meter = {
    id: input.id ?? newId('mtr_test', 24),
    object: 'billing.meter',
    created: now,
    customer_mapping: {
      event_payload_key: input.customer_payload_key ?? 'stripe_customer_id',
      type: 'by_id',
    },
    default_aggregation: { formula: input.formula ?? 'sum' },
    display_name: input.display_name ?? input.event_name,
    event_name: input.event_name,
    event_time_window: input.event_time_window ?? null,
    livemode: false,
    status: 'active',
    status_transitions: { deactivated_at: null },
    updated: now,
    value_settings: { event_payload_key: input.value_payload_key ?? 'value' },
  };
  store.meters.set(meter.id, meter);
  store.emit('billing.meter.created', meter);
  return meter;
}

function findMeter(store: Store, id: string): Stripe.Billing.Meter {
  const meter = store.meters.get(id);
  if (!meter) throw resourceMissing('billing meter', id);
  return meter;
}

/** The events of `meter` for `customer` with `start <= timestamp < end` that count toward usage. */
function countedEvents(
  store: Store,
  meter: Stripe.Billing.Meter,
  customer: string,
  start: number,
  end: number,
) {
  const customerKey = meter.customer_mapping.event_payload_key;
  let records = store.meterEvents.filter(
    (record) =>
      !record.canceled &&
      record.valid &&
      record.event.event_name === meter.event_name &&
      record.event.payload[customerKey] === customer &&
      record.event.timestamp >= start &&
      record.event.timestamp < end,
  );
  const window = meter.event_time_window;
  if (window) {
    // Pre-aggregated meters keep only the most recently received event per window.
    const size = window === 'hour' ? HOUR : DAY;
    const latest = new Map<number, MeterEventRecord>();
    for (const record of records) latest.set(Math.floor(record.event.timestamp / size), record);
    records = [...latest.values()];
  }
  return records;
}

/** Aggregated usage of `meter` for `customer` in `[start, end)`, by the meter's formula. */
export function aggregateUsage(
  store: Store,
  meter: Stripe.Billing.Meter,
  customer: string,
  start: number,
  end: number,
): number {
  const records = countedEvents(store, meter, customer, start, end);
  const valueKey = meter.value_settings.event_payload_key;
  const value = (record: MeterEventRecord) => Number(record.event.payload[valueKey] ?? '0');
  switch (meter.default_aggregation.formula) {
    case 'count':
      return records.length;
    case 'last': {
      let last: MeterEventRecord | undefined;
      for (const record of records) {
        if (!last || record.event.timestamp >= last.event.timestamp) last = record;
      }
      return last ? value(last) : 0;
    }
    default:
      return records.reduce((sum, record) => sum + value(record), 0);
  }
}

export function registerMeters(router: ApiRouter, store: Store): void {
  router.add('POST', '/v1/billing/meters', ({ params }) => {
    params.allow([
      'display_name',
      'event_name',
      'default_aggregation',
      'customer_mapping',
      'value_settings',
      'event_time_window',
    ]);
    const aggregation = params.object('default_aggregation');
    if (!aggregation) throw missingParam('default_aggregation');
    aggregation.allow(['formula']);
    const formula = aggregation.oneOf('formula', ['count', 'last', 'sum'] as const);
    if (!formula) throw missingParam('default_aggregation[formula]');
    const mapping = params.object('customer_mapping');
    mapping?.allow(['event_payload_key', 'type']);
    const valueSettings = params.object('value_settings');
    valueSettings?.allow(['event_payload_key']);
    const window = params.oneOf('event_time_window', ['day', 'hour'] as const);
    const customerKey = mapping?.requiredString('event_payload_key');
    const valueKey = valueSettings?.requiredString('event_payload_key');
    return createMeter(store, {
      display_name: params.requiredString('display_name'),
      event_name: params.requiredString('event_name'),
      formula,
      ...(customerKey ? { customer_payload_key: customerKey } : {}),
      ...(valueKey ? { value_payload_key: valueKey } : {}),
      ...(window ? { event_time_window: window } : {}),
    });
  });

  router.add('GET', '/v1/billing/meters/:id', ({ pathParams }) => findMeter(store, pathParams.id ?? ''));

  router.add('POST', '/v1/billing/meters/:id', ({ pathParams, params }) => {
    params.allow(['display_name']);
    const meter = findMeter(store, pathParams.id ?? '');
    const before = toJson(meter);
    meter.display_name = params.string('display_name') ?? meter.display_name;
    meter.updated = store.now();
    store.emit('billing.meter.updated', meter, previousAttributes(before, meter));
    return meter;
  });

  const setStatus = (id: string, status: 'active' | 'inactive'): Stripe.Billing.Meter => {
    const meter = findMeter(store, id);
    if (meter.status === status) {
      throw invalidRequest(`This meter is already ${status === 'active' ? 'active' : 'inactive'}.`);
    }
    if (status === 'active') {
      const clash = [...store.meters.values()].find(
        (other) => other !== meter && other.status === 'active' && other.event_name === meter.event_name,
      );
      if (clash) throw invalidRequest(`An active meter (\`${clash.id}\`) already uses this event name.`);
    }
    const before = toJson(meter);
    meter.status = status;
    meter.status_transitions.deactivated_at = status === 'inactive' ? store.now() : null;
    meter.updated = store.now();
    store.emit(
      status === 'inactive' ? 'billing.meter.deactivated' : 'billing.meter.reactivated',
      meter,
      previousAttributes(before, meter),
    );
    return meter;
  };
  router.add('POST', '/v1/billing/meters/:id/deactivate', ({ pathParams, params }) => {
    params.allow([]);
    return setStatus(pathParams.id ?? '', 'inactive');
  });
  router.add('POST', '/v1/billing/meters/:id/reactivate', ({ pathParams, params }) => {
    params.allow([]);
    return setStatus(pathParams.id ?? '', 'active');
  });

  router.add('GET', '/v1/billing/meters', ({ params }) => {
    params.allow(['status', 'limit', 'starting_after', 'ending_before']);
    const status = params.oneOf('status', ['active', 'inactive'] as const);
    const meters = newestFirst(store.meters.values()).filter((meter) => !status || meter.status === status);
    return listPage(meters, params, '/v1/billing/meters');
  });

  router.add('POST', '/v1/billing/meter_events', ({ params }) => {
    params.allow(['event_name', 'payload', 'identifier', 'timestamp']);
    const eventName = params.requiredString('event_name');
    if (eventName.length > 100)
      throw invalidRequest('event_name can be at most 100 characters.', 'event_name');
    const payload = params.metadata('payload');
    if (!payload) throw missingParam('payload');
    const identifier = params.string('identifier') || randomUUID();
    if (identifier.length > 100)
      throw invalidRequest('identifier can be at most 100 characters.', 'identifier');
    if (store.meterEventIdentifiers.has(identifier)) {
      throw new StripeApiError(
        400,
        {
          type: 'invalid_request_error',
          message: `An event already exists with identifier ${identifier}.`,
          param: 'identifier',
        },
        { 'Stripe-Should-Retry': 'false' },
      );
    }
    const now = store.now();
    const event: Stripe.Billing.MeterEvent = {
      object: 'billing.meter_event',
      created: now,
      event_name: eventName,
      identifier,
      livemode: false,
      payload,
      timestamp: params.integer('timestamp') ?? now,
    };
    const error = ingestionError(store, event, now);
    const record: MeterEventRecord = { event, canceled: false, valid: error === null, receivedAt: now };
    if (error) store.meterEventErrors.push(error);
    store.meterEvents.push(record);
    store.meterEventIdentifiers.set(identifier, record);
    return event;
  });

  router.add('POST', '/v1/billing/meter_event_adjustments', ({ params }) => {
    params.allow(['event_name', 'type', 'cancel']);
    const eventName = params.requiredString('event_name');
    const type = params.oneOf('type', ['cancel'] as const);
    if (!type) throw missingParam('type');
    const cancel = params.object('cancel');
    cancel?.allow(['identifier']);
    const identifier = cancel?.string('identifier');
    if (!identifier) throw missingParam('cancel[identifier]');
    const record = store.meterEventIdentifiers.get(identifier);
    const now = store.now();
    if (!record || record.event.event_name !== eventName) {
      store.meterEventErrors.push({
        identifier,
        event_name: eventName,
        code: 'meter_event_adjustment_unknown_identifier',
        message: `No meter event with identifier ${identifier} and event name ${eventName} to cancel.`,
      });
    } else if (now - record.receivedAt > ADJUSTMENT_WINDOW_SECONDS) {
      store.meterEventErrors.push({
        identifier,
        event_name: eventName,
        code: 'meter_event_adjustment_too_late',
        message: `Meter events can only be canceled within 24 hours of being received (${identifier}).`,
      });
    } else {
      record.canceled = true;
    }
    const adjustment: Stripe.Billing.MeterEventAdjustment = {
      object: 'billing.meter_event_adjustment',
      cancel: { identifier },
      event_name: eventName,
      livemode: false,
      // Stripe applies adjustments asynchronously and answers `pending`; here it is applied already.
      status: 'pending',
      type: 'cancel',
    };
    return adjustment;
  });

  router.add('GET', '/v1/billing/meters/:id/event_summaries', ({ pathParams, params }) => {
    params.allow([
      'customer',
      'start_time',
      'end_time',
      'value_grouping_window',
      'limit',
      'starting_after',
      'ending_before',
    ]);
    const meter = findMeter(store, pathParams.id ?? '');
    const customer = params.requiredString('customer');
    const start = params.requiredInteger('start_time');
    const end = params.requiredInteger('end_time');
    const window = params.oneOf('value_grouping_window', ['day', 'hour'] as const);
    if (start >= end) throw invalidRequest('start_time must be before end_time.', 'start_time');
    const step = window === 'day' ? DAY : window === 'hour' ? HOUR : 60;
    const unit = window ?? 'minute';
    for (const [name, value] of [
      ['start_time', start],
      ['end_time', end],
    ] as const) {
      if (value % step !== 0) throw invalidRequest(`${name} must be aligned with ${unit} boundaries.`, name);
    }
    const summaries: Stripe.Billing.MeterEventSummary[] = [];
    const bucket = window ? step : end - start;
    for (let from = start; from < end; from += bucket) {
      const to = Math.min(from + bucket, end);
      summaries.push({
        id: `mtrusg_test_${meter.id.replace(/^mtr_(test_)?/, '')}_${customer.replace(/^cus_/, '')}_${from}_${to}`,
        object: 'billing.meter_event_summary',
        aggregated_value: aggregateUsage(store, meter, customer, from, to),
        end_time: to,
        livemode: false,
        meter: meter.id,
        start_time: from,
      });
    }
    return listPage(summaries, params, `/v1/billing/meters/${meter.id}/event_summaries`);
  });
}

/** What Stripe's asynchronous validation would report for this event, or null when it counts. */
function ingestionError(store: Store, event: Stripe.Billing.MeterEvent, now: number): MeterEventError | null {
  const base = { identifier: event.identifier, event_name: event.event_name };
  const meter = [...store.meters.values()].find(
    (candidate) => candidate.status === 'active' && candidate.event_name === event.event_name,
  );
  if (!meter)
    return { ...base, code: 'no_meter', message: `No active meter for event name ${event.event_name}.` };
  const customer = event.payload[meter.customer_mapping.event_payload_key];
  if (!customer) {
    return {
      ...base,
      code: 'meter_event_no_customer_defined',
      message: `Payload key ${meter.customer_mapping.event_payload_key} is missing.`,
    };
  }
  if (!store.customer(customer)) {
    return { ...base, code: 'meter_event_customer_not_found', message: `No such customer: ${customer}.` };
  }
  if (meter.default_aggregation.formula !== 'count') {
    const raw = event.payload[meter.value_settings.event_payload_key];
    if (raw === undefined || !Number.isFinite(Number(raw)) || raw.trim() === '') {
      return { ...base, code: 'meter_event_invalid_value', message: `Invalid value: ${raw ?? '(missing)'}.` };
    }
  }
  if (event.timestamp < now - 35 * DAY) {
    return {
      ...base,
      code: 'timestamp_too_far_in_past',
      message: 'Timestamp is more than 35 days in the past.',
    };
  }
  if (event.timestamp > now + 5 * 60) {
    return {
      ...base,
      code: 'timestamp_in_future',
      message: 'Timestamp is more than 5 minutes in the future.',
    };
  }
  return null;
}
