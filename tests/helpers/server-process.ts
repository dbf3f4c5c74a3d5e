import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningServer {
  url: string;
  process: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts the real Node server (src/server.ts) on a free port with a fresh embedded database, or
 * the server given by DATABASE_URL in `env`, and resolves once it prints its URL.
 */
export async function startServer(
  env: Record<string, string> = {},
  // PGlite starts in 3–4 s on an idle machine, but well over 20 s on a loaded one.
  timeoutMs = 50_000,
): Promise<RunningServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ktrlplane-data-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    // Vitest exports BASE_URL=/ (Vite's base path) into process.env; the server must not inherit it.
    env: {
      ...process.env,
      BASE_URL: '',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      JOBS_ENABLED: 'false',
      // Billing off, everyone on standard (as in the in-process tests), unless a test says otherwise.
      PLAN_WITHOUT_BILLING: 'standard',
      // Webhook receivers and Alertmanager run on this machine in tests.
      OUTBOUND_PRIVATE_TARGETS: 'allow',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    process: child,
    output: () => output,
    stop: async () => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = child.exitCode ?? (await exited);
      await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
