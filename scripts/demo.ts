/**
 * `npm run demo`: ktrlplane on the embedded database (./data-demo) with demo data and the
 * operator simulator running in the same process, so a newcomer sees a living system in one
 * command: resources that deploy, turn healthy, fail, and change live in the browser.
 *
 * The simulator is a TEST DOUBLE of db-query-operator (scripts/operator-simulator): it runs the
 * manifests' queries and status templates from deploy/operator against this database, and fakes
 * the Kubernetes side. Nothing is deployed anywhere. A demo data plane (scripts/demo/data-plane.ts,
 * also a test double) ships log lines for the running resources, and an alert rule watches the
 * failing one, so logs, live tail, monitoring and alerts have something to show.
 */

import { systemClock } from '../src/lib/clock.ts';
import { main } from '../src/server.ts';
import { billingPolicy } from '../src/services/billing/policy.ts';
import { DemoDataPlane } from './demo/data-plane.ts';
import { DEMO_DEGRADED, DEMO_EMAIL, DEMO_PASSWORD, ensureDemoObservability, seedDemo } from './demo/seed.ts';
import { OperatorSimulator } from './operator-simulator/simulator.ts';

process.env.DATA_DIR ??= './data-demo';
// Everyone on the standard plan unless Stripe is configured, so every SKU can be tried.
process.env.PLAN_WITHOUT_BILLING ??= 'standard';

await main({
  async companion({ db, config, logger, stripeConfigured }) {
    const policy = billingPolicy(config, stripeConfigured);
    const { created } = await seedDemo({ db, config, clock: systemClock, policy });
    const credential = await ensureDemoObservability({ db, config, clock: systemClock });
    const dataPlane = new DemoDataPlane({ db, clock: systemClock, policy, credential });
    dataPlane.start();
    const simulator = new OperatorSimulator({
      db,
      manifestsDir: 'deploy/operator',
      readyAfterMs: Number(process.env.SIMULATOR_READY_SECONDS ?? 3) * 1000,
      degraded: (child) => child.name === DEMO_DEGRADED,
    });
    await simulator.start();
    logger.info('demo: operator simulator running (a test double of db-query-operator)', { created });
    console.error(
      `\n  ktrlplane demo — sign in as ${DEMO_EMAIL} / ${DEMO_PASSWORD}\n  (an operator simulator, a test double of db-query-operator, deploys the resources)\n`,
    );
    return {
      stop: async () => {
        dataPlane.stop();
        await simulator.stop();
      },
    };
  },
});
