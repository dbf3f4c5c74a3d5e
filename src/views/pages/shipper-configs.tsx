/**
 * Ready-to-use configurations of the log shippers people already run, filled in with this
 * project's endpoint: the OpenTelemetry Collector (otlphttp exporter, protobuf by default),
 * Grafana Alloy (loki.write) and Promtail (Loki protobuf push with snappy). The token is read
 * from the environment (KTRLPLANE_INGEST_TOKEN) so a configuration can be committed without it.
 * tests/integration/shipper-configs.test.ts parses the YAML ones and checks the endpoints.
 */

export const INGEST_TOKEN_ENV = 'KTRLPLANE_INGEST_TOKEN';

export interface ShipperConfigInput {
  /** Where shippers send, without a trailing slash (`https://ktrlplane.example.com`). */
  baseUrl: string;
  /** The resource the lines belong to (a shipper pipeline sends for one resource). */
  resourceId: string;
}

export interface ShipperConfig {
  id: 'otel-collector' | 'alloy' | 'promtail';
  title: string;
  file: string;
  note: string;
  text: string;
}

/** A YAML double-quoted scalar (JSON strings are valid ones). */
const yamlString = (value: string) => JSON.stringify(value);

export function otelCollectorConfig({ baseUrl, resourceId }: ShipperConfigInput): string {
  return `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  resource/ktrlplane:
    attributes:
      - key: resource_id
        value: ${yamlString(resourceId)}
        action: upsert
  batch: {}
exporters:
  otlphttp/ktrlplane:
    endpoint: ${yamlString(baseUrl)}
    compression: gzip
    headers:
      Authorization: "Bearer \${env:${INGEST_TOKEN_ENV}}"
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [resource/ktrlplane, batch]
      exporters: [otlphttp/ktrlplane]
`;
}

export function alloyConfig({ baseUrl, resourceId }: ShipperConfigInput): string {
  return `local.file_match "app" {
  path_targets = [{"__path__" = "/var/log/app/*.log"}]
}

loki.source.file "app" {
  targets    = local.file_match.app.targets
  forward_to = [loki.write.ktrlplane.receiver]
}

loki.write "ktrlplane" {
  endpoint {
    url          = ${JSON.stringify(`${baseUrl}/loki/api/v1/push`)}
    bearer_token = sys.env("${INGEST_TOKEN_ENV}")
  }
  external_labels = {resource_id = ${JSON.stringify(resourceId)}}
}
`;
}

export function promtailConfig({ baseUrl, resourceId }: ShipperConfigInput): string {
  return `server:
  http_listen_port: 9080
  grpc_listen_port: 0
positions:
  filename: /var/lib/promtail/positions.yaml
clients:
  - url: ${yamlString(`${baseUrl}/loki/api/v1/push`)}
    bearer_token: \${${INGEST_TOKEN_ENV}}
    external_labels:
      resource_id: ${yamlString(resourceId)}
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [localhost]
        labels:
          job: app
          __path__: /var/log/app/*.log
`;
}

export function shipperConfigs(input: ShipperConfigInput): ShipperConfig[] {
  return [
    {
      id: 'otel-collector',
      title: 'OpenTelemetry Collector',
      file: 'otel-collector.yaml',
      note: 'Receives OTLP from your services and sends it on as protobuf (the otlphttp default), gzip-compressed.',
      text: otelCollectorConfig(input),
    },
    {
      id: 'alloy',
      title: 'Grafana Alloy',
      file: 'config.alloy',
      note: 'Tails files and pushes them with loki.write (protobuf, snappy-compressed).',
      text: alloyConfig(input),
    },
    {
      id: 'promtail',
      title: 'Promtail',
      file: 'promtail.yaml',
      note: 'Tails files and pushes them to the Loki push API. Start it with -config.expand-env=true so it reads the token from the environment.',
      text: promtailConfig(input),
    },
  ];
}

export function ShipperConfigs(props: { baseUrl: string; resourceIds: readonly string[] }) {
  const resourceId = props.resourceIds[0] ?? 'your-resource-id';
  const configs = shipperConfigs({ baseUrl: props.baseUrl, resourceId });
  return (
    <div id="shipper-configs" class="mt-4 space-y-2">
      <h3 class="text-sm font-semibold">Shipper configuration</h3>
      <p class="text-sm text-slate-600 dark:text-slate-300">
        Set <code>{INGEST_TOKEN_ENV}</code> to an ingest token in the shipper's environment.{' '}
        {props.resourceIds.length === 0 ? (
          <>
            This project has no resource yet: replace <code>{resourceId}</code> with the id of the resource
            the lines belong to.
          </>
        ) : (
          <>
            They send for the resource <code>{resourceId}</code>; for another, change <code>resource_id</code>
            {props.resourceIds.length > 1
              ? ` (this project also has ${props.resourceIds.slice(1, 6).join(', ')})`
              : ''}
            .
          </>
        )}
      </p>
      {configs.map((config) => (
        <details id={`shipper-${config.id}`} class="rounded-md border border-slate-200 dark:border-slate-800">
          <summary class="cursor-pointer px-3 py-2 text-sm font-medium">
            {config.title}{' '}
            <span class="text-xs font-normal text-slate-500 dark:text-slate-400">{config.file}</span>
          </summary>
          <div class="border-t border-slate-200 px-3 py-2 dark:border-slate-800">
            <p class="text-xs text-slate-600 dark:text-slate-300">{config.note}</p>
            <pre class="mt-2 max-w-full overflow-x-auto rounded bg-slate-50 p-3 text-xs dark:bg-slate-950">
              <code>{config.text}</code>
            </pre>
          </div>
        </details>
      ))}
    </div>
  );
}
