import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { createAdaptorServer } from '@hono/node-server';
import { context, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { parseLokiLabels } from '../../src/services/logs/loki-labels.ts';
import { decodeOtlpProtobuf } from '../../src/services/logs/protobuf-wire.ts';
import { decodeOtlpLogs } from '../../src/services/logs/wire-formats.ts';
import {
  as,
  asJson,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Loki's push.proto (logproto), transcribed here independently of src/services/logs: the encoder a
 * test ships with must not share its field numbers with the decoder it tests.
 */
const lokiRoot = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
      },
    },
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'google.protobuf.Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
      },
    },
  },
});
const PushRequest = lokiRoot.lookupType('logproto.PushRequest');
const snappy = (bytes: Uint8Array) => new Uint8Array(compress(bytes));

interface LokiEntry {
  line: string;
  ms: number;
  metadata?: Record<string, string>;
}

/** A Loki protobuf push body as Promtail and Alloy send it: PushRequest, snappy block-compressed. */
function lokiBody(streams: Array<{ labels: string; entries: LokiEntry[] }>): Uint8Array<ArrayBuffer> {
  const message = PushRequest.fromObject({
    streams: streams.map((stream) => ({
      labels: stream.labels,
      entries: stream.entries.map((entry) => ({
        timestamp: { seconds: Math.floor(entry.ms / 1000), nanos: (entry.ms % 1000) * 1_000_000 + 789 },
        line: entry.line,
        structuredMetadata: Object.entries(entry.metadata ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })),
  });
  return snappy(PushRequest.encode(message).finish());
}

describe('log ingest in protobuf (OTLP/HTTP protobuf, Loki push with snappy)', () => {
  const t = useTestApp({ LOG_INGEST_MAX_BYTES: String(64 * 1024) });

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'api');
    await createResourceRow(t, 'web', 'worker');
    const created = await t.app.request('/projects/web/ingest-tokens', {
      method: 'POST',
      headers: { ...asJson(ada), 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'shippers' }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    return { ada, token };
  }

  const stored = () =>
    t.database.db
      .selectFrom('ktrlplane.logs')
      .select(['resource_id', 'level', 'message', 'attributes', 'ts', 'source'])
      .orderBy('log_id')
      .execute();

  async function listen() {
    const server = createAdaptorServer({ fetch: t.app.fetch });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  /** Opens the resource's live tail and waits until the hub has started. */
  async function tail(ada: Awaited<ReturnType<typeof setup>>['ada'], resource: string) {
    const res = await t.app.request(`/projects/web/resources/${resource}/events?logs=1`, {
      headers: as(ada),
    });
    expect(res.status).toBe(200);
    const client = new SseClient(res);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return client;
  }
  const tailed = (client: SseClient) =>
    client.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data).message as string);

  async function search(ada: Awaited<ReturnType<typeof setup>>['ada'], resource: string, q: string) {
    const path = `/projects/web/resources/${resource}/logs?q=${encodeURIComponent(q)}`;
    const json = await t.app.request(path, { headers: asJson(ada) });
    expect(json.status).toBe(200);
    const html = await t.app.request(path, { headers: as(ada) });
    expect(html.status).toBe(200);
    return {
      messages: ((await json.json()) as { entries: Array<{ message: string }> }).entries.map(
        (e) => e.message,
      ),
      html: await html.text(),
    };
  }

  it('takes the official OpenTelemetry JS protobuf exporter (gzip), searchable and tailed live', async () => {
    const { ada, token } = await setup();
    const client = await tail(ada, 'api');
    const server = await listen();
    try {
      const exporter = new OTLPLogExporter({
        url: `${server.url}/v1/logs`,
        headers: { Authorization: `Bearer ${token}` },
        compression: 'gzip' as never,
      });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ resource_id: 'api', 'service.name': 'checkout' }),
        processors: [new BatchLogRecordProcessor({ exporter })],
      });
      const logger = provider.getLogger('checkout');
      for (let i = 0; i < 12; i += 1) {
        logger.emit({
          severityNumber: i % 4 === 0 ? 17 : 9,
          severityText: i % 4 === 0 ? 'ERROR' : 'INFO',
          body: i % 4 === 0 ? `payment ${i} declined` : `order ${i} shipped`,
          attributes: { 'order.id': i, 'http.status': i % 4 === 0 ? 502 : 200 },
          timestamp: t.clock.now(),
        });
      }
      await provider.forceFlush();
      await provider.shutdown();
      const rows = await stored();
      expect(rows).toHaveLength(12);
      expect(rows.every((row) => row.source === 'otlp' && row.resource_id === 'api')).toBe(true);
      expect(rows[0]).toMatchObject({ level: 'error', message: 'payment 0 declined' });
      expect(rows[0]?.attributes).toMatchObject({
        'order.id': 0,
        'http.status': 502,
        'service.name': 'checkout',
        'otel.scope.name': 'checkout',
      });
      expect(rows[0]?.ts.toISOString()).toBe(t.clock.now().toISOString());

      const found = await search(ada, 'api', 'declined attr.http.status:>=500');
      expect(found.messages.sort()).toEqual([
        'payment 0 declined',
        'payment 4 declined',
        'payment 8 declined',
      ]);
      expect(found.html).toContain('payment 4 declined');
      expect(found.html).not.toContain('order 1 shipped');

      await client.waitFor((c) => tailed(c).length >= 12, 5_000, 'twelve tailed lines');
      expect(tailed(client)).toContain('order 11 shipped');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('decodes a protobuf batch to exactly the lines its JSON encoding gives', async () => {
    // The same records through OpenTelemetry's own JSON and protobuf serialisers.
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ resource_id: 'api', 'host.name': 'box-1', 'process.pid': 4242 }),
      processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    });
    const logger = provider.getLogger('lib.scope', '1.2.3');
    const spanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    };
    logger.emit({
      severityNumber: 13,
      severityText: 'WARN',
      body: 'text body',
      eventName: 'checkout.retry',
      attributes: {
        str: 'v',
        int: 42,
        big: 2 ** 40,
        neg: -7,
        dbl: 1.5,
        yes: true,
        no: false,
        list: ['a', 'b'],
        nums: [1, 2, 3],
        bytes: new Uint8Array([1, 2, 250]),
      },
      timestamp: new Date('2026-11-27T11:59:00.123Z'),
      context: trace.setSpanContext(context.active(), spanContext),
    });
    logger.emit({ severityText: 'error', body: { nested: { deep: 'x' }, n: 3 } as never });
    logger.emit({ body: 12345 as never, observedTimestamp: new Date('2026-11-27T11:58:00.000Z') });
    logger.emit({ severityNumber: 24, body: '' });
    await provider.forceFlush();
    const records = memory.getFinishedLogRecords();
    expect(records).toHaveLength(4);
    const json = JSON.parse(new TextDecoder().decode(JsonLogsSerializer.serializeRequest(records)));
    const binary = ProtobufLogsSerializer.serializeRequest(records);
    if (!binary) throw new Error('the protobuf serialiser gave nothing');
    const fromJson = decodeOtlpLogs(json);
    const fromProtobuf = decodeOtlpProtobuf(binary);
    expect(fromProtobuf).toEqual(fromJson);
    // And what that is, so the equality cannot hold by both being empty.
    expect(fromProtobuf[0]).toMatchObject({
      resourceId: 'api',
      level: 'warn',
      message: 'text body',
      ts: new Date('2026-11-27T11:59:00.123Z'),
      attributes: {
        str: 'v',
        int: 42,
        big: 2 ** 40,
        neg: -7,
        dbl: 1.5,
        yes: true,
        no: false,
        list: ['a', 'b'],
        nums: [1, 2, 3],
        bytes: 'AQL6',
        'host.name': 'box-1',
        'process.pid': 4242,
        'otel.scope.name': 'lib.scope',
        trace_id: spanContext.traceId,
        span_id: spanContext.spanId,
        'event.name': 'checkout.retry',
      },
    });
    expect(fromProtobuf[1]).toMatchObject({ level: 'error', message: '{"nested":{"deep":"x"},"n":3}' });
    expect(fromProtobuf[2]).toMatchObject({ message: '12345', level: 'info' });
    expect(fromProtobuf[3]).toMatchObject({ message: '', level: 'fatal' });
    await provider.shutdown();
  });

  it('takes a snappy-compressed Loki protobuf push, searchable and tailed live', async () => {
    const { ada, token } = await setup();
    const client = await tail(ada, 'worker');
    const now = t.clock.now().getTime();
    try {
      const res = await t.app.request('/loki/api/v1/push', {
        method: 'POST',
        headers: {
          Authorization: `Basic ${btoa(`1234:${token}`)}`,
          'Content-Type': 'application/x-protobuf',
        },
        body: lokiBody([
          {
            labels: '{resource_id="worker", job="queue", level="error"}',
            entries: [
              { line: 'job 7 failed: timeout', ms: now - 2_000, metadata: { trace_id: 'abc123' } },
              { line: 'job 8 failed: oom', ms: now - 1_000 },
            ],
          },
          {
            labels: '{resource_id="worker",job="queue",note="say \\"hi\\""}',
            entries: [{ line: 'job 9 done', ms: now }],
          },
          { labels: '{resource_id="shop-db"}', entries: [{ line: 'not ours', ms: now }] },
        ]),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('1 of 4 log lines were refused');
      const rows = await stored();
      expect(rows.map((row) => [row.resource_id, row.level, row.message, row.source])).toEqual([
        ['worker', 'error', 'job 7 failed: timeout', 'loki'],
        ['worker', 'error', 'job 8 failed: oom', 'loki'],
        ['worker', 'info', 'job 9 done', 'loki'],
      ]);
      expect(rows[0]?.attributes).toEqual({ job: 'queue', level: 'error', trace_id: 'abc123' });
      expect(rows[2]?.attributes).toEqual({ job: 'queue', note: 'say "hi"' });
      expect(rows[0]?.ts.toISOString()).toBe(new Date(now - 2_000).toISOString());

      const found = await search(ada, 'worker', 'failed AND level:error');
      expect(found.messages).toEqual(['job 8 failed: oom', 'job 7 failed: timeout']);
      expect(found.html).toContain('job 7 failed: timeout');
      expect(found.html).not.toContain('job 9 done');

      await client.waitFor((c) => tailed(c).length >= 3, 5_000, 'three tailed lines');
      expect(tailed(client)).toEqual(['job 7 failed: timeout', 'job 8 failed: oom', 'job 9 done']);
    } finally {
      await client.close();
    }
    // An all-accepted push answers 204, as Loki does.
    const ok = await t.app.request('/loki/api/v1/push', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-protobuf' },
      body: lokiBody([{ labels: '{resource_id="api"}', entries: [{ line: 'fine', ms: now }] }]),
    });
    expect(ok.status).toBe(204);
  });

  it('answers 400 on bad protobuf, 413 on bombs and 415 on other media types', async () => {
    const { token } = await setup();
    const send = (path: string, headers: Record<string, string>, body: BodyInit) =>
      t.app.request(path, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, ...headers },
        body,
      });
    const proto = { 'Content-Type': 'application/x-protobuf' };

    const garbage = await send('/v1/logs', proto, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(garbage.status).toBe(400);
    const answer = (await garbage.json()) as { code: number; message: string };
    expect(answer.code).toBe(3);
    expect(answer.message).toContain('not a protobuf-encoded OTLP ExportLogsServiceRequest');

    const notSnappy = await send(
      '/loki/api/v1/push',
      proto,
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    );
    expect(notSnappy.status).toBe(400);
    expect(await notSnappy.text()).toContain('not snappy-compressed');

    const snappyGarbage = await send('/loki/api/v1/push', proto, snappy(new Uint8Array([0x0a, 0x05, 0x01])));
    expect(snappyGarbage.status).toBe(400);
    expect(await snappyGarbage.text()).toContain('not a protobuf-encoded Loki PushRequest');

    const badLabels = await send(
      '/loki/api/v1/push',
      proto,
      lokiBody([{ labels: 'resource_id=api', entries: [{ line: 'x', ms: t.clock.now().getTime() }] }]),
    );
    expect(badLabels.status).toBe(400);
    expect(await badLabels.text()).toContain('Stream 1 has labels "resource_id=api"');

    // 1 MiB of zeros is a few KiB compressed: the limit (64 KiB here) holds after decompression.
    const zeros = new Uint8Array(1024 * 1024);
    const snappyBomb = await send('/loki/api/v1/push', proto, snappy(zeros));
    expect(snappyBomb.status).toBe(413);
    const gzipBomb = await send(
      '/v1/logs',
      { ...proto, 'Content-Encoding': 'gzip' },
      new Uint8Array(await promisify(gzip)(zeros)),
    );
    expect(gzipBomb.status).toBe(413);
    expect(await gzipBomb.json()).toMatchObject({ code: 3 });

    const text = await send('/v1/logs', { 'Content-Type': 'text/plain' }, 'hello');
    expect(text.status).toBe(415);
    const message = ((await text.json()) as { message: string }).message;
    expect(message).toContain('application/x-protobuf');
    expect(message).toContain('application/json');
    const loki = await send('/loki/api/v1/push', { 'Content-Type': 'application/octet-stream' }, 'x');
    expect(loki.status).toBe(415);
    expect(await loki.text()).toContain('application/x-protobuf or application/json');
    expect(await stored()).toHaveLength(0);
  });
});

describe('Loki label selectors', () => {
  it.each([
    ['{}', {}],
    ['{a="1"}', { a: '1' }],
    [' { job = "x" , resource_id="api" } ', { job: 'x', resource_id: 'api' }],
    ['{a="1",}', { a: '1' }],
    ['{q="say \\"hi\\"", p="c:\\\\dir", n="a\\nb"}', { q: 'say "hi"', p: 'c:\\dir', n: 'a\nb' }],
    ['{a="x,y}", b="{}"}', { a: 'x,y}', b: '{}' }],
    ['{_k9="", k="ü"}', { _k9: '', k: 'ü' }],
  ])('parses %s', (text, labels) => {
    expect(parseLokiLabels(text)).toEqual(labels);
  });

  it.each([
    'a="1"',
    '{a=1}',
    '{a="1" b="2"}',
    '{9a="1"}',
    '{a="1"',
    '{a="unterminated}',
    '{a=~"regex"}',
    '{,}',
    '',
  ])('refuses %s', (text) => {
    expect(parseLokiLabels(text)).toBeNull();
  });
});
