import { trace } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env.ts';
import type { Logger } from './logger.ts';
import { recordHttpRequest } from './metrics.ts';
import { traceLogFields } from './tracing.ts';

export interface AccessLogOptions {
  /** Also record http_request_duration_seconds and http_requests_total (when /metrics is exposed). */
  metrics?: boolean;
}

/**
 * One access-log line per request, written when the response is ready: the matched route
 * template (never the raw path, which may carry ids and query strings), status, duration, and who
 * asked. Credentials never reach it: headers are not logged at all. The same measurement feeds the
 * HTTP metrics, so a request is timed once. With logging silenced and metrics off it does nothing
 * but read the clock.
 */
export function accessLog(options: AccessLogOptions = {}): MiddlewareHandler<AppEnv> {
  const metrics = options.metrics ?? false;
  return async function logRequest(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const log = c.get('log');
    const level = status >= 500 ? 'error' : 'info';
    const logging = log.enabled(level);
    if (!logging && !metrics) return;
    const elapsedMs = performance.now() - started;
    // The handler that answered (the deepest one run): a route template, or `/*` when none matched.
    const route = routePath(c) || c.req.routePath;
    if (metrics) recordHttpRequest(c.req.method, route, status, elapsedMs / 1000);
    if (logging) {
      log[level]('request', {
        method: c.req.method,
        route,
        status,
        duration_ms: Math.round(elapsedMs * 100) / 100,
        // user_id and org_id come from the request logger's context (requestLogger below).
      });
    }
  };
}

/**
 * The request's logger: bound to its request id and, when a trace is current, its trace and span
 * ids; the user and organization are read when each line is written, once authentication and the
 * permission check have found them.
 */
export function requestLogger(c: Context<AppEnv>, logger: Logger): Logger {
  const requestId = c.get('requestId');
  // The request id on the server span too: logs, traces and error pages join on either id.
  trace.getActiveSpan()?.setAttribute('ktrlplane.request_id', requestId);
  return logger.child({ request_id: requestId, ...traceLogFields(c) }, () => ({
    user_id: c.get('principal')?.userId,
    org_id: c.get('scope')?.orgId,
  }));
}
