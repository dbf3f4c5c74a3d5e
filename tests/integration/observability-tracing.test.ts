import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { Job } from '../../src/jobs/job.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import type { AppEnv } from '../../src/lib/app-env.ts';
import { KyselyTracingPlugin } from '../../src/lib/kysely-tracing-plugin.ts';
import { metricsRegistry, sseConnectionOpened } from '../../src/lib/metrics.ts';
import { startTracing, type TracingHandle, tracer } from '../../src/lib/tracing.ts';
import { createStripeClient } from '../../src/services/stripe-client.ts';
import { asJson, createOrgFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Tracing with the real SDK (AsyncLocalStorage context manager, W3C propagator) exporting to
 * memory: the span tree of one request, its ids in logs and errors, job runs and Stripe calls.
 */
const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparent = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const BROWSER = { Accept: 'text/html', Origin: 'http://localhost' };

beforeAll(() => {
  tracing = startTracing({ serviceName: 'ktrlplane-test', exporter, batch: false });
});
afterAll(async () => {
  await tracing.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const childrenOf = (parent: ReadableSpan) =>
  spans().filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);

describe('tracing', () => {
  const t = useTestApp();
  const probeRoutes = new Hono<AppEnv>().get('/boom', () => {
    throw new Error('connection to db failed: password=hunter2');
  });
  // The app as server.ts builds it: queries go through the tracing plugin.
  const traced = () =>
    createApp(
      { ...t.deps, db: t.deps.db.withPlugin(new KyselyTracingPlugin()) },
      { extraRoutes: [probeRoutes] },
    );

  beforeEach(() => exporter.reset());

  it('makes one request that reads the database a server span with a child span per statement', async () => {
    const owner = await signUpUser(t, 'traced@example.com');
    await createOrgFor(t, owner, 'Traced', 'traced-org');
    exporter.reset();
    t.logs.length = 0;

    const res = await traced().request('/organizations/traced-org?tab=settings&token=secret-in-query', {
      headers: asJson(owner, { traceparent }),
    });
    expect(res.status).toBe(200);

    const servers = spans().filter((span) => span.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(1);
    const server = servers[0] as ReadableSpan;
    expect(server.name).toBe('GET /organizations/:orgId');
    // The caller's traceparent is the parent: the request joins the caller's trace.
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/organizations/:orgId',
      'http.response.status_code': 200,
      'url.full': 'http://localhost/organizations/traced-org?tab=REDACTED&token=REDACTED',
      'ktrlplane.request_id': res.headers.get('X-Request-Id'),
    });

    const queries = childrenOf(server);
    expect(queries.length).toBeGreaterThanOrEqual(2);
    for (const query of queries) {
      expect(query.kind).toBe(SpanKind.CLIENT);
      expect(query.spanContext().traceId).toBe(TRACE_ID);
      expect(query.attributes['db.system.name']).toBe('postgresql');
      // Statement kind and table, nothing else: no SQL text, no parameter values.
      expect(Object.keys(query.attributes).sort()).toEqual(
        expect.arrayContaining(['db.operation.name', 'db.system.name']),
      );
      for (const key of Object.keys(query.attributes)) {
        expect([
          'db.system.name',
          'db.operation.name',
          'db.collection.name',
          'db.response.returned_rows',
        ]).toContain(key);
      }
      expect(JSON.stringify(query.attributes)).not.toContain(owner.userId);
      expect(JSON.stringify(query.attributes)).not.toContain('traced-org');
    }
    const names = queries.map((query) => query.name);
    expect(names).toContain('SELECT ktrlplane.sessions');
    expect(names.some((name) => name.startsWith('SELECT ktrlplane.organizations'))).toBe(true);
    // Each statement lies within the request.
    for (const query of queries) {
      expect(hrMs(query.startTime)).toBeGreaterThanOrEqual(hrMs(server.startTime) - 1);
      expect(hrMs(query.endTime)).toBeLessThanOrEqual(hrMs(server.endTime) + 1);
    }

    // Every log line of the request carries the server span's ids.
    const lines = t.logs.filter((line) => line.request_id === res.headers.get('X-Request-Id'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.trace_id).toBe(TRACE_ID);
      expect(line.span_id).toBe(server.spanContext().spanId);
    }
  });

  it('starts a new trace for a request without traceparent', async () => {
    const res = await traced().request('/health');
    expect(res.status).toBe(200);
    const server = spans().find((span) => span.kind === SpanKind.SERVER);
    expect(server?.name).toBe('GET /health');
    expect(server?.parentSpanContext).toBeUndefined();
    expect(childrenOf(server as ReadableSpan).map((span) => span.name)).toEqual(['SELECT']);
  });

  it('puts the trace id in problem+json errors and on the error page', async () => {
    const json = await traced().request('/boom', { headers: { Accept: 'application/json', traceparent } });
    expect(json.status).toBe(500);
    const body = await json.json();
    expect(body).toMatchObject({
      status: 500,
      traceId: TRACE_ID,
      requestId: json.headers.get('X-Request-Id'),
    });

    const page = await traced().request('/no-such-page', { headers: { ...BROWSER, traceparent } });
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(html).toContain('Trace id: <code>4bf92f3577b34da6a3ce929d0e0e4736</code>');

    // The failed request's span is an error whose recorded exception has no credential in it.
    const failed = spans().find((span) => span.name === 'GET /boom');
    expect(failed?.status.code).toBe(2);
    expect(JSON.stringify(failed?.events)).toContain('password=[REDACTED]');
    const exported = spans().map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
    }));
    expect(JSON.stringify(exported)).not.toContain('hunter2');
  });

  it('traces each job run as a root span with its statements as children, ids in its log lines', async () => {
    t.logs.length = 0;
    const job: Job = {
      name: 'traced-job',
      schedule: '* * * * *',
      description: 'test',
      run: async ({ trx, log }) => {
        await trx.selectFrom('ktrlplane.users').select('user_id').execute();
        log.info('working');
        return 'done';
      },
    };
    const db = t.deps.db.withPlugin(new KyselyTracingPlugin());
    // Even when started inside a request's context, a job run is a trace of its own.
    await tracer().startActiveSpan('outer', async (outer) => {
      await runJob({ db, clock: t.clock, logger: t.deps.logger, config: t.deps.config }, job, 'test');
      outer.end();
    });
    const run = spans().find((span) => span.name === 'job traced-job') as ReadableSpan;
    expect(run.parentSpanContext).toBeUndefined();
    expect(run.attributes).toMatchObject({
      'job.name': 'traced-job',
      'job.outcome': 'succeeded',
      'job.trigger': 'test',
    });
    expect(childrenOf(run).map((span) => span.name)).toEqual(
      expect.arrayContaining(['SELECT ktrlplane.users', 'INSERT ktrlplane.job_runs']),
    );
    const working = t.logs.find((line) => line.msg === 'working');
    expect(working).toMatchObject({
      job: 'traced-job',
      trace_id: run.spanContext().traceId,
      span_id: run.spanContext().spanId,
    });
    expect(working?.job_run_id).toBe(run.attributes['job.run_id']);
  });

  it('counts open SSE streams and traces each for as long as it is open', async () => {
    const open = async () =>
      (await metricsRegistry.getSingleMetric('sse_connections')?.get())?.values[0]?.value;
    const before = (await open()) ?? 0;
    let close: () => void = () => {};
    await tracer().startActiveSpan('GET /events', async (request) => {
      close = sseConnectionOpened('/events');
      request.end();
    });
    expect(await open()).toBe(before + 1);
    close();
    close();
    expect(await open()).toBe(before);
    const stream = spans().find((span) => span.name === 'SSE /events') as ReadableSpan;
    const request = spans().find((span) => span.name === 'GET /events') as ReadableSpan;
    expect(stream.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });

  describe('outgoing calls to Stripe', () => {
    let stripeServer: Server;
    const received: IncomingHttpHeaders[] = [];
    let stripeUrl = '';

    beforeAll(async () => {
      // A local server speaking just enough of Stripe's wire format for one call.
      stripeServer = createServer((req, res) => {
        received.push(req.headers);
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Request-Id': 'req_test' });
          res.end(JSON.stringify({ id: 'cus_Test1234567', object: 'customer' }));
        });
      });
      await new Promise<void>((resolve) => stripeServer.listen(0, '127.0.0.1', resolve));
      stripeUrl = `http://127.0.0.1:${(stripeServer.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => stripeServer.close(resolve));
    });

    it('sends traceparent, traces the call and counts it by operation and outcome', async () => {
      const stripe = createStripeClient({ STRIPE_SECRET_KEY: 'sk_test_tracing', STRIPE_API_BASE: stripeUrl });
      const counter = async () =>
        (await metricsRegistry.getSingleMetric('stripe_requests_total')?.get())?.values.find(
          (value) => value.labels.operation === 'GET /v1/customers/:id' && value.labels.outcome === 'success',
        )?.value ?? 0;
      const before = await counter();
      let parentTrace = '';
      await tracer().startActiveSpan('billing work', async (span) => {
        parentTrace = span.spanContext().traceId;
        const customer = await stripe?.customers.retrieve('cus_Test1234567');
        expect(customer?.id).toBe('cus_Test1234567');
        span.end();
      });
      const call = spans().find((span) => span.name === 'stripe GET /v1/customers/:id') as ReadableSpan;
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(call.spanContext().traceId).toBe(parentTrace);
      expect(call.attributes['http.response.status_code']).toBe(200);
      const header = String(received.at(-1)?.traceparent);
      expect(header).toBe(`00-${parentTrace}-${call.spanContext().spanId}-01`);
      expect(await counter()).toBe(before + 1);
    });
  });
});

function hrMs(time: [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}
