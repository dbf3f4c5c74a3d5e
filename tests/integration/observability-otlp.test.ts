import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { KyselyTracingPlugin } from '../../src/lib/kysely-tracing-plugin.ts';
import { startTracing, type TracingHandle } from '../../src/lib/tracing.ts';
import { asJson, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * "Done when" of the observability issue: one request that creates something shows up as an
 * access log line, a trace with database child spans exported over OTLP/HTTP, and moved counters
 * in /metrics, joined by the same request and trace ids. The receiver is a tiny local HTTP server
 * that keeps what the exporter POSTs (OTLP/HTTP with JSON bodies).
 */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: OtlpSpan['attributes'] };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

const METRICS_TOKEN = 'metrics-token-otlp-0123456789';
const posts: Array<{ path: string; contentType: string; body: OtlpExport }> = [];
let receiver: Server;
let tracing: TracingHandle;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      posts.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // Batched, as in production; the test flushes.
  tracing = startTracing({ serviceName: 'ktrlplane-otlp-test', endpoint });
});

afterAll(async () => {
  await tracing.shutdown();
  await new Promise((resolve) => receiver.close(resolve));
});

function attribute(span: { attributes: OtlpSpan['attributes'] }, key: string): unknown {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
}

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('one creating request, three signals', () => {
  const t = useTestApp({ METRICS_TOKEN });

  it('shows up as an access log line, an exported trace with database spans and moved counters', async () => {
    const app = createApp({ ...t.deps, db: t.deps.db.withPlugin(new KyselyTracingPlugin()) });
    const scrape = async () =>
      (await app.request('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const owner = await signUpUser(t, 'otlp@example.com');
    const labels = 'method="POST",route="/organizations",status="201"';
    const before = await scrape();
    await tracing.forceFlush();
    posts.length = 0;
    t.logs.length = 0;

    const res = await app.request('/organizations', {
      method: 'POST',
      headers: asJson(owner),
      body: JSON.stringify({ name: 'Observed', org_id: 'observed-org' }),
    });
    expect(res.status).toBe(201);
    const requestId = res.headers.get('X-Request-Id');

    // 1. The access log line.
    const access = t.logs.find((line) => line.msg === 'request' && line.request_id === requestId);
    expect(access).toMatchObject({
      method: 'POST',
      route: '/organizations',
      status: 201,
      user_id: owner.userId,
    });
    const traceId = String(access?.trace_id);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    // 2. The trace, as the OTLP/HTTP receiver got it.
    await tracing.forceFlush();
    expect(posts.length).toBeGreaterThan(0);
    expect(posts.every((post) => post.path === '/v1/traces')).toBe(true);
    expect(posts[0]?.contentType).toMatch(/^application\/json/);
    const resource = posts[0]?.body.resourceSpans[0]?.resource;
    expect(resource && attribute(resource, 'service.name')).toBe('ktrlplane-otlp-test');
    const exported = posts.flatMap((post) =>
      post.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
    );
    const trace = exported.filter((span) => span.traceId === traceId);
    const server = trace.find((span) => span.name === 'POST /organizations') as OtlpSpan;
    expect(server).toBeDefined();
    expect(server.spanId).toBe(access?.span_id);
    expect(attribute(server, 'ktrlplane.request_id')).toBe(requestId);
    expect(attribute(server, 'http.response.status_code')).toBe(201);
    const statements = trace.filter((span) => span.parentSpanId === server.spanId).map((span) => span.name);
    expect(statements).toEqual(
      expect.arrayContaining(['INSERT ktrlplane.organizations', 'INSERT ktrlplane.role_assignments']),
    );
    expect(JSON.stringify(trace)).not.toContain('Observed');

    // 3. The counters.
    const after = await scrape();
    expect(sample(after, 'http_requests_total', labels)).toBe(
      sample(before, 'http_requests_total', labels) + 1,
    );
    expect(sample(after, 'http_request_duration_seconds_count', labels)).toBe(
      sample(before, 'http_request_duration_seconds_count', labels) + 1,
    );
  });
});
