import { neonConfig, Pool, types } from '@neondatabase/serverless';
import { Kysely, PostgresDialect } from 'kysely';
import { normalisedPgTypes } from '../type-parsers.ts';
import type { Database } from '../types.ts';
import type { DatabaseHandle } from './node.ts';

export interface NeonOptions {
  url: string;
  /**
   * For a Postgres that is not Neon (local development, tests): the host:port/path of a
   * WebSocket-to-TCP proxy. Pipelining must be off there, or authentication fails with
   * "invalid SASL authentication mechanism".
   */
  wsProxy?: string | undefined;
  /** Node 20 has no global WebSocket; pass `ws` there. Workers have one. */
  webSocketConstructor?: unknown;
}

/** Postgres over Neon's WebSocket driver: the database of the Workers runtime. */
export function openNeon(options: NeonOptions): DatabaseHandle {
  if (options.webSocketConstructor) {
    neonConfig.webSocketConstructor = options.webSocketConstructor as typeof neonConfig.webSocketConstructor;
  }
  if (options.wsProxy) {
    const proxy = options.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
  }
  const pool = new Pool({ connectionString: options.url, types: normalisedPgTypes(types) });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'neon', close: () => db.destroy() };
}
