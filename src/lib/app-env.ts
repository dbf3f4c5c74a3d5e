import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Stripe } from 'stripe';
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/dialects/node.ts';
import type { Database } from '../db/types.ts';
import type { AuditActor } from '../services/audit.ts';
import type { LogTailSource } from '../services/logs/tail.ts';
import type { Runtime } from '../services/passwords.ts';
import type { Principal } from '../services/principal.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { ResourceEventSource } from '../services/resource-events.ts';
import type { ApiUsageRecorder } from '../services/usage/api-calls.ts';
import type { AssetManifest } from './assets.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { Navigation } from './navigation.ts';
import type { StreamSlots } from './stream-slots.ts';

/** Everything the app is built from. Entries (Node, Workers) and tests compose it the same way. */
export interface AppDeps {
  db: Kysely<Database>;
  dbKind: DatabaseHandle['kind'];
  config: Config;
  clock: Clock;
  logger: Logger;
  assets: AssetManifest;
  /** Null when STRIPE_SECRET_KEY is unset: billing is off and every organization is on the free plan. */
  stripe: Stripe | null;
  /** 'workers' caps password hashing at what Cloudflare allows. */
  runtime: Runtime;
  /** The socket peer's address, where the runtime knows it (Node); see lib/client-ip.ts. */
  remoteAddress?: (c: Context) => string | undefined;
  /**
   * Live resource events for the SSE streams: the process-wide hub on Node (server.ts starts and
   * closes it). Absent on Workers, where each stream polls the history table by itself.
   */
  resourceEvents?: ResourceEventSource;
  /**
   * Where API calls are counted (src/services/usage/api-calls.ts). Node: one per process, flushed
   * on a timer and at shutdown by server.ts; Workers: one per request, flushed in waitUntil.
   * createApp makes one when absent (tests flush it themselves).
   */
  apiUsage?: ApiUsageRecorder;
  /**
   * Live log lines for the same streams (`logs=1`): the process-wide hub on Node. Absent on
   * Workers, where each stream polls its own scope by log id.
   */
  logTail?: LogTailSource;
  /** Open SSE streams per user and per process (lib/stream-slots.ts); createApp makes one when absent. */
  streamSlots?: StreamSlots;
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    requestId: string;
    secureHeadersNonce?: string;
    /** The request's logger, bound to its request id. */
    log: Logger;
    /** The authenticated caller, or null (set by lib/auth-middleware.ts). */
    principal: Principal | null;
    /** Actor, request id, IP and user agent for audit events of this request. */
    auditActor: AuditActor;
    /** The scope a route's permission check authorized (set by requireAccess). */
    scope: AuthorizedScope;
    /** The organization (and project) an API call is counted for, when c.var.scope does not say. */
    usageScope?: { orgId: string; projectId: string | null };
    /** Header data for full pages of a signed-in user (set by lib/navigation.ts). */
    nav?: Navigation;
  };
}
