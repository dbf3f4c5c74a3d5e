import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/dialects/node.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { reportUsageJob } from '../../src/jobs/report-usage.ts';
import { rollupUsageJob } from '../../src/jobs/rollup-usage.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { stripeCatalogue } from '../../src/services/billing/catalogue.ts';
import { planMeterReports, sendDueReports } from '../../src/services/usage/reporting.ts';
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
/**
 * The next full hour of the real clock. Rows the database stamps itself (a resource's creation,
 * its usage history) carry the real time, so a fixed date would fall before or after them as the
 * calendar moves on (a fixed 2026-12-01 lost most of the 48 hours once the real date passed it).
 */
const START = Math.ceil(Date.now() / HOUR) * HOUR;

/**
 * Runs the reporting job in a child process (tests/helpers/report-usage-child.ts) and kills it
 * with SIGKILL once Stripe holds 8 of its events and another one is in flight.
 */
async function runReporterAndKill(env: Record<string, string>): Promise<{ heldByStripe: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/report-usage-child.ts'], {
    // A clean environment: vitest's own (BASE_URL='/', …) is not a ktrlplane configuration.
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      OTEL_SDK_DISABLED: 'true',
      STRIPE_SECRET_KEY: stripeLocal.secretKey,
      STRIPE_API_BASE: stripeLocal.url,
      LOG_LEVEL: 'warn',
      ...env,
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
  let taken = 0;
  for (let tries = 0; tries < 600 && taken < 8; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    taken = (await stripeLocal.control.meterEvents()).length;
  }
  if (taken < 8) child.kill('SIGKILL');
  expect(taken, output).toBeGreaterThanOrEqual(8);
  await new Promise((resolve) => setTimeout(resolve, 60));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return { heldByStripe: (await stripeLocal.control.meterEvents()).length };
}

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
        'Konnektr.Graph',
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
      const { heldByStripe: taken } = await runReporterAndKill({
        DATABASE_URL: t.database.url ?? '',
        USAGE_NOW: t.clock.now().toISOString(),
      });
      expect(taken).toBeGreaterThanOrEqual(8);

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

/**
 * The same on PGlite: it lives inside one process and keeps its data directory to itself, so the
 * test hands the directory over — plans, closes it, lets a child process open it and send, kills
 * the child with SIGKILL mid-send (leaving the files as a crashed server would), reopens the
 * directory (PGlite recovers like Postgres) and sends the rest.
 */
describe('reporting usage to Stripe from PGlite, interrupted', () => {
  it('recovers the data directory and sends every event exactly once', async () => {
    await stripeLocal.control.reset();
    const stripe = new Stripe(stripeLocal.secretKey, stripeLocal.clientOptions);
    const now = new Date(START + 60 * HOUR + 20 * 60_000);
    if ((await stripeLocal.control.now()) < now.getTime() / 1000)
      await stripeLocal.control.setClock(Math.floor(now.getTime() / 1000));
    const dir = await mkdtemp(join(tmpdir(), 'ktrlplane-pglite-kill-'));
    try {
      let handle = await openPglite(dir);
      await migrateToLatest(handle.db);
      const customer = await stripe.customers.create({ email: 'owner@example.com' });
      await handle.db
        .insertInto('ktrlplane.organizations')
        .values({ org_id: 'acme', name: 'Acme' })
        .execute();
      await handle.db
        .insertInto('ktrlplane.projects')
        .values({ project_id: 'web', org_id: 'acme', name: 'Web' })
        .execute();
      await handle.db
        .insertInto('ktrlplane.billing_accounts')
        .values({
          scope_type: 'organization',
          scope_id: 'acme',
          stripe_customer_id: customer.id,
          plan: 'standard',
        })
        .execute();
      // Sixty hours of a flow running 2 replicas, as the rollup leaves them.
      await handle.db
        .insertInto('ktrlplane.usage_hourly')
        .values(
          Array.from({ length: 60 }, (_, index) => ({
            scope_type: 'organization' as const,
            scope_id: 'acme',
            metric: 'instance_hours',
            resource_id: 'flow',
            hour: new Date(START + index * HOUR),
            org_id: 'acme',
            project_id: 'web',
            resource_type: 'Konnektr.Flows',
            sku: 'standard',
            quantity: 2,
            updated_at: now,
          })),
        )
        .execute();
      await handle.db
        .insertInto('ktrlplane.usage_rollup_state')
        .values({ name: 'runtime', watermark: now, last_change_id: 0, updated_at: now })
        .execute();
      const planned = (await planMeterReports(handle.db, now, 10)).planned;
      expect(planned).toBe(60);
      await handle.close();

      await stripeLocal.control.injectFault({
        path: '/v1/billing/meter_events',
        method: 'POST',
        phase: 'after',
        delayMs: 150,
        count: 10_000,
      });
      const { heldByStripe } = await runReporterAndKill({ DATA_DIR: dir, USAGE_NOW: now.toISOString() });
      await stripeLocal.control.clearFaults();

      handle = await openPglite(dir);
      try {
        const sentBefore = await handle.db
          .selectFrom('ktrlplane.usage_meter_reports')
          .select('identifier')
          .where('status', '=', 'sent')
          .execute();
        expect(heldByStripe).toBeGreaterThan(sentBefore.length);
        const logger = createLogger({ level: 'silent', format: 'json' });
        const summary = await sendDueReports(
          handle.db,
          stripe,
          () => new Date(now.getTime() + 61_000),
          logger,
        );
        expect(summary.failed).toBe(0);
        const rows = await handle.db
          .selectFrom('ktrlplane.usage_meter_reports')
          .select(['identifier', 'status'])
          .orderBy('identifier')
          .execute();
        expect(rows.every((row) => row.status === 'sent')).toBe(true);
        const events = await stripeLocal.control.meterEvents();
        expect(events.map((record) => record.event.identifier).sort()).toEqual(
          rows.map((row) => row.identifier),
        );
        expect(events.reduce((sum, record) => sum + Number(record.event.payload.value), 0)).toBe(120);
      } finally {
        await handle.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
