import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireUser } from '../lib/auth-middleware.ts';
import { parseInput, readBody } from '../lib/input.ts';
import { usageEventsIngestedTotal } from '../lib/metrics.ts';
import { usageEventBatchInput } from '../schemas/usage-events.ts';
import { ingestUsageEvents } from '../services/usage/events.ts';

/**
 * POST /api/v1/usage/events — data planes report usage (JSON only, under /api/v1 alone).
 * Body `{ events: [{ id, metric, resourceId, time, value, attributes? }] }`, at most 1,000.
 * 422 (nothing stored) when the batch or any event is malformed, names an unknown metric or lies
 * more than 5 minutes ahead. Otherwise every event gets a result: 201 accepted, 200 duplicate,
 * 409 conflict (same id, other payload), 404/403 for its resource. The answer is 200 when every
 * event was accepted or a duplicate, 207 when some were not.
 */
export const usageEventsRoutes = new Hono<AppEnv>();

usageEventsRoutes.post('/usage/events', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const input = parseInput(usageEventBatchInput, await readBody(c));
  const outcome = await ingestUsageEvents(db, currentPrincipal(c), input.events, clock.now());
  if (outcome.scope) c.set('usageScope', outcome.scope);
  usageEventsIngestedTotal.inc(outcome.accepted);
  const body = {
    accepted: outcome.accepted,
    duplicates: outcome.duplicates,
    rejected: outcome.rejected,
    results: outcome.results,
  };
  return c.json(body, outcome.rejected === 0 ? 200 : 207);
});
