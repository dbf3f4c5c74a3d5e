/** Shared by the benchmarks: a throwaway Postgres database and the real server started on it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { sql } from 'kysely';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export const SERVER_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A migrated database of its own; `drop` removes it. */
export async function scratchDatabase(prefix: string) {
  const name = `${prefix}_${Date.now()}`;
  const admin = openPostgres(SERVER_URL, { max: 1 });
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  const handle = openPostgres(databaseUrl(name), { max: 4 });
  await migrateToLatest(handle.db);
  return {
    url: databaseUrl(name),
    db: handle.db,
    drop: async () => {
      await handle.close();
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
      await admin.close();
    },
  };
}

/** Starts src/server.ts on `port` and resolves when /health answers. */
export async function startServer(
  env: Record<string, string>,
  port: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      BASE_URL: '',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      JOBS_ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // What the server said on stderr, so a benchmark whose server fails to start says why.
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (exited !== null) throw new Error(`server exited with ${exited} before answering:\n${stderr}`);
    if (Date.now() - started > 60_000) throw new Error(`server did not start in 60 s:\n${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not yet listening
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (exited !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
