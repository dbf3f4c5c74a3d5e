import { describe, expect, it } from 'vitest';
import { DemoDataPlane } from '../../scripts/demo/data-plane.ts';
import { DEMO_DEGRADED, ensureDemoObservability, seedDemo } from '../../scripts/demo/seed.ts';
import { evaluateAlertsJob } from '../../src/jobs/evaluate-alerts.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { billingPolicyOf } from '../../src/services/billing/policy.ts';
import { useTestApp } from '../helpers/test-app.ts';

/** `npm run demo`'s data: seeded once, its observability part made on every start, and alive. */
describe('demo data', () => {
  const t = useTestApp();

  it('seeds once, adds the ingest token, channel and rule idempotently, and its data plane makes the rule fire', async () => {
    const policy = billingPolicyOf(t.deps);
    const deps = { db: t.database.db, config: t.deps.config, clock: t.clock, policy };
    expect(await seedDemo(deps)).toEqual({ created: true });
    expect(await seedDemo(deps)).toEqual({ created: false });
    const credential = await ensureDemoObservability(deps);
    expect(await ensureDemoObservability(deps)).toEqual(credential);
    const count = async (
      table: 'ktrlplane.ingest_tokens' | 'ktrlplane.alert_rules' | 'ktrlplane.alert_channels',
    ) =>
      Number(
        (
          await t.database.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirst()
        )?.n,
      );
    expect([
      await count('ktrlplane.ingest_tokens'),
      await count('ktrlplane.alert_channels'),
      await count('ktrlplane.alert_rules'),
    ]).toEqual([1, 1, 1]);

    // What the operator simulator would have done by now: one healthy resource, one failing.
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({ status: 'Healthy' })
      .where('resource_id', '=', 'flow-small')
      .execute();
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({ status: 'Degraded' })
      .where('resource_id', '=', DEMO_DEGRADED)
      .execute();
    const dataPlane = new DemoDataPlane({ db: t.database.db, clock: t.clock, policy, credential });
    let shipped = 0;
    for (let round = 0; round < 4; round++) {
      shipped += await dataPlane.tick();
      t.clock.advance(3000);
    }
    const byResource = await t.database.db
      .selectFrom('ktrlplane.logs')
      .select(['resource_id', 'level'])
      .execute();
    expect(shipped).toBe(byResource.length);
    expect(
      byResource.filter((line) => line.resource_id === DEMO_DEGRADED && line.level === 'error'),
    ).toHaveLength(4);
    expect(byResource.some((line) => line.resource_id === 'flow-small' && line.level === 'info')).toBe(true);
    // Undeployed and not yet running resources log nothing.
    expect(
      byResource.some((line) => line.resource_id === 'flow-parked' || line.resource_id === 'twin-graph'),
    ).toBe(false);

    await runJob(
      { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config },
      evaluateAlertsJob,
      'test',
    );
    const rule = await t.database.db
      .selectFrom('ktrlplane.alert_rules')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(rule.state).toBe('firing');
  });
});
