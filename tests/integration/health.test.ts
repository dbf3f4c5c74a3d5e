import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('GET /health', () => {
  const t = useTestApp();

  it('answers UP after the database answers', async () => {
    const res = await t.app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'UP' });
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('answers the same under /api/v1', async () => {
    const res = await t.app.request('/api/v1/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'UP' });
  });

  it('answers DOWN with 503 when the database is gone', async () => {
    // Port 1 refuses connections at once: a database that does not answer.
    const unreachable = openPostgres('postgres://nobody@127.0.0.1:1/none', { max: 1 });
    const app = createApp({ ...t.deps, db: unreachable.db });
    const res = await app.request('/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'DOWN' });
    await unreachable.close();
  });
});
