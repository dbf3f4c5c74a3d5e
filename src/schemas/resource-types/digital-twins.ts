import { z } from 'zod';
import {
  asArray,
  asRecord,
  DNS_SUBDOMAIN_PATTERN,
  defineResourceType,
  dnsLabelName,
  HOSTNAME_PATTERN,
  intBetween,
  type SkuId,
  type SkuIssue,
  secretValue,
  storageQuantity,
  text,
} from './resource-type.ts';
import { GRAPH_TYPE_ID } from './type-ids.ts';

/**
 * Konnektr.Graph (formerly Konnektr.DigitalTwins, still accepted on input: type-ids.ts): a managed
 * graph database (Azure Digital Twins–compatible, on Apache AGE) with event sinks that receive
 * twin changes and routes that choose what goes to which sink. The file keeps its name: the
 * settings are those of the Digital Twins API (the service is pg-age-digitaltwins).
 */

const SINK_KINDS = ['kafka', 'kusto', 'mqtt', 'webhook'] as const;

const sinkName = () =>
  dnsLabelName().meta({
    label: 'Name',
    help: 'Unique across all sinks of this resource; routes refer to a sink by this name.',
    placeholder: 'telemetry-out',
  });

/**
 * A secret a sink sends somewhere: text, or a reference to a Konnektr.Secret entry. `boundTo` names
 * the fields that say where it goes; an edit that changes them must enter the secret again.
 */
const optionalSecret = (label: string, help: string, boundTo: string[], max = 1024) =>
  secretValue(max).optional().meta({ label, help, secret: true, widget: 'password', boundTo });

const kafkaSink = z
  .strictObject({
    name: sinkName(),
    brokerList: text(1024)
      .regex(
        /^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/,
        'list brokers as host:port, separated by commas (no spaces)',
      )
      .meta({
        label: 'Brokers',
        help: 'Bootstrap servers as host:port, separated by commas.',
        placeholder: 'kafka-0.example.com:9093,kafka-1.example.com:9093',
      }),
    topic: text(249)
      .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dots, underscores and hyphens')
      .meta({ label: 'Topic', placeholder: 'digitaltwins-events' }),
    securityProtocol: z
      .enum(['PLAINTEXT', 'SASL_PLAINTEXT', 'SASL_SSL'], {
        error: 'choose PLAINTEXT, SASL_PLAINTEXT or SASL_SSL',
      })
      .meta({
        label: 'Security protocol',
        help: 'SASL_SSL encrypts the connection; use it outside a private network.',
      }),
    saslMechanism: z
      .enum(['PLAIN', 'OAUTHBEARER'], { error: 'choose PLAIN or OAUTHBEARER' })
      .meta({ label: 'SASL mechanism' }),
    saslUsername: text(256)
      .optional()
      .meta({ label: 'SASL username', help: 'Needed with the PLAIN mechanism.' }),
    saslPassword: optionalSecret('SASL password', 'Needed with the PLAIN mechanism.', [
      'brokerList',
      'securityProtocol',
    ]),
  })
  .superRefine((sink, ctx) => {
    // PLAIN over SASL sends a username and password; without them every connection would fail.
    if (sink.securityProtocol !== 'PLAINTEXT' && sink.saslMechanism === 'PLAIN') {
      if (sink.saslUsername === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['saslUsername'],
          message: 'required with SASL and the PLAIN mechanism',
        });
      if (sink.saslPassword === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['saslPassword'],
          message: 'required with SASL and the PLAIN mechanism',
        });
    }
  })
  .meta({ label: 'Kafka sink' });

const KUSTO_TABLE = () =>
  text(1024).regex(/^[A-Za-z0-9_.\- ]+$/, 'use letters, digits, spaces, dots, underscores and hyphens');

const kustoSink = z
  .strictObject({
    name: sinkName(),
    ingestionUri: z
      .url({ protocol: /^https?$/, error: 'enter the cluster’s ingestion URL, starting with https://' })
      .max(2048, 'use at most 2048 characters')
      .meta({ label: 'Ingestion URI', placeholder: 'https://ingest-mycluster.westeurope.kusto.windows.net' }),
    database: text(260).meta({ label: 'Database' }),
    propertyEventsTable: KUSTO_TABLE()
      .optional()
      .meta({ label: 'Property events table', help: 'Leave empty for the default table name.' }),
    twinLifeCycleEventsTable: KUSTO_TABLE()
      .optional()
      .meta({ label: 'Twin lifecycle events table', help: 'Leave empty for the default table name.' }),
    relationshipLifeCycleEventsTable: KUSTO_TABLE().optional().meta({
      label: 'Relationship lifecycle events table',
      help: 'Leave empty for the default table name.',
    }),
    tenantId: text(256)
      .optional()
      .meta({ label: 'Tenant id', help: 'Entra ID tenant of the service principal.' }),
    clientId: text(256)
      .optional()
      .meta({ label: 'Client id', help: 'Application (client) id of the service principal.' }),
    clientSecret: optionalSecret('Client secret', 'Secret of the service principal.', [
      'ingestionUri',
      'tenantId',
      'clientId',
    ]),
  })
  .superRefine((sink, ctx) => {
    // A service principal is all three or none (none: the workload's own identity).
    const given = (['tenantId', 'clientId', 'clientSecret'] as const).filter(
      (key) => sink[key] !== undefined,
    );
    if (given.length > 0 && given.length < 3) {
      for (const key of ['tenantId', 'clientId', 'clientSecret'] as const) {
        if (sink[key] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'give tenant id, client id and client secret together, or none of them',
          });
      }
    }
  })
  .meta({ label: 'Azure Data Explorer (Kusto) sink' });

const mqttSink = z
  .strictObject({
    name: sinkName(),
    broker: text(253)
      .regex(HOSTNAME_PATTERN, 'enter a host name such as mqtt.example.com (no scheme, no port)')
      .meta({ label: 'Broker host', placeholder: 'mqtt.example.com' }),
    port: intBetween(1, 65535)
      .default(1883)
      .meta({ label: 'Port', help: '1883 for plain MQTT, 8883 for TLS.' }),
    topic: text(1024)
      .regex(/^[^#+]+$/, 'a topic to publish to cannot contain the wildcards + or #')
      .meta({ label: 'Topic', placeholder: 'digitaltwins/events' }),
    clientId: text(256).meta({ label: 'Client id' }),
    protocolVersion: z
      .enum(['3.1.0', '3.1.1', '5.0.0'], { error: 'choose 3.1.0, 3.1.1 or 5.0.0' })
      .meta({ label: 'Protocol version' }),
    username: text(256).optional().meta({ label: 'Username' }),
    password: optionalSecret('Password', 'Leave empty when the broker needs no password.', [
      'broker',
      'port',
    ]),
  })
  .meta({ label: 'MQTT sink' });

const webhookAuthentication = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('None') }).meta({ label: 'None' }),
      z
        .strictObject({
          type: z.literal('Basic'),
          username: text(256)
            .regex(/^[^:]*$/, 'a Basic username cannot contain a colon')
            .meta({ label: 'Username' }),
          password: secretValue(1024).meta({
            label: 'Password',
            secret: true,
            widget: 'password',
            boundTo: ['../url'],
          }),
        })
        .meta({ label: 'Basic' }),
      z
        .strictObject({
          type: z.literal('Bearer'),
          token: secretValue(4096).meta({
            label: 'Token',
            secret: true,
            widget: 'password',
            boundTo: ['../url'],
          }),
        })
        .meta({ label: 'Bearer token' }),
      z
        .strictObject({
          type: z.literal('ApiKey'),
          headerName: text(256)
            .regex(
              /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/,
              'use the characters an HTTP header name allows (no spaces)',
            )
            .meta({ label: 'Header name', placeholder: 'X-Api-Key' }),
          headerValue: secretValue(4096).meta({
            label: 'Header value',
            secret: true,
            widget: 'password',
            boundTo: ['../url'],
          }),
        })
        .meta({ label: 'API key' }),
    ],
    { error: 'choose None, Basic, Bearer or ApiKey' },
  )
  .meta({ label: 'Authentication', help: 'How the webhook proves the call comes from this resource.' });

const webhookSink = z
  .strictObject({
    name: sinkName(),
    url: z
      .url({
        protocol: /^https$/,
        hostname: z.regexes.domain,
        error: 'enter an https:// URL with a public host name',
      })
      .max(2048, 'use at most 2048 characters')
      .meta({ label: 'URL', placeholder: 'https://example.com/hooks/twins' }),
    method: z.enum(['POST', 'PUT'], { error: 'choose POST or PUT' }).meta({ label: 'Method' }),
    authentication: webhookAuthentication,
  })
  .meta({ label: 'Webhook sink' });

const MAX_SINKS_PER_KIND = 10;
const sinkList = <T extends z.ZodType>(item: T, label: string) =>
  z
    .array(item)
    .max(MAX_SINKS_PER_KIND, `use at most ${MAX_SINKS_PER_KIND} sinks of one kind`)
    .default([])
    .meta({ label });

const eventSinks = z.strictObject({
  kafka: sinkList(kafkaSink, 'Kafka'),
  kusto: sinkList(kustoSink, 'Azure Data Explorer (Kusto)'),
  mqtt: sinkList(mqttSink, 'MQTT'),
  webhook: sinkList(webhookSink, 'Webhooks'),
});

const eventRoute = z
  .strictObject({
    name: dnsLabelName().meta({ label: 'Name', placeholder: 'all-changes' }),
    sinkName: text(63).meta({ label: 'Sink', help: 'The name of one of the sinks above.' }),
    eventFormat: z
      .enum(['EventNotification', 'DataHistory', 'Telemetry'], {
        error: 'choose EventNotification, DataHistory or Telemetry',
      })
      .meta({
        label: 'Event format',
        help: 'EventNotification: lifecycle and change events; DataHistory: property history rows; Telemetry: published telemetry.',
      }),
    filters: z.array(text(1024)).max(20, 'use at most 20 filters').default([]).meta({
      label: 'Filters',
      help: 'Only events matching every filter take this route; none means all events.',
    }),
  })
  .meta({ label: 'Event route' });

const database = z.strictObject({
  storageClass: text(253)
    .regex(DNS_SUBDOMAIN_PATTERN, 'use lowercase letters, digits, hyphens and dots')
    .default('standard')
    .meta({ label: 'Storage class', help: 'The Kubernetes storage class of the database volume.' }),
  storageSize: storageQuantity({ min: '1Gi', max: '1Ti' })
    .default('10Gi')
    .meta({ label: 'Storage size', help: 'Between 1Gi and 1Ti, e.g. 10Gi.', placeholder: '10Gi' }),
  backupEnabled: z
    .boolean({ error: 'choose on or off' })
    .default(true)
    .meta({ label: 'Backups', help: 'Daily backups kept for 7 days.', widget: 'switch' }),
});

export const digitalTwinsSettings = z
  .strictObject({
    instances: intBetween(1, 6).default(1).meta({
      label: 'Instances',
      help: 'API replicas serving the graph (1–6). More than one needs the standard SKU.',
    }),
    eventSinks: eventSinks
      .default(() => ({ kafka: [], kusto: [], mqtt: [], webhook: [] }))
      .meta({ label: 'Event sinks', help: 'Where twin and relationship changes are sent.' }),
    eventRoutes: z
      .array(eventRoute)
      .max(50, 'use at most 50 routes')
      .default([])
      .meta({ label: 'Event routes', help: 'Which events go to which sink.' }),
    database: database
      .default(() => ({ storageClass: 'standard', storageSize: '10Gi', backupEnabled: true }))
      .meta({ label: 'Database' }),
  })
  .superRefine(
    (value, ctx) => {
      for (const issue of crossFieldIssues(value)) ctx.addIssue({ code: 'custom', ...issue });
    },
    // Run even when other fields have errors, so a route naming a missing sink is reported
    // together with everything else; crossFieldIssues reads the value defensively.
    { when: () => true },
  );

export type DigitalTwinsSettings = z.output<typeof digitalTwinsSettings>;

/** Sink names unique across all kinds; route names unique; every route names an existing sink. */
function crossFieldIssues(value: unknown): SkuIssue[] {
  const issues: SkuIssue[] = [];
  const sinks = asRecord(asRecord(value).eventSinks);
  const seen = new Map<string, string>();
  for (const kind of SINK_KINDS) {
    asArray(sinks[kind]).forEach((sink, index) => {
      const name = asRecord(sink).name;
      if (typeof name !== 'string' || name === '') return;
      const first = seen.get(name);
      if (first) {
        issues.push({
          path: ['eventSinks', kind, index, 'name'],
          message: `the name "${name}" is already used by the ${first} sink; sink names must be unique across all sinks`,
        });
      } else {
        seen.set(name, kind);
      }
    });
  }
  const routeNames = new Set<string>();
  asArray(asRecord(value).eventRoutes).forEach((route, index) => {
    const { name, sinkName } = asRecord(route);
    if (typeof name === 'string' && name !== '') {
      if (routeNames.has(name))
        issues.push({
          path: ['eventRoutes', index, 'name'],
          message: `another route is already named "${name}"`,
        });
      routeNames.add(name);
    }
    if (typeof sinkName === 'string' && sinkName !== '' && !seen.has(sinkName)) {
      const known = [...seen.keys()];
      issues.push({
        path: ['eventRoutes', index, 'sinkName'],
        message:
          known.length > 0
            ? `there is no sink named "${sinkName}"; choose one of: ${known.join(', ')}`
            : `there is no sink named "${sinkName}"; add a sink first`,
      });
    }
  });
  return issues;
}

function countSinks(settings: unknown): number {
  const sinks = asRecord(asRecord(settings).eventSinks);
  return SINK_KINDS.reduce((total, kind) => total + asArray(sinks[kind]).length, 0);
}

const LIMITS = {
  free: { max_instances: 1, max_event_sinks: 0 },
  standard: { max_instances: 6, max_event_sinks: 20 },
} as const;

export const digitalTwins = defineResourceType({
  name: GRAPH_TYPE_ID,
  displayName: 'Digital Twins',
  description:
    'A managed graph database for digital twins, compatible with the Azure Digital Twins API, with event routes to Kafka, Azure Data Explorer, MQTT and webhooks.',
  icon: {
    viewBox: '0 0 24 24',
    // Three connected nodes: a small graph.
    paths: [
      'M6 7a2 2 0 1 0 0-4 2 2 0 0 0 0 4Z',
      'M18 13a2 2 0 1 0 0-4 2 2 0 0 0 0 4Z',
      'M8 21a2 2 0 1 0 0-4 2 2 0 0 0 0 4Z',
      'M7.6 6.2 16.3 10M16.5 12.6l-7 5M6.4 7l1.2 10',
    ],
  },
  skus: {
    free: {
      displayName: 'Free',
      description: 'One instance to try things out.',
      limits: LIMITS.free,
      features: ['1 instance', 'Up to 1Ti of storage', 'Daily backups', 'No event sinks'],
    },
    standard: {
      displayName: 'Standard',
      description: 'High availability and event streaming for production.',
      limits: LIMITS.standard,
      features: [
        'Up to 6 instances (high availability)',
        'Up to 1Ti of storage',
        'Daily backups',
        'Up to 20 event sinks: Kafka, Azure Data Explorer, MQTT, webhooks',
        'Event routes with filters',
      ],
    },
  },
  settings: digitalTwinsSettings,
  presets: [
    {
      id: 'development',
      name: 'Development',
      description: 'One instance, 10Gi of storage, no sinks: the free SKU.',
      sku: 'free',
      settings: {
        instances: 1,
        database: { storageClass: 'standard', storageSize: '10Gi', backupEnabled: true },
      },
    },
    {
      id: 'production-ha',
      name: 'Production HA',
      description: 'Three instances across nodes, 100Gi of storage, daily backups.',
      sku: 'standard',
      settings: {
        instances: 3,
        database: { storageClass: 'standard', storageSize: '100Gi', backupEnabled: true },
      },
    },
    {
      id: 'kafka-streaming',
      name: 'Kafka streaming',
      description:
        'Two instances that send every change to a Kafka topic over SASL_SSL, signing in with the workload’s own identity (OAUTHBEARER).',
      sku: 'standard',
      settings: {
        instances: 2,
        eventSinks: {
          kafka: [
            {
              name: 'kafka-events',
              brokerList: 'my-namespace.servicebus.windows.net:9093',
              topic: 'digitaltwins-events',
              securityProtocol: 'SASL_SSL',
              saslMechanism: 'OAUTHBEARER',
            },
          ],
        },
        eventRoutes: [
          { name: 'all-changes', sinkName: 'kafka-events', eventFormat: 'EventNotification', filters: [] },
        ],
        database: { storageClass: 'standard', storageSize: '50Gi', backupEnabled: true },
      },
    },
  ],
  checkSku(sku: SkuId, settings: unknown): SkuIssue[] {
    const limits = LIMITS[sku];
    const issues: SkuIssue[] = [];
    const instances = asRecord(settings).instances;
    if (typeof instances === 'number' && instances > limits.max_instances) {
      issues.push({
        path: ['instances'],
        message:
          sku === 'free'
            ? 'the free SKU runs 1 instance; choose the standard SKU for more'
            : `the ${sku} SKU runs at most ${limits.max_instances} instances`,
      });
    }
    const sinks = countSinks(settings);
    if (sinks > limits.max_event_sinks) {
      issues.push({
        path: ['eventSinks'],
        message:
          limits.max_event_sinks === 0
            ? 'the free SKU has no event sinks; remove them or choose the standard SKU'
            : `the ${sku} SKU allows at most ${limits.max_event_sinks} event sinks in all (${sinks} given)`,
      });
    }
    return issues;
  },
  deployment: {
    workload: 'helm-chart',
    // Production's chart (konnektr-io/infra graph-dbqr.yaml): the first one whose API asks
    // ktrlplane's permission check (deploy/operator/digitaltwins.yaml sets it up).
    repository: 'oci://ghcr.io/konnektr-io/charts',
    helm_chart: 'graph',
    chart_version: '0.4.36',
    values: [
      { setting: '/instances', value: 'cluster.cluster.instances' },
      { setting: '/eventSinks', value: 'events.config.eventSinks' },
      { setting: '/eventRoutes', value: 'events.config.eventRoutes' },
      { setting: '/database/storageClass', value: 'cluster.cluster.storage.storageClass' },
      { setting: '/database/storageSize', value: 'cluster.cluster.storage.size' },
      { setting: '/database/backupEnabled', value: 'cluster.backups.enabled' },
    ],
    health_checks: [{ kind: 'http', path: '/health', port: 8080 }],
    access_url_template: 'https://{resource_id}.api.graph.konnektr.io',
  },
});
