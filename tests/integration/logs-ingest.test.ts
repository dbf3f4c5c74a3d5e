import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { createAdaptorServer } from '@hono/node-server';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { describe, expect, it } from 'vitest';
import {
  asJson,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('log ingest (OTLP/HTTP JSON, Loki push)', () => {
  const t = useTestApp();

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'api');
    // Another tenant's project and resource: a token of "web" may never write there.
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, bob, 'Bobco', 'bobco');
    await createProjectFor(t, bob, 'bobco', 'Shop', 'shop');
    await createResourceRow(t, 'shop', 'shop-db');
    const created = await t.app.request('/projects/web/ingest-tokens', {
      method: 'POST',
      headers: { ...asJson(ada), 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'collector' }),
    });
    expect(created.status).toBe(201);
    const token = (await created.json()) as { token: string; token_id: string };
    expect(token.token).toMatch(/^kpi_/);
    return { ada, token: token.token, tokenId: token.token_id };
  }

  const stored = () =>
    t.database.db
      .selectFrom('ktrlplane.logs')
      .select(['project_id', 'resource_id', 'level', 'message', 'attributes', 'ts', 'source'])
      .orderBy('log_id')
      .execute();

  function otlpBody(
    records: Array<{ resourceId?: string; body: string; severity?: number; attrs?: object }>,
  ) {
    return {
      resourceLogs: records.map((record) => ({
        resource: {
          attributes: [
            ...(record.resourceId ? [{ key: 'resource_id', value: { stringValue: record.resourceId } }] : []),
            { key: 'service.name', value: { stringValue: 'api' } },
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'test' },
            logRecords: [
              {
                timeUnixNano: String(BigInt(t.clock.now().getTime()) * 1_000_000n + 123_456n),
                severityNumber: record.severity ?? 9,
                body: { stringValue: record.body },
                attributes: Object.entries(record.attrs ?? {}).map(([key, value]) => ({
                  key,
                  value:
                    typeof value === 'number' ? { intValue: String(value) } : { stringValue: String(value) },
                })),
              },
            ],
          },
        ],
      })),
    };
  }

  it('stores OTLP lines of its own resources and refuses (and counts) the rest, answering partialSuccess', async () => {
    const { token, ada } = await setup();
    const res = await t.app.request('/v1/logs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(
        otlpBody([
          { resourceId: 'api', body: 'connection refused', severity: 17, attrs: { 'http.status': 503 } },
          { resourceId: 'shop-db', body: 'sneaky line for another tenant' },
          { resourceId: 'nope', body: 'unknown resource' },
          { body: 'no resource id at all' },
        ]),
      ),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string };
    };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('3');
    expect(answer.partialSuccess.errorMessage).toContain(
      "2 named a resource this token's project does not own",
    );
    const rows = await stored();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      project_id: 'web',
      resource_id: 'api',
      level: 'error',
      message: 'connection refused',
      source: 'otlp',
    });
    expect(rows[0]?.attributes).toMatchObject({ 'http.status': 503, 'service.name': 'api' });
    // Millisecond precision: nanoseconds beyond it are cut, so cursors round-trip.
    expect(rows[0]?.ts.toISOString()).toBe(t.clock.now().toISOString());
    const list = await t.app.request('/projects/web/ingest-tokens', { headers: asJson(ada) });
    const tokens = (await list.json()) as { tokens: Array<Record<string, unknown>> };
    expect(tokens.tokens[0]).toMatchObject({ accepted_lines: 1, rejected_lines: 3, status: 'active' });
    expect(JSON.stringify(tokens)).not.toContain(token);
  });

  it('answers {} when everything was stored, accepts gzip bodies and basic auth', async () => {
    const { token } = await setup();
    const body = await promisify(gzip)(JSON.stringify(otlpBody([{ resourceId: 'api', body: 'hello gzip' }])));
    const res = await t.app.request('/v1/logs', {
      method: 'POST',
      headers: {
        Authorization: `Basic ${btoa(`web:${token}`)}`,
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect((await stored()).map((row) => row.message)).toEqual(['hello gzip']);
  });

  it('refuses a missing, wrong or revoked token with 401, and a media type it does not read with 415', async () => {
    const { token, ada, tokenId } = await setup();
    const send = (headers: Record<string, string>) =>
      t.app.request('/v1/logs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(otlpBody([{ resourceId: 'api', body: 'x' }])),
      });
    expect((await send({})).status).toBe(401);
    expect((await send({ Authorization: 'Bearer kpi_wrong' })).status).toBe(401);
    const other = await send({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/xml' });
    expect(other.status).toBe(415);
    expect(((await other.json()) as { message: string }).message).toContain(
      'send application/x-protobuf or application/json',
    );
    const revoke = await t.app.request(`/projects/web/ingest-tokens/${tokenId}/revoke`, {
      method: 'POST',
      headers: { ...asJson(ada), Origin: ORIGIN },
    });
    expect(revoke.status).toBe(200);
    const after = await send({ Authorization: `Bearer ${token}` });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ code: 16 });
    expect(await stored()).toHaveLength(0);
  });

  it('answers 400 on a body that is not OTLP', async () => {
    const { token } = await setup();
    const res = await t.app.request('/v1/logs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ resourceLogs: 'nope' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 3 });
  });

  it('stores Loki pushes by the resource_id label, with the level label and 204', async () => {
    const { token } = await setup();
    const ns = String(BigInt(t.clock.now().getTime()) * 1_000_000n);
    const push = (streams: unknown) =>
      t.app.request('/loki/api/v1/push', {
        method: 'POST',
        headers: { Authorization: `Basic ${btoa(`1234:${token}`)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ streams }),
      });
    const ok = await push([
      {
        stream: { resource_id: 'api', level: 'warning', job: 'varlogs' },
        values: [[ns, 'disk almost full']],
      },
    ]);
    expect(ok.status).toBe(204);
    const partial = await push([
      { stream: { resource_id: 'api' }, values: [[ns, 'fine', { trace_id: 'abc' }]] },
      { stream: { resource_id: 'shop-db' }, values: [[ns, 'foreign']] },
    ]);
    expect(partial.status).toBe(400);
    expect(await partial.text()).toContain('1 of 2 log lines were refused');
    const rows = await stored();
    expect(rows.map((row) => [row.resource_id, row.level, row.message, row.source])).toEqual([
      ['api', 'warn', 'disk almost full', 'loki'],
      ['api', 'info', 'fine', 'loki'],
    ]);
    expect(rows[0]?.attributes).toEqual({ level: 'warning', job: 'varlogs' });
    expect(rows[1]?.attributes).toEqual({ trace_id: 'abc' });
    // NUL, which Postgres text cannot hold, arrives as U+FFFD rather than failing the batch.
    expect(
      (await push([{ stream: { resource_id: 'api', k: 'a\u0000b' }, values: [[ns, 'nul \u0000 here']] }]))
        .status,
    ).toBe(204);
    const last = (await stored()).at(-1);
    expect(last?.message).toBe('nul \ufffd here');
    expect(last?.attributes).toEqual({ k: 'a\ufffdb' });
  });

  it('refuses lines older than the plan keeps them', async () => {
    const { token } = await setup();
    const old = String(BigInt(t.clock.now().getTime() - 40 * 86_400_000) * 1_000_000n);
    const res = await t.app.request('/loki/api/v1/push', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { resource_id: 'api' }, values: [[old, 'ancient']] }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("older than the project's log retention");
  });

  it('takes lines from the official OpenTelemetry JS logs exporter', async () => {
    const { token } = await setup();
    const server = createAdaptorServer({ fetch: t.app.fetch });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const exporter = new OTLPLogExporter({
        url: `http://127.0.0.1:${port}/v1/logs`,
        headers: { Authorization: `Bearer ${token}` },
        compression: 'gzip' as never,
      });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ resource_id: 'api', 'service.name': 'api' }),
        processors: [new BatchLogRecordProcessor({ exporter })],
      });
      const logger = provider.getLogger('checkout');
      for (let i = 0; i < 25; i += 1) {
        logger.emit({
          severityNumber: i % 5 === 0 ? 17 : 9,
          severityText: i % 5 === 0 ? 'ERROR' : 'INFO',
          body: `order ${i} processed`,
          attributes: { 'order.id': i },
          timestamp: t.clock.now(),
        });
      }
      await provider.forceFlush();
      await provider.shutdown();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const rows = await stored();
    expect(rows).toHaveLength(25);
    expect(rows.filter((row) => row.level === 'error')).toHaveLength(5);
    expect(rows[0]?.attributes).toMatchObject({ 'order.id': 0, 'otel.scope.name': 'checkout' });
  });
});
