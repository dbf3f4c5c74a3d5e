/**
 * Cold and warm start of `npm start` on the embedded database, measured from spawn to the first
 * `/health` answering UP, next to a baseline measured in the same run: a bare Node HTTP server
 * started the same way (spawn → first answer), which is the floor any Node service pays.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PORT = 18_000 + Math.floor(Math.random() * 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function timeUntilUp(command: string[], env: Record<string, string>, path: string): Promise<number> {
  const started = performance.now();
  const [file = 'npm', ...args] = command;
  const child: ChildProcess = spawn(file, args, {
    env: { ...process.env, ...env, PORT: String(PORT) },
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (;;) {
      if (performance.now() - started > 60_000)
        throw new Error(`${command.join(' ')} did not come up in 60 s`);
      try {
        const res = await fetch(`http://127.0.0.1:${PORT}${path}`);
        if (res.ok) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const baseline: number[] = [];
const cold: number[] = [];
const warm: number[] = [];
for (let run = 0; run < RUNS; run++) {
  baseline.push(
    await timeUntilUp(
      ['node', '-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${PORT})`],
      {},
      '/',
    ),
  );
  const dataDir = await mkdtemp(join(tmpdir(), 'ktrlplane-bench-'));
  const env = { DATA_DIR: dataDir, JOBS_ENABLED: 'false', LOG_LEVEL: 'warn' };
  cold.push(await timeUntilUp(['npm', 'start', '--silent'], env, '/health'));
  warm.push(await timeUntilUp(['npm', 'start', '--silent'], env, '/health'));
  await rm(dataDir, { recursive: true, force: true });
}

console.log(`start-up, spawn → first 200 (median of ${RUNS})`);
console.log(`  baseline: bare node http server   ${fmt(median(baseline))}`);
console.log(
  `  npm start, empty ./data (cold)     ${fmt(median(cold))}  (${(median(cold) / median(baseline)).toFixed(1)}× baseline)`,
);
console.log(
  `  npm start, existing ./data (warm)  ${fmt(median(warm))}  (${(median(warm) / median(baseline)).toFixed(1)}× baseline)`,
);
console.log(`  goal: cold start under 10 s: ${median(cold) < 10_000 ? 'met' : 'NOT met'}`);
