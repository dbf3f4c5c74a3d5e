import { spawn } from 'node:child_process';
import type Stripe from 'stripe';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { reportUsageJob } from '../../src/jobs/report-usage.ts';
import { rollupUsageJob } from '../../src/jobs/rollup-usage.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { stripeCatalogue } from '../../src/services/billing/catalogue.ts';
import { planMeterReports } from '../../src/services/usage/reporting.ts';
import { apiTokenFor, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { usingPostgresServer } from '../helpers/test-database.ts';
import { startStripeLocal } from '../stripe-local/index.ts';

/**
 * The reporting job killed with SIGKILL in the middle of sending (a real process, on the same
 * Postgres database), then run again: Stripe holds every planned event exactly once and no hour
 * is skipped. Postgres only: PGlite lives inside one process (see README "Usage metering").
 */
const stripeLocal = await startStripeLocal({ ...stripeCatalogue() });
afterAll(() => stripeLocal.stop());

const HOUR = 3_600_000;
const START = Date.UTC(2026, 11, 1);

describe('reporting usage to Stripe, interrupted', () => {
  const t = useTestApp({ STRIPE_SECRET_KEY: stripeLocal.secretKey, STRIPE_API_BASE: stripeLocal.url });
  const control = stripeLocal.control;
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });

  beforeEach(async () => {
    await control.reset();
  });

  async function moveTo(date: Date) {
    t.clock.set(date);
    const target = Math.floor(date.getTime() / 1000);
    if ((await control.now()) < target) await control.setClock(target);
  }

  /** Two resources running for two days: three meters × 48 hours (and the API calls) to send. */
  async function twoDaysOfUsage() {
    await moveTo(new Date(START));
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Web', 'web');
    const customer = await (t.deps.stripe as Stripe).customers.create({ email: 'owner@example.com' });
    await t.database.db
      .updateTable('ktrlplane.billing_accounts')
      .set({ stripe_customer_id: customer.id, plan: 'standard' })
      .where('scope_id', '=', 'acme')
      .execute();
    const token = await apiTokenFor(t, owner);
    for (const [id, type, settings] of [
      [
        'twin',
        'Konnektr.DigitalTwins',
        { instances: 2, database: { storageClass: 'standard', storageSize: '10Gi', backupEnabled: true } },
      ],
      ['flow', 'Konnektr.Flows', { replicas: 2, memoryLimit: '1Gi', cpuLimit: '1', environment: {} }],
    ] as const) {
      const res = await t.app.request('/api/v1/projects/web/resources', {
        method: 'POST',
        headers: { ...bearer(token), 'Content-Type': 'application/json' },
        body: JSON.stringify({ resource_id: id, name: id, type, sku: 'standard', settings_json: settings }),
      });
      expect(res.status).toBe(201);
      await t.database.db
        .updateTable('ktrlplane.resources')
        .set({ status: 'Running', status_changed_at: t.clock.now() })
        .where('resource_id', '=', id)
        .execute();
    }
    await moveTo(new Date(START + 48 * HOUR + 20 * 60_000));
    await t.deps.apiUsage?.flush(t.database.db);
    await runJob(jobDeps(), rollupUsageJob, 'test');
    const plan = await planMeterReports(t.database.db, t.clock.now(), 10);
    return plan.planned;
  }

  async function outbox() {
    return t.database.db
      .selectFrom('ktrlplane.usage_meter_reports')
      .select(['identifier', 'status', 'value'])
      .orderBy('identifier')
      .execute();
  }

  it.skipIf(!usingPostgresServer)(
    'never sends an identifier twice nor skips an hour when the job is killed mid-send and run again',
    async () => {
      const planned = await twoDaysOfUsage();
      expect(planned).toBeGreaterThanOrEqual(3 * 48);
      // Stripe takes each event, then answers 150 ms later: a kill in that window is the
      // lost-answer case (Stripe has the event, the outbox still says pending).
      await control.injectFault({
        path: '/v1/billing/meter_events',
        method: 'POST',
        phase: 'after',
        delayMs: 150,
        count: 10_000,
      });
      const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/report-usage-child.ts'], {
        // A clean environment: vitest's own (BASE_URL='/', …) is not a ktrlplane configuration.
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          OTEL_SDK_DISABLED: 'true',
          DATABASE_URL: t.database.url,
          STRIPE_SECRET_KEY: stripeLocal.secretKey,
          STRIPE_API_BASE: stripeLocal.url,
          USAGE_NOW: t.clock.now().toISOString(),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += String(chunk);
      });
      child.stderr?.on('data', (chunk) => {
        output += String(chunk);
      });
      const exited = new Promise<number | string | null>((resolve) =>
        child.on('exit', (code, signal) => resolve(signal ?? code)),
      );
      // Kill it once Stripe holds a few of its events and one more is in flight.
      let taken = 0;
      for (let tries = 0; tries < 600 && taken < 8; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        taken = (await control.meterEvents()).length;
      }
      expect(taken, output).toBeGreaterThanOrEqual(8);
      await new Promise((resolve) => setTimeout(resolve, 60));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const afterKill = await outbox();
      const sentBeforeKill = afterKill.filter((row) => row.status === 'sent').length;
      const heldByStripe = (await control.meterEvents()).length;
      // Stripe holds more than the outbox marked sent: the killed run lost at least one answer.
      expect(heldByStripe).toBeGreaterThan(sentBeforeKill);
      expect(afterKill.filter((row) => row.status === 'pending').length).toBe(planned - sentBeforeKill);

      // Run again once the dead run's leases ran out, without the delay.
      await control.clearFaults();
      await moveTo(new Date(t.clock.now().getTime() + 61_000));
      const outcome = await runJob(jobDeps(), reportUsageJob, 'test');
      expect(outcome.outcome, outcome.detail).toBe('succeeded');

      const rows = await outbox();
      expect(rows.every((row) => row.status === 'sent')).toBe(true);
      const events = await control.meterEvents();
      const identifiers = events.map((record) => record.event.identifier).sort();
      expect(identifiers).toEqual(rows.map((row) => row.identifier));
      expect(new Set(identifiers).size).toBe(planned);
      // The in-flight events were sent again with the same idempotency key and replayed, not recorded twice.
      const requests = await control.requests({ method: 'POST', path: '/v1/billing/meter_events' });
      const replayed = requests.filter((entry) => entry.replayed);
      expect(replayed.length).toBe(heldByStripe - sentBeforeKill);
      // Every hour of both days of every meter is there.
      const hours = new Set(events.map((record) => `${record.event.event_name}@${record.event.timestamp}`));
      expect(hours.size).toBe(planned);
      expect(
        events.filter((record) => record.event.event_name === 'ktrlplane_instance_hours_flows'),
      ).toHaveLength(48);
    },
    120_000,
  );

  it('lets overlapping runs send each event once', async () => {
    const planned = await twoDaysOfUsage();
    await control.injectFault({
      path: '/v1/billing/meter_events',
      method: 'POST',
      delayMs: 5,
      count: 10_000,
    });
    const outcomes = await Promise.all([
      runJob(jobDeps(), reportUsageJob, 'a'),
      runJob(jobDeps(), reportUsageJob, 'b'),
      runJob(jobDeps(), reportUsageJob, 'c'),
    ]);
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const events = await control.meterEvents();
    expect(new Set(events.map((record) => record.event.identifier)).size).toBe(planned);
    expect(events).toHaveLength(planned);
    const requests = await control.requests({ method: 'POST', path: '/v1/billing/meter_events' });
    expect(requests).toHaveLength(planned);
  }, 60_000);
});
