import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, startPrometheus } from '../helpers/monitoring-daemons.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

/**
 * A real Prometheus (Debian's `prometheus` package; .ci/run installs it) scrapes a running
 * ktrlplane on loopback with the metrics bearer token; the test asks Prometheus' HTTP API for the
 * series with the labels it expects, and `promtool check metrics` lints what /metrics serves. The
 * server's whole log output is then searched for the secrets the run planted.
 */
const METRICS_TOKEN = 'e2e-metrics-token-5f3a9c1d';
const PLANTED = {
  password: 'planted-e2e-password-c41a',
  stripeKey: 'sk_test_plantede2estripe7b2e90',
  metricsToken: METRICS_TOKEN,
};
const ORIGIN_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

let server: RunningServer;
let prometheus: Daemon;
let prometheusUrl = '';

interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<QueryResult[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: QueryResult[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

/** Polls until `promql` has a result (Prometheus scrapes every second here). */
async function eventually(promql: string, timeoutMs = 30_000): Promise<QueryResult[]> {
  const started = Date.now();
  for (;;) {
    try {
      const result = await query(promql);
      if (result.length > 0) return result;
    } catch {
      // not up yet
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`no result for ${promql} in ${timeoutMs} ms; prometheus said:\n${prometheus.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  server = await startServer({
    METRICS_TOKEN,
    STRIPE_SECRET_KEY: PLANTED.stripeKey,
    LOG_LEVEL: 'debug',
  });
  prometheus = await startPrometheus({
    job: 'ktrlplane',
    targets: [`127.0.0.1:${new URL(server.url).port}`],
    bearer: METRICS_TOKEN,
  });
  prometheusUrl = prometheus.url;
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  expect(await server?.stop()).toBe(0);
}, 30_000);

describe('Prometheus scraping ktrlplane', () => {
  it('finds the request series with their labels, scraped with the bearer token', async () => {
    // Traffic that makes series: sign up, create an organization, read it, miss a page.
    const signup = await fetch(`${server.url}/auth/signup`, {
      method: 'POST',
      headers: { ...ORIGIN_HEADERS, Origin: server.url },
      body: JSON.stringify({ email: 'prom@example.com', name: 'Prom', password: PLANTED.password }),
    });
    // Sign-up answers "check your inbox" without a session; signing in gives one.
    expect(signup.status).toBe(202);
    const login = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { ...ORIGIN_HEADERS, Origin: server.url },
      body: JSON.stringify({ email: 'prom@example.com', password: PLANTED.password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('Set-Cookie')?.split(';')[0] ?? '';
    const created = await fetch(`${server.url}/organizations`, {
      method: 'POST',
      headers: { ...ORIGIN_HEADERS, Origin: server.url, Cookie: cookie },
      body: JSON.stringify({ name: 'Scraped', org_id: 'scraped-org' }),
    });
    expect(created.status).toBe(201);
    expect(
      (
        await fetch(`${server.url}/organizations/scraped-org`, {
          headers: { ...ORIGIN_HEADERS, Cookie: cookie },
        })
      ).status,
    ).toBe(200);
    expect((await fetch(`${server.url}/no-such-page`)).status).toBe(404);

    const up = await eventually('up{job="ktrlplane"} == 1');
    expect(up[0]?.metric.instance).toMatch(/^127\.0\.0\.1:\d+$/);

    const posts = await eventually('http_requests_total{method="POST",route="/organizations",status="201"}');
    expect(Number(posts[0]?.value[1])).toBeGreaterThanOrEqual(1);
    const reads = await eventually('http_requests_total{method="GET",route="/organizations/:orgId"}');
    expect(reads[0]?.metric).toMatchObject({ status: '200', job: 'ktrlplane' });
    // Raw paths never become labels.
    expect(await query('http_requests_total{route=~".*scraped-org.*"}')).toEqual([]);

    const buckets = await eventually(
      'http_request_duration_seconds_bucket{method="POST",route="/organizations",status="201",le="+Inf"}',
    );
    expect(Number(buckets[0]?.value[1])).toBeGreaterThanOrEqual(1);
    const p99 = await eventually(
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))',
    );
    expect(p99.length).toBe(1);
    await eventually('process_resident_memory_bytes > 0');
    await eventually('nodejs_eventloop_lag_seconds >= 0');
    await eventually('usage_events_ingested_total == 0');
    await eventually('sse_connections == 0');
  });

  it('serves /metrics that promtool accepts, and only with the token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${server.url}/metrics`, {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('never wrote a planted secret to its log', async () => {
    const output = server.output();
    expect(output).toContain('"msg":"request"');
    expect(output).toMatch(/"trace_id":"[0-9a-f]{32}"/);
    for (const [name, value] of Object.entries(PLANTED)) {
      expect(output.includes(value), `${name} leaked into the server log`).toBe(false);
    }
  });
});
