import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Debian's Prometheus and Alertmanager for browser and end-to-end tests (.ci/run installs both):
 * each on a free loopback port with its own configuration and data folder, stopped and removed
 * by `stop()`. Alertmanager runs without clustering (no second port, no gossip).
 */
export interface Daemon {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startDaemon(
  binary: string,
  config: { file: string; text: string },
  args: (dir: string, port: number) => string[],
  ready: string,
): Promise<Daemon> {
  if (spawnSync(binary, ['--version']).error) {
    throw new Error(
      `${binary} is not installed: apt-get install ${binary === 'prometheus' ? 'prometheus' : 'prometheus-alertmanager'} (.ci/run does)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), `ktrlplane-${binary}-`));
  await writeFile(join(dir, config.file), config.text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(binary, args(dir, port), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const started = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${url}${ready}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() - started > 30_000) {
      throw new Error(`${binary} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Prometheus scraping `targets` (host:port) at `metricsPath` every second. */
export function startPrometheus(scrape: {
  job: string;
  targets: string[];
  metricsPath?: string;
  bearer?: string;
}): Promise<Daemon> {
  const text = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${scrape.job}`,
    `    metrics_path: ${scrape.metricsPath ?? '/metrics'}`,
    ...(scrape.bearer
      ? ['    authorization:', '      type: Bearer', `      credentials: ${scrape.bearer}`]
      : []),
    '    static_configs:',
    `      - targets: [${scrape.targets.map((target) => `'${target}'`).join(', ')}]`,
    '',
  ].join('\n');
  return startDaemon(
    'prometheus',
    { file: 'prometheus.yml', text },
    (dir, port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    '/-/ready',
  );
}

/** Alertmanager with one receiver that sends nowhere: tests read what it holds through its API. */
export function startAlertmanager(): Promise<Daemon> {
  const text = ['route:', '  receiver: blackhole', 'receivers:', '  - name: blackhole', ''].join('\n');
  return startDaemon(
    'prometheus-alertmanager',
    { file: 'alertmanager.yml', text },
    (dir, port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    '/-/ready',
  );
}
