/**
 * Alert evaluation cost on PostgreSQL: one evaluate-alerts run over 500 status rules (50 projects
 * × 10 rules, each project with 20 resources and a day of status history) — what the job does
 * every 30 seconds — and the 24-hour preview of one rule (1,440 evaluations replayed). Baselines in
 * the same run: the plain history SELECTs the run and the preview need (the floor any evaluation
 * pays), so the ratio is the cost of the state machine, history and bookkeeping.
 */
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { statusChangesInRange } from '../src/db/resource-history.repository.ts';
import { evaluateAlertsJob } from '../src/jobs/evaluate-alerts.ts';
import { runJob } from '../src/jobs/run-job.ts';
import { systemClock } from '../src/lib/clock.ts';
import { createLogger } from '../src/lib/logger.ts';
import { alertRuleInput } from '../src/schemas/alerts.ts';
import { previewAlertRule } from '../src/services/alerts/rules.ts';
import { projectScopeForJob } from '../src/services/rbac.ts';
import { scratchDatabase } from './lib/server.ts';

const PROJECTS = Number(process.env.BENCH_ALERT_PROJECTS ?? 50);
const RESOURCES = 20;
const RULES_PER_PROJECT = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const database = await scratchDatabase('ktrlplane_bench_alerts');
const db = database.db;
const now = new Date();
const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent' });
const logger = createLogger({ level: 'silent', format: 'json', write: () => {} });

await db.insertInto('ktrlplane.organizations').values({ org_id: 'bench-org', name: 'Bench' }).execute();
const statuses = ['Healthy', 'Degraded', 'Progressing', 'Healthy', 'Failed'];
for (let p = 0; p < PROJECTS; p++) {
  const projectId = `bench-p${p}`;
  await db
    .insertInto('ktrlplane.projects')
    .values({ project_id: projectId, org_id: 'bench-org', name: projectId })
    .execute();
  const history = [];
  for (let r = 0; r < RESOURCES; r++) {
    // A status change every 30 minutes over the last day.
    for (let step = 48; step >= 0; step--) {
      history.push({
        resource_id: `${projectId}-r${r}`,
        project_id: projectId,
        status: statuses[(step + r) % statuses.length] as string,
        generation: 1,
        deployment_state: 'deployed',
        at: new Date(now.getTime() - step * 30 * 60_000 - r * 1000),
      });
    }
  }
  await db.insertInto('ktrlplane.resource_deployments').values(history).execute();
  await db
    .insertInto('ktrlplane.alert_rules')
    .values(
      Array.from({ length: RULES_PER_PROJECT }, (_, index) => ({
        project_id: projectId,
        name: `rule ${index}`,
        kind: 'status' as const,
        params: JSON.stringify({ status: statuses[index % statuses.length] }),
        comparator: '>' as const,
        threshold: index % 3,
        window_seconds: 300 * (1 + (index % 4)),
        for_seconds: 0,
        severity: 'warning' as const,
        labels: '{}',
        runbook_url: null,
        channel_ids: '[]',
        created_by: null,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}
await sql`ANALYZE`.execute(db);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

try {
  const deps = { db, clock: systemClock, logger, config };
  await runJob(deps, evaluateAlertsJob, 'bench'); // warm-up
  const runs: number[] = [];
  const floors: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    runs.push(await time(() => runJob(deps, evaluateAlertsJob, 'bench')));
    floors.push(
      await time(async () => {
        for (let p = 0; p < PROJECTS; p++) {
          const scope = projectScopeForJob('bench-org', `bench-p${p}`);
          for (let index = 0; index < RULES_PER_PROJECT; index++) {
            await statusChangesInRange(db, scope, { from: new Date(now.getTime() - 1_200_000), to: now });
          }
        }
      }),
    );
  }
  const rules = PROJECTS * RULES_PER_PROJECT;
  const input = alertRuleInput.parse({
    name: 'p',
    kind: 'status',
    status: 'Degraded',
    threshold: 0,
    window_minutes: 10,
  });
  const scope = projectScopeForJob('bench-org', 'bench-p0');
  const previews: number[] = [];
  const previewFloors: number[] = [];
  for (let run = 0; run < RUNS * 3; run++) {
    previews.push(await time(() => previewAlertRule(db, scope, config, input, new Date())));
    previewFloors.push(
      await time(() =>
        statusChangesInRange(db, scope, {
          from: new Date(now.getTime() - 24 * 3_600_000 - 600_000),
          to: now,
        }),
      ),
    );
  }
  const run = median(runs);
  const floor = median(floors);
  console.log(
    `alert evaluation, PostgreSQL, ${rules} status rules over ${PROJECTS} projects × ${RESOURCES} resources, median of ${RUNS}`,
  );
  console.log(`  baseline: the ${rules} history SELECTs alone   ${floor.toFixed(0)} ms`);
  console.log(
    `  evaluate-alerts run                      ${run.toFixed(0)} ms  (${Math.round(rules / (run / 1000))} rules/s, ${(run / floor).toFixed(2)}× the baseline; budget 30,000 ms)`,
  );
  const preview = median(previews);
  const previewFloor = median(previewFloors);
  console.log(`  baseline: a day of one project's history SELECT   ${previewFloor.toFixed(1)} ms`);
  console.log(
    `  24-hour preview of one rule (1,440 evaluations)   ${preview.toFixed(1)} ms  (${(preview / previewFloor).toFixed(2)}× the baseline)`,
  );
} finally {
  await database.drop();
}
