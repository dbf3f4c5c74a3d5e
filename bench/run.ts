/**
 * `npm run bench`: every benchmark in this folder, one after another, at the sizes people measure
 * with. `npm run bench -- --smoke` runs the same scripts with tiny sizes and short durations (well
 * under two minutes in all) so CI proves every benchmark still runs; its figures mean nothing.
 * `-- --only NAME[,NAME]` picks scripts by file name (e.g. `--only sse,logs`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Each script with the environment that shrinks it for a smoke run. */
const benches: Array<{ script: string; smoke: Record<string, string> }> = [
  { script: 'bench/cold-start.ts', smoke: { BENCH_RUNS: '1' } },
  { script: 'bench/permission-check.ts', smoke: { BENCH_SECONDS: '1' } },
  { script: 'bench/resources-list.ts', smoke: { BENCH_SECONDS: '1' } },
  { script: 'bench/forms.tsx', smoke: { BENCH_RENDERS: '50', BENCH_SECONDS: '1' } },
  { script: 'bench/observability.ts', smoke: { BENCH_SECONDS: '1', BENCH_RUNS: '1' } },
  {
    script: 'bench/sse.ts',
    smoke: { BENCH_SSE_CLIENTS: '20', BENCH_SSE_UPDATES: '2', BENCH_SSE_PROCESSES: '1' },
  },
  { script: 'bench/webhooks.ts', smoke: { BENCH_SECONDS: '1', BENCH_RUNS: '1' } },
  { script: 'bench/usage-ingest.ts', smoke: { BENCH_USAGE_BATCHES: '4', BENCH_ROLLUP_EVENTS: '10000' } },
  {
    script: 'bench/logs.ts',
    smoke: {
      BENCH_LOGS_BATCHES: '4',
      BENCH_LOGS_STORED: '10000',
      BENCH_LOGS_SEARCHES: '5',
      BENCH_LOGS_TAIL_LINES: '5',
    },
  },
  { script: 'bench/alerts.ts', smoke: { BENCH_RUNS: '1', BENCH_ALERT_PROJECTS: '2' } },
];

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const onlyArg = args[args.indexOf('--only') + 1];
const only = args.includes('--only') && onlyArg ? onlyArg.split(',') : undefined;
const selected = benches.filter(
  ({ script }) => !only || only.some((name) => script.replace(/^bench\/|\.tsx?$/g, '') === name),
);
if (selected.length === 0) {
  console.error(`no benchmark matches --only ${onlyArg}`);
  process.exit(2);
}

// The servers the benchmarks start serve the built assets; a fresh clone has none yet.
if (!existsSync('dist/public/static/manifest.json')) {
  const build = spawnSync('npm', ['run', 'build:static', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const started = performance.now();
const failed: string[] = [];
for (const { script, smoke: smokeEnv } of selected) {
  console.log(`\n## ${script}${smoke ? ' (smoke)' : ''}`);
  const begun = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
    stdio: 'inherit',
    env: smoke ? { ...process.env, ...smokeEnv } : process.env,
    // A smoke run that hangs is a failure, not a stuck CI.
    timeout: smoke ? 120_000 : undefined,
  });
  const seconds = ((performance.now() - begun) / 1000).toFixed(1);
  if (result.status !== 0) {
    failed.push(script);
    console.error(`${script} failed (${result.signal ?? `exit ${result.status}`}) after ${seconds} s`);
    if (!smoke) process.exit(result.status ?? 1);
  } else console.log(`(${script}: ${seconds} s)`);
}
const total = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `\n${selected.length - failed.length} passed, ${failed.length} failed (benchmarks${smoke ? ', smoke' : ''}, ${total} s)`,
);
if (failed.length > 0) process.exit(1);
