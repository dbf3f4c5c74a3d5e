import type { MiddlewareHandler } from 'hono';
import type { ApiUsageRecorder } from '../services/usage/api-calls.ts';
import type { AppEnv } from './app-env.ts';

/**
 * Counts calls to /api/v1 per organization, project and token into `recorder` (memory; flushed
 * in batches, see ApiUsageRecorder). The organization is the one the route's permission check
 * resolved (c.var.scope), or the one a route names in c.var.usageScope (the usage event API),
 * or the token's own organization; calls that concern no organization (listing your
 * organizations, health) are not counted. Errors count too: the error handler has answered by
 * the time next() returns.
 */
export function apiUsageCounter(recorder: () => ApiUsageRecorder): MiddlewareHandler<AppEnv> {
  return async function countApiUsage(c, next) {
    const started = performance.now();
    await next();
    const scope = c.get('usageScope') ?? c.get('scope');
    const token = c.get('principal')?.token;
    const orgId = scope?.orgId ?? (token?.scopeType === 'organization' ? token.scopeId : null);
    if (!orgId) return;
    recorder().record({
      orgId,
      projectId: scope?.projectId ?? '',
      tokenId: token?.tokenId ?? '',
      at: c.get('deps').clock.now(),
      status: c.res.status,
      durationMs: performance.now() - started,
    });
  };
}
