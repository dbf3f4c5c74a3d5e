import { type Context, Hono } from 'hono';
import type { AppDeps, AppEnv } from '../lib/app-env.ts';
import { constantTimeEqual } from '../lib/crypto.ts';
import { handleNotFound } from '../lib/error-handler.tsx';
import { AppError } from '../lib/errors.ts';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../lib/metrics.ts';

type MetricsDeps = Pick<AppDeps, 'db' | 'clock' | 'config' | 'runtime'>;

/**
 * GET /metrics in Prometheus' text format, never public by default:
 * - with METRICS_TOKEN, the caller must send `Authorization: Bearer <METRICS_TOKEN>` (401 else);
 * - without it the main app answers 404, exactly like an unknown path, and the metrics are
 *   reachable only on METRICS_PORT when that is set (server.ts);
 * - on Workers always 404: each isolate would count only its own requests (see README).
 * Mounted before authentication, so the metrics token is never mistaken for an API token.
 */
export const metricsRoutes = new Hono<AppEnv>().get('/metrics', async (c) => {
  const deps = c.get('deps');
  if (deps.runtime === 'workers' || !deps.config.METRICS_TOKEN) return handleNotFound(c);
  return metricsResponse(c, deps, deps.config.METRICS_TOKEN);
});

/**
 * The listener of METRICS_PORT: /metrics and nothing else, without the app's pipeline. It still
 * wants the bearer token when METRICS_TOKEN is set; keep the port itself off the internet.
 */
export function createMetricsApp(deps: MetricsDeps): Hono {
  const app = new Hono();
  app.get('/metrics', (c) => metricsResponse(c, deps, deps.config.METRICS_TOKEN));
  app.notFound((c) => c.text('Not Found', 404));
  app.onError((error, c) =>
    error instanceof AppError
      ? c.text(error.detail, error.status, error.headers)
      : c.text('Metrics are unavailable right now.', 500),
  );
  return app;
}

async function metricsResponse(c: Context, deps: MetricsDeps, token: string | undefined): Promise<Response> {
  if (token && !bearerMatches(c.req.header('Authorization'), token)) {
    throw new AppError(
      401,
      'Unauthorized',
      'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".',
      [],
      {
        'WWW-Authenticate': 'Bearer realm="metrics"',
      },
    );
  }
  const body = await renderMetrics(deps.db, deps.clock.now().getTime());
  return c.body(body, 200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
}

const encoder = new TextEncoder();

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) return false;
  const given = encoder.encode(match[1]);
  const expected = encoder.encode(token);
  return given.length === expected.length && constantTimeEqual(given, expected);
}
