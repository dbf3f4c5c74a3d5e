import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LokiPushRequest } from '../../src/services/logs/protobuf-schemas.ts';
import {
  alloyConfig,
  INGEST_TOKEN_ENV,
  otelCollectorConfig,
  promtailConfig,
} from '../../src/views/pages/shipper-configs.tsx';
import {
  as,
  asJson,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

interface CollectorConfig {
  receivers: Record<string, unknown>;
  processors: Record<string, { attributes?: Array<{ key: string; value: string; action: string }> }>;
  exporters: Record<string, { endpoint: string; compression?: string; headers: Record<string, string> }>;
  service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
}

interface PromtailConfig {
  clients: Array<{ url: string; bearer_token: string; external_labels: Record<string, string> }>;
  scrape_configs: Array<{ job_name: string }>;
}

const input = { baseUrl: 'https://logs.example.com', resourceId: 'api "one"' };

/** Undoes the HTML escaping of text inside <code> (what a browser shows and a user copies). */
const unescapeHtml = (html: string) =>
  html
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');

function codeBlocks(html: string): string[] {
  return [...html.matchAll(/<pre[^>]*><code>([\s\S]*?)<\/code><\/pre>/g)].map((m) =>
    unescapeHtml(m[1] ?? ''),
  );
}

describe('shipper configurations', () => {
  it('gives the Collector a valid pipeline: otlp in, resource_id set, otlphttp out with the token header', () => {
    const config = parse(otelCollectorConfig(input)) as CollectorConfig;
    const exporter = config.exporters['otlphttp/ktrlplane'];
    expect(exporter).toEqual({
      endpoint: 'https://logs.example.com',
      compression: 'gzip',
      headers: { Authorization: `Bearer \${env:${INGEST_TOKEN_ENV}}` },
    });
    expect(config.processors['resource/ktrlplane']?.attributes).toEqual([
      { key: 'resource_id', value: 'api "one"', action: 'upsert' },
    ]);
    // Every component a pipeline names is defined (the Collector refuses to start otherwise).
    const logs = config.service.pipelines.logs;
    expect(logs).toBeDefined();
    for (const name of logs?.receivers ?? []) expect(config.receivers).toHaveProperty([name]);
    for (const name of logs?.processors ?? []) expect(config.processors).toHaveProperty([name]);
    for (const name of logs?.exporters ?? []) expect(config.exporters).toHaveProperty([name]);
  });

  it('gives Promtail and Alloy the push URL, the token from the environment and the resource label', () => {
    const promtail = parse(promtailConfig(input)) as PromtailConfig;
    expect(promtail.clients).toEqual([
      {
        url: 'https://logs.example.com/loki/api/v1/push',
        bearer_token: `\${${INGEST_TOKEN_ENV}}`,
        external_labels: { resource_id: 'api "one"' },
      },
    ]);
    expect(promtail.scrape_configs[0]?.job_name).toBe('app');
    const alloy = alloyConfig(input);
    expect(alloy).toContain('url          = "https://logs.example.com/loki/api/v1/push"');
    expect(alloy).toContain(`bearer_token = sys.env("${INGEST_TOKEN_ENV}")`);
    expect(alloy).toContain('external_labels = {resource_id = "api \\"one\\""}');
    expect(alloy).toContain('forward_to = [loki.write.ktrlplane.receiver]');
    // Balanced braces: a block left open is the first thing Alloy's parser refuses.
    expect(alloy.split('{').length).toBe(alloy.split('}').length);
  });
});

describe('the ingest section shows working shipper configurations', () => {
  const t = useTestApp({ BASE_URL: 'https://ktrlplane.example.com' });

  it('fills in the endpoint and resource, and what it says works against the ingest routes', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'api');
    const before = await t.app.request('/projects/web/settings', { headers: as(ada) });
    expect(before.status).toBe(200);
    const html = await before.text();
    expect(html).toContain('Shipper configuration');
    const [collectorText, alloyText, promtailText] = codeBlocks(
      html.slice(html.indexOf('id="shipper-configs"')),
    );
    expect(alloyText).toContain('"https://ktrlplane.example.com/loki/api/v1/push"');
    expect(alloyText).toContain('resource_id = "api"');
    const collector = parse(collectorText ?? '') as CollectorConfig;
    const promtail = parse(promtailText ?? '') as PromtailConfig;
    const exporter = collector.exporters['otlphttp/ktrlplane'];
    expect(exporter?.endpoint).toBe('https://ktrlplane.example.com');
    expect(promtail.clients[0]?.url).toBe('https://ktrlplane.example.com/loki/api/v1/push');

    const created = await t.app.request('/projects/web/ingest-tokens', {
      method: 'POST',
      headers: { ...asJson(ada), 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'collector' }),
    });
    const { token } = (await created.json()) as { token: string };
    const env = (text: string) =>
      text.replace(`\${env:${INGEST_TOKEN_ENV}}`, token).replace(`\${${INGEST_TOKEN_ENV}}`, token);

    // The Collector's otlphttp exporter posts protobuf to <endpoint>/v1/logs with the configured headers.
    const resourceId = collector.processors['resource/ktrlplane']?.attributes?.[0]?.value ?? '';
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ resource_id: resourceId }),
      processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    });
    provider.getLogger('collector').emit({ body: 'through the collector config', timestamp: t.clock.now() });
    await provider.forceFlush();
    const otlp = await t.app.request(new URL('/v1/logs', `${exporter?.endpoint}/`).pathname, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-protobuf',
        Authorization: env(exporter?.headers.Authorization ?? ''),
      },
      body: new Uint8Array(ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords()) ?? []),
    });
    expect(otlp.status).toBe(200);
    expect(await otlp.json()).toEqual({});

    // Promtail's client: snappy protobuf to its url, with its external labels on every stream.
    const client = promtail.clients[0];
    const labels = Object.entries(client?.external_labels ?? {})
      .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
      .join(', ');
    const push = LokiPushRequest.encode(
      LokiPushRequest.fromObject({
        streams: [
          {
            labels: `{job="app", ${labels}}`,
            entries: [
              {
                timestamp: { seconds: Math.floor(t.clock.now().getTime() / 1000) },
                line: 'through promtail',
              },
            ],
          },
        ],
      }),
    ).finish();
    const loki = await t.app.request(new URL(client?.url ?? '').pathname, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-protobuf',
        Authorization: `Bearer ${env(client?.bearer_token ?? '')}`,
      },
      body: new Uint8Array(compress(push)),
    });
    expect(loki.status).toBe(204);
    const rows = await t.database.db
      .selectFrom('ktrlplane.logs')
      .select(['resource_id', 'message'])
      .orderBy('log_id')
      .execute();
    expect(rows).toEqual([
      { resource_id: 'api', message: 'through the collector config' },
      { resource_id: 'api', message: 'through promtail' },
    ]);
  });

  it('says what to put in resource_id when the project has no resource yet', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const html = await (await t.app.request('/projects/web/settings', { headers: as(ada) })).text();
    expect(html).toContain('This project has no resource yet');
    expect(html).toContain('value: &quot;your-resource-id&quot;');
  });
});
