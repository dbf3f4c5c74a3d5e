import { sql } from 'kysely';
import type Stripe from 'stripe';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileUsageJob } from '../../src/jobs/reconcile-usage.ts';
import { reportUsageJob } from '../../src/jobs/report-usage.ts';
import { rollupUsageJob } from '../../src/jobs/rollup-usage.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { stripeCatalogue } from '../../src/services/billing/catalogue.ts';
import { latestReconciliation } from '../../src/services/usage/reconciliation.ts';
import { usageSeries } from '../../src/services/usage/series.ts';
import { apiTokenFor, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { startStripeLocal } from '../stripe-local/index.ts';

/**
 * The Done-when of usage metering: a month (December 2026) driven through the injected clock —
 * resources created, scaled, failing (reported late by the operator), deleted; API calls, one
 * batch of them flushed late; reported events with duplicates, conflicts and late arrivals; a
 * rate-limited Stripe — then every total is compared with an independent calculation made here
 * from the scenario, and the local Stripe server must hold exactly the expected meter events,
 * each identifier once.
 */

const stripeLocal = await startStripeLocal({ ...stripeCatalogue() });
afterAll(() => stripeLocal.stop());

const HOUR = 3_600_000;
// December 2026: the local Stripe server's clock starts at the wall clock and only moves forward.
const MONTH_START = Date.UTC(2026, 11, 1);
const MONTH_END = Date.UTC(2027, 0, 1);
const at = (day: number, hour = 0, minute = 0, second = 0) =>
  new Date(Date.UTC(2026, 11, day, hour, minute, second));

/** One piece of a resource's life: `value` units (instances or GiB) from `from` to `to`. */
interface Piece {
  meter: string;
  from: Date;
  to: Date;
  value: number;
}

/** What Stripe should hold per meter and hour: the scenario's pieces integrated hour by hour. */
function expectedPerHour(
  pieces: readonly Piece[],
  apiCalls: readonly Date[],
): Map<string, Map<number, number>> {
  const result = new Map<string, Map<number, number>>();
  const add = (meter: string, hour: number, amount: number) => {
    const hours = result.get(meter) ?? new Map<number, number>();
    hours.set(hour, (hours.get(hour) ?? 0) + amount);
    result.set(meter, hours);
  };
  for (const piece of pieces) {
    for (let hour = Math.floor(piece.from.getTime() / HOUR) * HOUR; hour < piece.to.getTime(); hour += HOUR) {
      const seconds =
        (Math.min(piece.to.getTime(), hour + HOUR) - Math.max(piece.from.getTime(), hour)) / 1000;
      if (seconds > 0) add(piece.meter, hour, (piece.value * seconds) / 3600);
    }
  }
  for (const call of apiCalls) add('api_calls', Math.floor(call.getTime() / HOUR) * HOUR, 1 / 1000);
  return result;
}

describe('a month of usage, metered and reported to Stripe', () => {
  const t = useTestApp({
    STRIPE_SECRET_KEY: stripeLocal.secretKey,
    STRIPE_API_BASE: stripeLocal.url,
    USAGE_MINUTE_RETENTION_HOURS: '2',
    USAGE_REPORT_DELAY_MINUTES: '10',
  });
  const control = stripeLocal.control;
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });

  beforeEach(async () => {
    await control.reset();
  });

  async function moveTo(date: Date) {
    t.clock.set(date);
    // Stripe's clock runs on with the wall clock between moves; it may already be a little ahead.
    const target = Math.floor(date.getTime() / 1000);
    if ((await control.now()) < target) await control.setClock(target);
  }

  async function runUsageJobs(options: { flush?: boolean } = {}) {
    if (options.flush !== false) await t.deps.apiUsage?.flush(t.database.db);
    for (const job of [rollupUsageJob, reportUsageJob]) {
      const outcome = await runJob(jobDeps(), job, 'test');
      expect(outcome.outcome, outcome.detail).toBe('succeeded');
    }
  }

  it('bills exactly what ran, once, through late data, duplicates and a rate-limited Stripe', async () => {
    await moveTo(at(1));
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Web', 'web');
    const customer = await (t.deps.stripe as Stripe).customers.create({ email: 'owner@example.com' });
    await t.database.db
      .updateTable('ktrlplane.billing_accounts')
      .set({ stripe_customer_id: customer.id, plan: 'standard' })
      .where('scope_type', '=', 'organization')
      .where('scope_id', '=', 'acme')
      .execute();
    const token = await apiTokenFor(t, owner, { scopeType: 'organization', scopeId: 'acme' });
    const apiCalls: Date[] = [];
    /** Every call through the API counts (its token is the organization's). */
    const api = (path: string, init: RequestInit = {}) => {
      apiCalls.push(t.clock.now());
      return t.app.request(`/api/v1${path}`, {
        ...init,
        headers: { ...bearer(token), 'Content-Type': 'application/json' },
      });
    };
    const operator = (resourceId: string, status: string, when: Date) =>
      sql`UPDATE ktrlplane.resources SET status = ${status}, status_changed_at = ${when}
          WHERE resource_id = ${resourceId}`.execute(t.database.db);
    const twinSettings = (instances: number, size: string) => ({
      instances,
      database: { storageClass: 'standard', storageSize: size, backupEnabled: true },
    });

    const pieces: Piece[] = [];
    const queries = new Map<string, number>();
    const call = async () => {
      const res = await api('/projects/web');
      expect(res.status).toBe(200);
    };

    // The scenario, in time order; the usage jobs also run every 12 hours in between.
    const steps: Array<[Date, () => Promise<void>]> = [
      [
        at(1, 0, 0, 0),
        async () => {
          const res = await api('/projects/web/resources', {
            method: 'POST',
            body: JSON.stringify({
              resource_id: 'twin-a',
              name: 'twin-a',
              type: 'Konnektr.Graph',
              sku: 'standard',
              settings_json: twinSettings(3, '100Gi'),
            }),
          });
          expect(res.status, await res.clone().text()).toBe(201);
        },
      ],
      [at(1, 0, 1, 30), () => operator('twin-a', 'Running', t.clock.now()).then(() => undefined)],
      [
        at(3, 12, 0, 30),
        async () => {
          const res = await api('/projects/web/resources/twin-a', {
            method: 'PATCH',
            body: JSON.stringify({ settings_json: twinSettings(2, '100Gi') }),
          });
          expect(res.status, await res.clone().text()).toBe(200);
        },
      ],
      [
        at(4, 6, 0, 0),
        async () => {
          const res = await api('/projects/web/resources', {
            method: 'POST',
            body: JSON.stringify({
              resource_id: 'flow-b',
              name: 'flow-b',
              type: 'Konnektr.Flows',
              sku: 'standard',
              settings_json: { replicas: 1, memoryLimit: '1Gi', cpuLimit: '1', environment: {} },
            }),
          });
          expect(res.status, await res.clone().text()).toBe(201);
        },
      ],
      [at(4, 6, 2, 15), () => operator('flow-b', 'Running', t.clock.now()).then(() => undefined)],
      [
        at(5, 14, 0, 0),
        async () => {
          // A data plane reports queries; then sends the same batch again (a retry) plus a
          // conflicting event (same id, other value).
          const events = Array.from({ length: 20 }, (_, index) => ({
            id: `q-${index}`,
            metric: 'graph_queries',
            resourceId: 'twin-a',
            time: at(5, 13, index, 7).toISOString(),
            value: index + 1,
          }));
          for (const event of events) queries.set(event.id, event.value);
          expect(
            (await api('/usage/events', { method: 'POST', body: JSON.stringify({ events }) })).status,
          ).toBe(200);
          const retry = await api('/usage/events', {
            method: 'POST',
            body: JSON.stringify({ events: [...events, { ...events[0], value: 999 }] }),
          });
          expect(retry.status).toBe(207);
          const body = (await retry.json()) as { duplicates: number; rejected: number };
          expect(body).toMatchObject({ duplicates: 20, rejected: 1 });
        },
      ],
      [
        at(8, 0, 0, 0),
        async () => {
          // Stripe rate-limits the next meter events (the client retries twice, then gives up).
          await control.injectFault({
            path: '/v1/billing/meter_events',
            method: 'POST',
            status: 429,
            count: 3,
          });
        },
      ],
      [
        at(10, 18, 30, 0),
        async () => {
          const res = await api('/projects/web/resources/flow-b', {
            method: 'PATCH',
            body: JSON.stringify({
              settings_json: { replicas: 3, memoryLimit: '1Gi', cpuLimit: '1', environment: {} },
            }),
          });
          expect(res.status, await res.clone().text()).toBe(200);
        },
      ],
      [
        at(12, 13, 1, 0),
        async () => {
          await call();
          await call();
        },
      ],
      [at(12, 13, 2, 0), async () => void (await t.deps.apiUsage?.flush(t.database.db))],
      [
        at(12, 13, 5, 0),
        async () => {
          // Four calls whose counts stay in the buffer past the hour's report (a slow flush).
          for (let index = 0; index < 4; index++) await call();
        },
      ],
      [at(12, 16, 0, 0), () => runUsageJobs({ flush: false })],
      [at(12, 16, 1, 0), () => runUsageJobs()],
      [at(15, 11, 0, 0), () => runUsageJobs()],
      [
        at(15, 12, 0, 0),
        async () => {
          // The operator's status of 08:00–09:15 arrives late: those hours were billed already.
          await operator('twin-a', 'Failed', at(15, 8, 0, 0));
          await operator('twin-a', 'Running', at(15, 9, 15, 0));
        },
      ],
      [
        at(20, 10, 0, 10),
        async () => {
          const res = await api('/projects/web/resources/flow-b', {
            method: 'DELETE',
            body: JSON.stringify({ confirm: 'flow-b' }),
          });
          expect(res.status, await res.clone().text()).toBe(202);
        },
      ],
      [
        at(21, 9, 0, 0),
        async () => {
          // Late events (dated the 6th, long reported) and one more duplicate.
          const late = Array.from({ length: 5 }, (_, index) => ({
            id: `late-${index}`,
            metric: 'graph_queries',
            resourceId: 'twin-a',
            time: at(6, 2, index).toISOString(),
            value: 100,
          }));
          for (const event of late) queries.set(event.id, event.value);
          const res = await api('/usage/events', {
            method: 'POST',
            body: JSON.stringify({
              events: [
                ...late,
                {
                  id: 'q-3',
                  metric: 'graph_queries',
                  resourceId: 'twin-a',
                  time: at(5, 13, 3, 7).toISOString(),
                  value: 4,
                },
              ],
            }),
          });
          expect(await res.json()).toMatchObject({ accepted: 5, duplicates: 1, rejected: 0 });
        },
      ],
      [
        at(25, 0, 0, 5),
        async () => {
          const res = await api('/projects/web/resources/twin-a', {
            method: 'PATCH',
            body: JSON.stringify({ settings_json: twinSettings(2, '200Gi') }),
          });
          expect(res.status, await res.clone().text()).toBe(200);
        },
      ],
    ];
    for (let day = 1; day <= 31; day++) {
      for (const hour of [9]) {
        steps.push([
          at(day, hour, 0, 0),
          async () => {
            for (let index = 0; index < 5; index++) {
              t.clock.set(new Date(t.clock.now().getTime() + 7000));
              await call();
            }
          },
        ]);
      }
      for (const hour of [0, 12]) steps.push([at(day, hour, 30, 0), () => runUsageJobs()]);
    }
    steps.sort((a, b) => a[0].getTime() - b[0].getTime());
    for (const [when, step] of steps) {
      await moveTo(when);
      await step();
    }
    // The month is over: report its last hours, then reconcile with Stripe.
    await moveTo(new Date(MONTH_END + 30 * 60_000));
    await runUsageJobs();
    await runUsageJobs();
    expect((await runJob(jobDeps(), reconcileUsageJob, 'test')).outcome).toBe('succeeded');

    // The scenario, independently: what ran, when.
    pieces.push(
      { meter: 'instance_hours_digital_twins', from: at(1, 0, 1, 30), to: at(3, 12, 0, 30), value: 3 },
      { meter: 'instance_hours_digital_twins', from: at(3, 12, 0, 30), to: at(15, 8), value: 2 },
      { meter: 'instance_hours_digital_twins', from: at(15, 9, 15), to: new Date(MONTH_END), value: 2 },
      { meter: 'storage_gb_hours', from: at(1), to: at(25, 0, 0, 5), value: 100 },
      { meter: 'storage_gb_hours', from: at(25, 0, 0, 5), to: new Date(MONTH_END), value: 200 },
      { meter: 'instance_hours_flows', from: at(4, 6, 2, 15), to: at(10, 18, 30), value: 1 },
      { meter: 'instance_hours_flows', from: at(10, 18, 30), to: at(20, 10, 0, 10), value: 3 },
    );
    const expected = expectedPerHour(pieces, apiCalls);

    // Stripe holds each identifier once, every event counts, and per meter and hour the events
    // add up to the independent figure (each hour rounded to 6 decimals, as reported).
    const events = (await control.meterEvents()).filter(
      (record) => record.event.timestamp < MONTH_END / 1000,
    );
    const identifiers = events.map((record) => record.event.identifier);
    expect(new Set(identifiers).size).toBe(identifiers.length);
    expect(events.every((record) => record.valid && !record.canceled)).toBe(true);
    const received = new Map<string, Map<number, number>>();
    for (const record of events) {
      const meter = record.event.event_name.replace(/^ktrlplane_/, '');
      const hours = received.get(meter) ?? new Map<number, number>();
      const hour = record.event.timestamp * 1000;
      hours.set(hour, (hours.get(hour) ?? 0) + Number(record.event.payload.value));
      received.set(meter, hours);
    }
    for (const meter of [
      'instance_hours_digital_twins',
      'instance_hours_flows',
      'storage_gb_hours',
      'api_calls',
    ]) {
      const want = expected.get(meter) ?? new Map();
      const got = received.get(meter) ?? new Map();
      const mismatches: string[] = [];
      for (const hour of new Set([...want.keys(), ...got.keys()])) {
        const a = Number((want.get(hour) ?? 0).toFixed(6));
        const b = Number((got.get(hour) ?? 0).toFixed(6));
        if (Math.abs(a - b) > 1e-9)
          mismatches.push(`${new Date(hour).toISOString()}: expected ${a}, Stripe has ${b}`);
      }
      expect(mismatches, meter).toEqual([]);
    }
    const monthTotal = (meter: string) =>
      [...(expected.get(meter)?.values() ?? [])].reduce((a, b) => a + b, 0);
    // 3 × (2d 12h 0m 0s − 90 s) + 2 × (11d 19h 59m 30s) + 2 × (16d 14h 45m), to the second.
    expect(monthTotal('instance_hours_digital_twins')).toBeCloseTo(
      (3 * (60 * 3600 - 60) +
        2 * (11 * 86400 + 19 * 3600 + 59 * 60 + 30) +
        2 * (16 * 86400 + 14 * 3600 + 45 * 60)) /
        3600,
      6,
    );
    expect(apiCalls.length).toBeGreaterThan(31 * 5);

    // Corrections went out as new revisions carrying the difference: the late flush (+4 calls)
    // and the late Failed status (−2 instance-hours at 08:00, −0.5 at 09:00).
    const revisions = await t.database.db
      .selectFrom('ktrlplane.usage_meter_reports')
      .select(['meter', 'hour', 'revision', 'value', 'status'])
      .where('revision', '>', 1)
      .orderBy('hour')
      .execute();
    expect(
      revisions.map((row) => [row.meter, row.hour.toISOString(), row.revision, Number(row.value)]),
    ).toEqual([
      ['api_calls', at(12, 13).toISOString(), 2, 0.004],
      ['instance_hours_digital_twins', at(15, 8).toISOString(), 2, -2],
      ['instance_hours_digital_twins', at(15, 9).toISOString(), 2, -0.5],
    ]);
    const unsent = await t.database.db
      .selectFrom('ktrlplane.usage_meter_reports')
      .select('identifier')
      .where('status', '<>', 'sent')
      .execute();
    expect(unsent).toEqual([]);
    const outbox = await t.database.db
      .selectFrom('ktrlplane.usage_meter_reports')
      .select('identifier')
      .execute();
    expect(outbox.map((row) => row.identifier).sort()).toEqual([...identifiers].sort());
    // The rate limit was met and waited out.
    const rateLimited = await control.requests({ method: 'POST', path: '/v1/billing/meter_events' });
    expect(rateLimited.filter((entry) => entry.status === 429)).toHaveLength(3);

    // The series the dashboard reads says the same, and counts reported events once.
    const series = await usageSeries(
      t.database.db,
      { scope_type: 'organization', scope_id: 'acme' },
      { from: new Date(MONTH_START), to: new Date(MONTH_END), granularity: 'day' },
    );
    const seriesTotal = (metric: string, resourceId?: string) =>
      series
        .filter(
          (row) => row.metric === metric && (resourceId === undefined || row.resource_id === resourceId),
        )
        .reduce((sum, row) => sum + row.quantity, 0);
    expect(seriesTotal('instance_hours', 'twin-a')).toBeCloseTo(
      monthTotal('instance_hours_digital_twins'),
      6,
    );
    expect(seriesTotal('instance_hours', 'flow-b')).toBeCloseTo(monthTotal('instance_hours_flows'), 6);
    expect(seriesTotal('storage_gb_hours')).toBeCloseTo(monthTotal('storage_gb_hours'), 6);
    expect(seriesTotal('api_calls')).toBe(apiCalls.length);
    expect(seriesTotal('graph_queries')).toBe([...queries.values()].reduce((a, b) => a + b, 0));

    // Reconciliation with Stripe's meter event summaries finds no drift.
    const reconciliation = await latestReconciliation(t.database.db, {
      scope_type: 'organization',
      scope_id: 'acme',
    });
    expect(reconciliation.periods.length).toBeGreaterThan(0);
    expect(reconciliation.ok, JSON.stringify(reconciliation.periods.filter((p) => p.unexplained !== 0))).toBe(
      true,
    );
  }, 180_000);
});
