import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env.ts';

/**
 * One access-log line per request, written when the response is ready: the matched route
 * template (never the raw path, which may carry ids and query strings), status, duration, and who
 * asked. Credentials never reach it: headers are not logged at all.
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const fields = {
      method: c.req.method,
      route: routePath(c, -1) || c.req.routePath,
      status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      user_id: c.get('principal')?.userId,
      org_id: c.get('scope')?.orgId,
    };
    const log = c.get('log');
    if (status >= 500) log.error('request', fields);
    else log.info('request', fields);
  };
}
