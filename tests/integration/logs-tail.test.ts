import { describe, expect, it } from 'vitest';
import {
  asJson,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('live tail under load', () => {
  const t = useTestApp();

  it('drops lines a client cannot take, keeps the stream open and tells it how many it lost', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'api');
    const created = await t.app.request('/projects/web/ingest-tokens', {
      method: 'POST',
      headers: { ...asJson(ada), 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'loki' }),
    });
    const { token } = (await created.json()) as { token: string };
    const push = async (lines: string[]) => {
      const ns = String(BigInt(t.clock.now().getTime()) * 1_000_000n);
      const res = await t.app.request('/loki/api/v1/push', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          streams: [{ stream: { resource_id: 'api' }, values: lines.map((line) => [ns, line]) }],
        }),
      });
      expect(res.status).toBe(204);
    };

    // A client that does not read: its 128 KiB buffer fills up.
    const stream = await t.app.request('/projects/web/resources/api/events?logs=1', { headers: asJson(ada) });
    expect(stream.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const filler = 'x'.repeat(400);
    await push(Array.from({ length: 1_000 }, (_, i) => `line ${i} ${filler}`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Now it reads everything queued, and one more line arrives.
    const client = new SseClient(stream);
    try {
      await client.waitFor((c) => c.events.some((e) => e.event === 'log'), 5_000, 'queued lines');
      await push(['after the flood']);
      await client.waitFor(
        (c) => c.events.some((e) => e.event === 'log' && e.data.includes('after the flood')),
        5_000,
        'the next line',
      );
      const logs = client.events.filter((e) => e.event === 'log');
      const dropped = client.events.find((e) => e.event === 'dropped');
      expect(dropped, 'a dropped notice').toBeDefined();
      const count = JSON.parse(dropped?.data ?? '{}').count as number;
      // Every line is either delivered or counted, and the stream was not cut off.
      expect(logs.length + count).toBe(1_001);
      expect(count).toBeGreaterThan(0);
      expect(client.done).toBe(false);
    } finally {
      await client.close();
    }
  });
});
