/** `npm run bench`: every benchmark in this folder, one after another. */
import { spawnSync } from 'node:child_process';

const benches = [
  'bench/cold-start.ts',
  'bench/permission-check.ts',
  'bench/resources-list.ts',
  'bench/forms.tsx',
  'bench/observability.ts',
  'bench/sse.ts',
  'bench/webhooks.ts',
  'bench/logs.ts',
  'bench/alerts.ts',
];
for (const bench of benches) {
  console.log(`\n## ${bench}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', bench], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
