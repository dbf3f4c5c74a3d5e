import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../src/lib/errors.ts';
import { digitalTwins, digitalTwinsSettings } from '../../src/schemas/resource-types/digital-twins.ts';
import { flows } from '../../src/schemas/resource-types/flows.ts';
import { getResourceType, listResourceTypes } from '../../src/schemas/resource-types/registry.ts';
import {
  defineResourceType,
  fieldMeta,
  parseByteQuantity,
  parseCpuQuantity,
  type ResourceTypeDefinition,
  type SkuId,
} from '../../src/schemas/resource-types/resource-type.ts';
import {
  resourceTypeDocument,
  settingsJsonSchema,
  validateSettings,
} from '../../src/services/resource-types.ts';

/**
 * The resource type definitions on their own: every bound of every field, defaults, strictness,
 * cross-field rules, SKU rules, presets, the registry and the JSON Schema export. No database.
 */

type Settings = Record<string, unknown>;

/** A DigitalTwins configuration that uses every field once: valid on the standard SKU. */
function fullTwins(): Settings {
  return {
    instances: 3,
    eventSinks: {
      kafka: [
        {
          name: 'kafka-out',
          brokerList: 'kafka-0.example.com:9093,kafka-1.example.com:9093',
          topic: 'twins.events',
          securityProtocol: 'SASL_SSL',
          saslMechanism: 'PLAIN',
          saslUsername: 'twins',
          saslPassword: 'kafka-secret',
        },
      ],
      kusto: [
        {
          name: 'adx',
          ingestionUri: 'https://ingest-mycluster.westeurope.kusto.windows.net',
          database: 'twins',
          propertyEventsTable: 'PropertyEvents',
          twinLifeCycleEventsTable: 'TwinLifeCycle',
          relationshipLifeCycleEventsTable: 'RelLifeCycle',
          tenantId: '00000000-0000-0000-0000-000000000001',
          clientId: '00000000-0000-0000-0000-000000000002',
          clientSecret: 'kusto-secret',
        },
      ],
      mqtt: [
        {
          name: 'mqtt-out',
          broker: 'mqtt.example.com',
          port: 8883,
          topic: 'twins/events',
          clientId: 'twins-1',
          protocolVersion: '5.0.0',
          username: 'twins',
          password: 'mqtt-secret',
        },
      ],
      webhook: [
        {
          name: 'hook',
          url: 'https://example.com/hooks/twins',
          method: 'POST',
          authentication: { type: 'Bearer', token: 'webhook-token' },
        },
      ],
    },
    eventRoutes: [
      { name: 'to-kafka', sinkName: 'kafka-out', eventFormat: 'EventNotification', filters: ["type = 'x'"] },
      { name: 'to-hook', sinkName: 'hook', eventFormat: 'Telemetry', filters: [] },
    ],
    database: { storageClass: 'fast-ssd', storageSize: '20Gi', backupEnabled: true },
  };
}

function fullFlows(): Settings {
  return { replicas: 2, memoryLimit: '1Gi', cpuLimit: '1', environment: { LOG_LEVEL: 'info' } };
}

/** Sets the value at a JSON-pointer-like path ('a/0/b') in a copy's tree (mutates `target`). */
function setAt(target: Settings, path: string, value: unknown): Settings {
  const parts = path.split('/').filter(Boolean);
  let node: Record<string, unknown> | unknown[] = target;
  for (const part of parts.slice(0, -1)) {
    node = (node as Record<string, unknown>)[part] as Record<string, unknown>;
  }
  const last = parts.at(-1) as string;
  if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
  return target;
}

function pointers(result: ReturnType<typeof validateSettings>): string[] {
  return result.ok ? [] : result.errors.map((error) => error.pointer);
}

function expectValid(type: ResourceTypeDefinition, sku: SkuId, settings: Settings) {
  const result = validateSettings(type, sku, settings);
  expect(result.ok ? [] : result.errors).toEqual([]);
  return result.ok ? result.data : {};
}

const host253 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;

/** [field pointer, value just inside the bound, value just past it]; the error must be at the pointer. */
type Bound = [string, unknown, unknown];

/** A short name for a test value (long strings by their length). */
function label(value: unknown): string {
  return typeof value === 'string' && value.length > 24
    ? `"${value.slice(0, 8)}…" (${value.length} chars)`
    : JSON.stringify(value);
}

/** Table rows for it.each: [pointer, label inside, label outside, inside, outside]. */
function rows(bounds: Bound[]): Array<[string, string, string, unknown, unknown]> {
  return bounds.map(([pointer, inside, outside]) => [
    pointer,
    label(inside),
    label(outside),
    inside,
    outside,
  ]);
}

const twinsBounds: Bound[] = [
  ['/instances', 1, 0],
  ['/instances', 6, 7],
  ['/instances', 2, 2.5],
  ['/instances', 2, '2'],
  ['/eventSinks/kafka/0/brokerList', 'a:1', ''],
  ['/eventSinks/kafka/0/brokerList', `${'h'.repeat(1019)}:9093`, `${'h'.repeat(1020)}:9093`],
  ['/eventSinks/kafka/0/brokerList', 'a.example.com:9093,b.example.com:9093', 'a.example.com'],
  ['/eventSinks/kafka/0/brokerList', 'a:9093,b:9093', 'a:9093, b:9093'],
  ['/eventSinks/kafka/0/topic', 't', ''],
  ['/eventSinks/kafka/0/topic', 't'.repeat(249), 't'.repeat(250)],
  ['/eventSinks/kafka/0/topic', 'a.b_c-d', 'a b'],
  ['/eventSinks/kafka/0/securityProtocol', 'SASL_PLAINTEXT', 'SSL'],
  ['/eventSinks/kafka/0/saslMechanism', 'PLAIN', 'SCRAM-SHA-256'],
  ['/eventSinks/kafka/0/saslUsername', 'u', ''],
  ['/eventSinks/kafka/0/saslUsername', 'u'.repeat(256), 'u'.repeat(257)],
  ['/eventSinks/kafka/0/saslPassword', 'p'.repeat(1024), 'p'.repeat(1025)],
  ['/eventSinks/kafka/0/saslPassword', 'p', ''],
  ['/eventSinks/kusto/0/ingestionUri', 'http://adx.example.com', 'ftp://adx.example.com'],
  ['/eventSinks/kusto/0/ingestionUri', 'https://adx.example.com', 'not a url'],
  [
    '/eventSinks/kusto/0/ingestionUri',
    `https://example.com/${'p'.repeat(2028)}`,
    `https://example.com/${'p'.repeat(2029)}`,
  ],
  ['/eventSinks/kusto/0/database', 'd', ''],
  ['/eventSinks/kusto/0/database', 'd'.repeat(260), 'd'.repeat(261)],
  ['/eventSinks/kusto/0/propertyEventsTable', 't'.repeat(1024), 't'.repeat(1025)],
  ['/eventSinks/kusto/0/propertyEventsTable', 'My Table.v2', 'bad;table'],
  ['/eventSinks/kusto/0/twinLifeCycleEventsTable', 't'.repeat(1024), 't'.repeat(1025)],
  ['/eventSinks/kusto/0/relationshipLifeCycleEventsTable', 't'.repeat(1024), 't'.repeat(1025)],
  ['/eventSinks/kusto/0/tenantId', 't'.repeat(256), 't'.repeat(257)],
  ['/eventSinks/kusto/0/clientId', 'c'.repeat(256), 'c'.repeat(257)],
  ['/eventSinks/kusto/0/clientSecret', 's'.repeat(1024), 's'.repeat(1025)],
  ['/eventSinks/mqtt/0/broker', host253, `${host253}x`],
  ['/eventSinks/mqtt/0/broker', 'mqtt-1.example.com', 'mqtt://mqtt.example.com'],
  ['/eventSinks/mqtt/0/broker', 'm', ''],
  ['/eventSinks/mqtt/0/port', 1, 0],
  ['/eventSinks/mqtt/0/port', 65535, 65536],
  ['/eventSinks/mqtt/0/topic', 'x'.repeat(1024), 'x'.repeat(1025)],
  ['/eventSinks/mqtt/0/topic', 'twins/out', 'twins/#'],
  ['/eventSinks/mqtt/0/topic', 'twins/out', 'twins/+/out'],
  ['/eventSinks/mqtt/0/clientId', 'c'.repeat(256), 'c'.repeat(257)],
  ['/eventSinks/mqtt/0/clientId', 'c', ''],
  ['/eventSinks/mqtt/0/protocolVersion', '3.1.0', '4.0.0'],
  ['/eventSinks/mqtt/0/username', 'u'.repeat(256), 'u'.repeat(257)],
  ['/eventSinks/mqtt/0/password', 'p'.repeat(1024), 'p'.repeat(1025)],
  ['/eventSinks/webhook/0/url', 'https://example.com/x', 'http://example.com/x'],
  ['/eventSinks/webhook/0/url', 'https://hooks.example.com', 'https://localhost/x'],
  [
    '/eventSinks/webhook/0/url',
    `https://example.com/${'p'.repeat(2028)}`,
    `https://example.com/${'p'.repeat(2029)}`,
  ],
  ['/eventSinks/webhook/0/method', 'PUT', 'PATCH'],
  ['/eventSinks/webhook/0/authentication/token', 't'.repeat(4096), 't'.repeat(4097)],
  ['/eventSinks/webhook/0/authentication/token', 't', ''],
  ['/eventRoutes/0/name', 'r', ''],
  ['/eventRoutes/0/name', `r${'1'.repeat(62)}`, `r${'1'.repeat(63)}`],
  ['/eventRoutes/0/name', 'to-kafka-2', 'To-Kafka'],
  ['/eventRoutes/0/eventFormat', 'DataHistory', 'Metrics'],
  ['/eventRoutes/0/filters/0', 'f'.repeat(1024), 'f'.repeat(1025)],
  ['/eventRoutes/0/filters/0', 'f', ''],
  ['/database/storageClass', 's'.repeat(253), 's'.repeat(254)],
  ['/database/storageClass', 'fast.ssd-2', 'Fast_SSD'],
  ['/database/storageClass', 's', ''],
  ['/database/storageSize', '1Gi', '1023Mi'],
  ['/database/storageSize', '1Ti', '1025Gi'],
  ['/database/storageSize', '1024Gi', '1.1Ti'],
  ['/database/storageSize', '1.5Gi', '10GB'],
  ['/database/storageSize', '20Gi', '-1Gi'],
  ['/database/backupEnabled', false, 'yes'],
];

/** Sink names: every kind, every rule of a DNS label. */
for (const kind of ['kafka', 'kusto', 'mqtt', 'webhook']) {
  const other = { kafka: 'k', kusto: 'q', mqtt: 'm', webhook: 'w' }[kind] as string;
  twinsBounds.push(
    [`/eventSinks/${kind}/0/name`, other, ''],
    [`/eventSinks/${kind}/0/name`, `${other}${'1'.repeat(62)}`, `${other}${'1'.repeat(63)}`],
    [`/eventSinks/${kind}/0/name`, `${other}-1`, `${other}--1`],
    [`/eventSinks/${kind}/0/name`, `${other}-1`, `${other}-`],
    [`/eventSinks/${kind}/0/name`, `${other}1`, `1${other}`],
    [`/eventSinks/${kind}/0/name`, `${other}x`, `${other.toUpperCase()}x`],
  );
}

const flowsBounds: Bound[] = [
  ['/replicas', 1, 0],
  ['/replicas', 5, 6],
  ['/replicas', 2, 1.5],
  ['/memoryLimit', '128Mi', '127Mi'],
  ['/memoryLimit', '16Gi', '16385Mi'],
  ['/memoryLimit', '134217728', '134217727'],
  ['/memoryLimit', '1G', '512MB'],
  ['/memoryLimit', '1.5Gi', '1,5Gi'],
  ['/memoryLimit', '512Mi', ''],
  ['/cpuLimit', '100m', '99m'],
  ['/cpuLimit', '8', '8001m'],
  ['/cpuLimit', '0.1', '0.099'],
  ['/cpuLimit', '0.25', '0.2505'],
  ['/cpuLimit', '2', '2 cores'],
  ['/environment/A_1', 'x', 1],
  ['/environment/V', 'v'.repeat(32768), 'v'.repeat(32769)],
];

describe('Konnektr.Graph settings', () => {
  it('accepts the full configuration on the standard SKU and round-trips it unchanged', () => {
    const data = expectValid(digitalTwins, 'standard', fullTwins());
    expect(data).toEqual({ ...fullTwins(), eventSinks: fullTwins().eventSinks });
    expect(expectValid(digitalTwins, 'standard', structuredClone(data))).toEqual(data);
  });

  it.each(rows(twinsBounds))('%s: accepts %s, rejects %s', (pointer, _in, _out, inside, outside) => {
    const ok = setAt(fullTwins(), pointer, inside);
    // A different name must still be routed to when the sink is renamed.
    if (pointer === '/eventSinks/kafka/0/name') setAt(ok, '/eventRoutes/0/sinkName', inside);
    if (pointer === '/eventSinks/webhook/0/name') setAt(ok, '/eventRoutes/1/sinkName', inside);
    expectValid(digitalTwins, 'standard', ok);
    const bad = validateSettings(digitalTwins, 'standard', setAt(fullTwins(), pointer, outside));
    expect(bad.ok).toBe(false);
    expect(pointers(bad)).toContain(pointer);
  });

  it('bounds the number of sinks of a kind (10), routes (50) and filters (20)', () => {
    const kafka = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        name: `k${i}`,
        brokerList: 'kafka:9093',
        topic: 't',
        securityProtocol: 'PLAINTEXT',
        saslMechanism: 'PLAIN',
      }));
    const route = (i: number) => ({ name: `r${i}`, sinkName: 'hook', eventFormat: 'Telemetry' });
    const cases: Array<[string, unknown, unknown]> = [
      ['/eventSinks/kafka', kafka(10), kafka(11)],
      [
        '/eventRoutes',
        Array.from({ length: 50 }, (_, i) => route(i)),
        Array.from({ length: 51 }, (_, i) => route(i)),
      ],
      ['/eventRoutes/0/filters', Array(20).fill('x'), Array(21).fill('x')],
    ];
    for (const [pointer, inside, outside] of cases) {
      const base = fullTwins();
      setAt(base, '/eventRoutes/0/sinkName', 'hook');
      expectValid(digitalTwins, 'standard', setAt(structuredClone(base), pointer, inside));
      expect(
        pointers(validateSettings(digitalTwins, 'standard', setAt(structuredClone(base), pointer, outside))),
      ).toEqual([pointer]);
    }
  });

  it('fills in defaults', () => {
    expect(expectValid(digitalTwins, 'free', {})).toEqual({
      instances: 1,
      eventSinks: { kafka: [], kusto: [], mqtt: [], webhook: [] },
      eventRoutes: [],
      database: { storageClass: 'standard', storageSize: '10Gi', backupEnabled: true },
    });
    expect(digitalTwins.defaults).toEqual(expectValid(digitalTwins, 'free', {}));
    expect(expectValid(digitalTwins, 'standard', { database: {} }).database).toEqual({
      storageClass: 'standard',
      storageSize: '10Gi',
      backupEnabled: true,
    });
    const settings = fullTwins();
    setAt(settings, '/eventSinks/mqtt/0/port', undefined);
    setAt(settings, '/eventRoutes/1/filters', undefined);
    const data = expectValid(digitalTwins, 'standard', settings) as ReturnType<typeof fullTwins> & {
      eventSinks: { mqtt: Array<{ port: number }> };
      eventRoutes: Array<{ filters: string[] }>;
    };
    expect(data.eventSinks.mqtt[0]?.port).toBe(1883);
    expect(data.eventRoutes[1]?.filters).toEqual([]);
  });

  it('requires the fields without defaults', () => {
    const settings = fullTwins();
    setAt(settings, '/eventSinks/kafka/0/topic', undefined);
    setAt(settings, '/eventSinks/webhook/0/authentication', undefined);
    setAt(settings, '/eventRoutes/0/eventFormat', undefined);
    const result = validateSettings(digitalTwins, 'standard', settings);
    expect(result.ok ? [] : result.errors).toEqual([
      { pointer: '/eventSinks/kafka/0/topic', message: 'required: enter a value' },
      { pointer: '/eventSinks/webhook/0/authentication', message: 'choose None, Basic, Bearer or ApiKey' },
      {
        pointer: '/eventRoutes/0/eventFormat',
        message: 'choose EventNotification, DataHistory or Telemetry',
      },
    ]);
  });

  it.each([
    ['/bogus'],
    ['/database/bogus'],
    ['/eventSinks/bogus'],
    ['/eventSinks/kafka/0/bogus'],
    ['/eventSinks/kusto/0/bogus'],
    ['/eventSinks/mqtt/0/bogus'],
    ['/eventSinks/webhook/0/bogus'],
    ['/eventSinks/webhook/0/authentication/bogus'],
    ['/eventRoutes/0/bogus'],
  ])('rejects the unknown key %s at that key', (pointer) => {
    const result = validateSettings(digitalTwins, 'standard', setAt(fullTwins(), pointer, 'x'));
    expect(result.ok ? [] : result.errors).toEqual([
      { pointer, message: '"bogus" is not a setting here; remove it' },
    ]);
  });

  it('reports every unknown key of an object separately', () => {
    expect(pointers(validateSettings(digitalTwins, 'free', { a: 1, b: 2 }))).toEqual(['/a', '/b']);
  });

  it('keeps sink names unique across all kinds of sink, pointing at the later one', () => {
    const acrossKinds = setAt(fullTwins(), '/eventSinks/webhook/0/name', 'kafka-out');
    setAt(acrossKinds, '/eventRoutes/1/sinkName', 'kafka-out');
    const result = validateSettings(digitalTwins, 'standard', acrossKinds);
    expect(result.ok ? [] : result.errors).toEqual([
      {
        pointer: '/eventSinks/webhook/0/name',
        message:
          'the name "kafka-out" is already used by the kafka sink; sink names must be unique across all sinks',
      },
    ]);
    const withinKind = fullTwins() as { eventSinks: { mqtt: Settings[] } };
    withinKind.eventSinks.mqtt.push({ ...withinKind.eventSinks.mqtt[0] });
    expect(pointers(validateSettings(digitalTwins, 'standard', withinKind))).toEqual([
      '/eventSinks/mqtt/1/name',
    ]);
  });

  it('keeps route names unique', () => {
    const settings = setAt(fullTwins(), '/eventRoutes/1/name', 'to-kafka');
    expect(pointers(validateSettings(digitalTwins, 'standard', settings))).toEqual(['/eventRoutes/1/name']);
  });

  it('puts a route naming a missing sink at that route’s sinkName, even beside other errors', () => {
    const settings = setAt(fullTwins(), '/eventRoutes/1/sinkName', 'nowhere');
    const result = validateSettings(digitalTwins, 'standard', settings);
    expect(result.ok ? [] : result.errors).toEqual([
      {
        pointer: '/eventRoutes/1/sinkName',
        message: 'there is no sink named "nowhere"; choose one of: kafka-out, adx, mqtt-out, hook',
      },
    ]);
    // With a type error and an unknown key elsewhere the cross-field check still runs.
    setAt(settings, '/instances', 'many');
    setAt(settings, '/database/extra', true);
    expect(pointers(validateSettings(digitalTwins, 'standard', settings))).toEqual([
      '/instances',
      '/database/extra',
      '/eventRoutes/1/sinkName',
    ]);
    // Through the schema itself (what the form engine uses), the path is the route's field.
    const parsed = digitalTwinsSettings.safeParse(setAt(fullTwins(), '/eventRoutes/1/sinkName', 'nowhere'));
    expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([['eventRoutes', 1, 'sinkName']]);
    const noSinks = validateSettings(digitalTwins, 'standard', {
      eventRoutes: [{ name: 'r', sinkName: 'x', eventFormat: 'Telemetry' }],
    });
    expect(noSinks.ok ? [] : noSinks.errors).toEqual([
      { pointer: '/eventRoutes/0/sinkName', message: 'there is no sink named "x"; add a sink first' },
    ]);
  });

  describe('webhook authentication (a discriminated union on type)', () => {
    const variants: Array<[string, Settings]> = [
      ['None', { type: 'None' }],
      ['Basic', { type: 'Basic', username: 'ada', password: 'pw' }],
      ['Bearer', { type: 'Bearer', token: 't0k' }],
      ['ApiKey', { type: 'ApiKey', headerName: 'X-Api-Key', headerValue: 'k3y' }],
    ];
    it.each(variants)('accepts the %s variant', (_, authentication) => {
      const data = expectValid(
        digitalTwins,
        'standard',
        setAt(fullTwins(), '/eventSinks/webhook/0/authentication', authentication),
      ) as { eventSinks: { webhook: Array<{ authentication: unknown }> } };
      expect(data.eventSinks.webhook[0]?.authentication).toEqual(authentication);
    });

    it.each<[string, Settings, string[]]>([
      ['an unknown type, at type', { type: 'Digest' }, ['/type']],
      ['a missing type, at type', { token: 'x' }, ['/type']],
      ['Basic without a password', { type: 'Basic', username: 'ada' }, ['/password']],
      ['a Basic username with a colon', { type: 'Basic', username: 'a:b', password: 'p' }, ['/username']],
      ['a field of another variant', { type: 'Bearer', token: 't', username: 'ada' }, ['/username']],
      ['None with a token', { type: 'None', token: 't' }, ['/token']],
      ['ApiKey without a value', { type: 'ApiKey', headerName: 'X-Key' }, ['/headerValue']],
      [
        'an ApiKey header name with a space',
        { type: 'ApiKey', headerName: 'X Key', headerValue: 'v' },
        ['/headerName'],
      ],
      [
        'an ApiKey header name of 257 characters',
        { type: 'ApiKey', headerName: 'h'.repeat(257), headerValue: 'v' },
        ['/headerName'],
      ],
      [
        'a Basic password of 1025 characters',
        { type: 'Basic', username: 'u', password: 'p'.repeat(1025) },
        ['/password'],
      ],
      [
        'an ApiKey value of 4097 characters',
        { type: 'ApiKey', headerName: 'X', headerValue: 'v'.repeat(4097) },
        ['/headerValue'],
      ],
    ])('rejects %s', (_, authentication, expected) => {
      const result = validateSettings(
        digitalTwins,
        'standard',
        setAt(fullTwins(), '/eventSinks/webhook/0/authentication', authentication),
      );
      expect(pointers(result)).toEqual(expected.map((p) => `/eventSinks/webhook/0/authentication${p}`));
    });

    it('accepts the longest values of each variant', () => {
      for (const authentication of [
        { type: 'Basic', username: 'u'.repeat(256), password: 'p'.repeat(1024) },
        { type: 'ApiKey', headerName: 'h'.repeat(256), headerValue: 'v'.repeat(4096) },
      ]) {
        expectValid(
          digitalTwins,
          'standard',
          setAt(fullTwins(), '/eventSinks/webhook/0/authentication', authentication),
        );
      }
    });
  });

  it('needs SASL credentials with PLAIN, and a whole service principal for Kusto', () => {
    const kafka = setAt(fullTwins(), '/eventSinks/kafka/0/saslPassword', undefined);
    setAt(kafka, '/eventSinks/kafka/0/saslUsername', undefined);
    expect(pointers(validateSettings(digitalTwins, 'standard', kafka))).toEqual([
      '/eventSinks/kafka/0/saslUsername',
      '/eventSinks/kafka/0/saslPassword',
    ]);
    setAt(kafka, '/eventSinks/kafka/0/saslMechanism', 'OAUTHBEARER');
    expectValid(digitalTwins, 'standard', kafka);
    setAt(kafka, '/eventSinks/kafka/0/saslMechanism', 'PLAIN');
    setAt(kafka, '/eventSinks/kafka/0/securityProtocol', 'PLAINTEXT');
    expectValid(digitalTwins, 'standard', kafka);

    const kusto = setAt(fullTwins(), '/eventSinks/kusto/0/clientSecret', undefined);
    expect(pointers(validateSettings(digitalTwins, 'standard', kusto))).toEqual([
      '/eventSinks/kusto/0/clientSecret',
    ]);
    setAt(kusto, '/eventSinks/kusto/0/clientId', undefined);
    setAt(kusto, '/eventSinks/kusto/0/tenantId', undefined);
    expectValid(digitalTwins, 'standard', kusto);
  });

  it('marks secrets in the fields’ meta and lists them for the operator', () => {
    const sinks = digitalTwinsSettings.shape.eventSinks.unwrap().shape;
    expect(fieldMeta(sinks.kafka.unwrap().element.shape.saslPassword)).toMatchObject({ secret: true });
    expect(fieldMeta(sinks.kusto.unwrap().element.shape.clientSecret)).toMatchObject({ secret: true });
    expect(fieldMeta(sinks.mqtt.unwrap().element.shape.password)).toMatchObject({ secret: true });
    expect(fieldMeta(sinks.kafka.unwrap().element.shape.saslUsername)?.secret).toBeUndefined();
    expect(fieldMeta(digitalTwinsSettings.shape.instances)).toMatchObject({ label: 'Instances' });
    expect(digitalTwins.deployment.secret_settings).toEqual([
      '/eventSinks/kafka/*/saslPassword',
      '/eventSinks/kusto/*/clientSecret',
      '/eventSinks/mqtt/*/password',
      '/eventSinks/webhook/*/authentication/headerValue',
      '/eventSinks/webhook/*/authentication/password',
      '/eventSinks/webhook/*/authentication/token',
    ]);
    expect(flows.deployment.secret_settings).toEqual([]);
  });
});

describe('Konnektr.Flows settings', () => {
  it('accepts a full configuration and fills in defaults', () => {
    expect(expectValid(flows, 'standard', fullFlows())).toEqual(fullFlows());
    expect(expectValid(flows, 'free', {})).toEqual({
      replicas: 1,
      memoryLimit: '512Mi',
      cpuLimit: '500m',
      environment: {},
    });
  });

  it.each(rows(flowsBounds))('%s: accepts %s, rejects %s', (pointer, _in, _out, inside, outside) => {
    expectValid(flows, 'standard', setAt(fullFlows(), pointer, inside));
    const bad = validateSettings(flows, 'standard', setAt(fullFlows(), pointer, outside));
    expect(pointers(bad)).toContain(pointer);
  });

  it('checks environment variable names at the key, and their number', () => {
    for (const name of ['A', '_x', 'LOG_LEVEL_2', `V${'v'.repeat(255)}`]) {
      expectValid(flows, 'standard', setAt(fullFlows(), `/environment/${name}`, 'x'));
    }
    for (const name of ['1A', 'A-B', 'A B', 'ä', '', `V${'v'.repeat(256)}`]) {
      const result = validateSettings(flows, 'standard', { environment: { [name]: 'x' } });
      expect(pointers(result)).toEqual([`/environment/${name}`]);
    }
    const env = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`V${i}`, 'x']));
    expectValid(flows, 'standard', { environment: env(100) });
    expect(pointers(validateSettings(flows, 'standard', { environment: env(101) }))).toEqual([
      '/environment',
    ]);
  });

  it('rejects unknown keys at the key', () => {
    expect(pointers(validateSettings(flows, 'free', { replicas: 1, image: 'x' }))).toEqual(['/image']);
  });
});

describe('Kubernetes quantities', () => {
  it.each<[string, number | null]>([
    ['512Mi', 512 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1G', 1e9],
    ['100k', 1e5],
    ['1024', 1024],
    ['10GB', null],
    ['-1Gi', null],
    ['Gi', null],
    ['1e3', null],
  ])('parses the byte quantity %s', (value, bytes) => {
    expect(parseByteQuantity(value)).toBe(bytes);
  });

  it.each<[string, number | null]>([
    ['500m', 500],
    ['1', 1000],
    ['0.25', 250],
    ['2.125', 2125],
    ['0.0005', null],
    ['1.5m', null],
    ['m', null],
  ])('parses the CPU quantity %s', (value, millicores) => {
    expect(parseCpuQuantity(value)).toBe(millicores);
  });
});

describe('SKU rules', () => {
  it('allows one instance and no event sinks on the free SKU, each error at its field', () => {
    const two = validateSettings(digitalTwins, 'free', { instances: 2 });
    expect(two.ok ? [] : two.errors).toEqual([
      { pointer: '/instances', message: 'the free SKU runs 1 instance; choose the standard SKU for more' },
    ]);
    for (const kind of ['kafka', 'kusto', 'mqtt', 'webhook'] as const) {
      const full = fullTwins() as { eventSinks: Record<string, unknown[]> };
      const settings = {
        eventSinks: { [kind]: full.eventSinks[kind] },
      };
      const result = validateSettings(digitalTwins, 'free', settings);
      expect(result.ok ? [] : result.errors).toEqual([
        {
          pointer: '/eventSinks',
          message: 'the free SKU has no event sinks; remove them or choose the standard SKU',
        },
      ]);
    }
    expect(pointers(validateSettings(digitalTwins, 'free', fullTwins()))).toEqual([
      '/instances',
      '/eventSinks',
    ]);
    expectValid(digitalTwins, 'free', { instances: 1 });
    expectValid(digitalTwins, 'standard', { instances: 6 });
  });

  it('does not repeat a SKU error at a field that already has one', () => {
    expect(pointers(validateSettings(digitalTwins, 'free', { instances: 9 }))).toEqual(['/instances']);
  });

  it('caps the standard SKU at 20 sinks in all', () => {
    const sinks = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        name: `${prefix}${i}`,
        broker: 'mqtt.example.com',
        topic: 't',
        clientId: 'c',
        protocolVersion: '3.1.1',
      }));
    expectValid(digitalTwins, 'standard', { eventSinks: { mqtt: sinks('a', 10) } });
    const result = validateSettings(digitalTwins, 'standard', {
      eventSinks: {
        mqtt: sinks('a', 10),
        webhook: Array.from({ length: 10 }, (_, i) => ({
          name: `w${i}`,
          url: 'https://example.com',
          method: 'POST',
          authentication: { type: 'None' },
        })),
        kafka: [
          { name: 'k', brokerList: 'k:1', topic: 't', securityProtocol: 'PLAINTEXT', saslMechanism: 'PLAIN' },
        ],
      },
    });
    expect(pointers(result)).toEqual(['/eventSinks']);
  });

  it('limits Flows replicas, memory and CPU on the free SKU', () => {
    expectValid(flows, 'free', { replicas: 1, memoryLimit: '1Gi', cpuLimit: '1' });
    expect(pointers(validateSettings(flows, 'free', { replicas: 2 }))).toEqual(['/replicas']);
    expect(pointers(validateSettings(flows, 'free', { memoryLimit: '1025Mi' }))).toEqual(['/memoryLimit']);
    expect(pointers(validateSettings(flows, 'free', { cpuLimit: '1001m' }))).toEqual(['/cpuLimit']);
    expectValid(flows, 'standard', { replicas: 5, memoryLimit: '16Gi', cpuLimit: '8' });
  });
});

describe('presets', () => {
  const all = listResourceTypes().flatMap((type) => type.presets.map((preset) => [type, preset] as const));

  it.each(all.map(([type, preset]) => [`${type.name} ${preset.name}`, type, preset] as const))(
    '%s validates on its SKU and round-trips unchanged',
    (_, type, preset) => {
      const data = expectValid(type, preset.sku, preset.settings);
      expect(expectValid(type, preset.sku, structuredClone(data))).toEqual(data);
    },
  );

  it('include the ones the product promises', () => {
    const byName = (type: ResourceTypeDefinition) => Object.fromEntries(type.presets.map((p) => [p.name, p]));
    const twins = byName(digitalTwins);
    expect(twins.Development).toMatchObject({ sku: 'free', settings: { instances: 1 } });
    expect(twins['Production HA']).toMatchObject({
      sku: 'standard',
      settings: { instances: 3, database: { backupEnabled: true } },
    });
    const kafka = validateSettings(digitalTwins, 'standard', twins['Kafka streaming']?.settings);
    expect(kafka.ok && kafka.data).toMatchObject({
      eventSinks: { kafka: [{ name: 'kafka-events' }], kusto: [], mqtt: [], webhook: [] },
      eventRoutes: [{ sinkName: 'kafka-events' }],
    });
    expect(twins['Kafka streaming']?.sku).toBe('standard');
    expect(Object.keys(byName(flows))).toEqual(['Small', 'Large']);
    for (const type of listResourceTypes()) {
      const ids = type.presets.map((preset) => preset.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});

describe('registry', () => {
  it('lists the types and finds each by its exact name', () => {
    expect(listResourceTypes().map((type) => type.name)).toEqual([
      'Konnektr.Graph',
      'Konnektr.Flows',
      'Konnektr.Secret',
    ]);
    expect(getResourceType('Konnektr.Flows')).toBe(flows);
    expect(getResourceType('konnektr.flows')).toBeUndefined();
    expect(getResourceType('Nope')).toBeUndefined();
  });

  it('answers an unknown type or SKU with a 422 at /type or /sku naming the known ones', () => {
    const unknownType = (() => {
      try {
        validateSettings('Konnektr.Nope', 'free', {});
      } catch (error) {
        return error;
      }
    })();
    expect(unknownType).toBeInstanceOf(AppError);
    expect(unknownType).toMatchObject({
      status: 422,
      errors: [
        {
          pointer: '/type',
          message: 'unknown resource type; use one of: Konnektr.Graph, Konnektr.Flows, Konnektr.Secret',
        },
      ],
    });
    expect(() => validateSettings('Konnektr.Flows', 'premium', {})).toThrow(/no SKU "premium"/);
    expect(validateSettings('Konnektr.Flows', 'free', {}).ok).toBe(true);
  });

  it('keeps definitions JSON-serialisable where they are data (SKUs, presets, deployment)', () => {
    for (const type of listResourceTypes()) {
      for (const data of [type.skus, type.presets, type.deployment, type.icon, type.defaults]) {
        expect(JSON.parse(JSON.stringify(data))).toEqual(data);
      }
      expect(Object.keys(type.skus).sort()).toEqual(['free', 'standard']);
      for (const sku of Object.values(type.skus)) expect(sku.features.length).toBeGreaterThan(0);
    }
  });

  it('refuses a type whose defaults do not validate', () => {
    expect(() =>
      defineResourceType({
        ...flows,
        name: 'Test.Broken',
        settings: z.strictObject({ size: z.int() }),
        presets: [],
      }),
    ).toThrow(/defaults do not validate/);
  });

  it('gives a type added as one definition validation, SKU rules and a JSON Schema', () => {
    const widgets = defineResourceType({
      name: 'Test.Widgets',
      displayName: 'Widgets',
      description: 'A throwaway type.',
      icon: { viewBox: '0 0 24 24', paths: ['M4 4h16v16H4z'] },
      skus: {
        free: { displayName: 'Free', description: '', limits: { max_count: 1 }, features: ['1 widget'] },
        standard: {
          displayName: 'Standard',
          description: '',
          limits: { max_count: 3 },
          features: ['3 widgets'],
        },
      },
      settings: z.strictObject({
        count: z.int().min(1).max(3).default(1).meta({ label: 'Count' }),
        apiKey: z.string().optional().meta({ label: 'API key', secret: true }),
      }),
      presets: [{ id: 'one', name: 'One', description: '', sku: 'free', settings: { count: 1 } }],
      checkSku: (sku, settings) =>
        sku === 'free' && (settings as { count?: number }).count !== 1
          ? [{ path: ['count'], message: 'one widget on free' }]
          : [],
      deployment: {
        workload: 'helm-chart',
        repository: 'oci://example.invalid',
        helm_chart: 'widgets',
        chart_version: '1.0.0',
        values: [{ setting: '/count', value: 'replicaCount' }],
        health_checks: [],
        access_url_template: 'https://{resource_id}.example.invalid',
      },
    });
    expect(widgets.defaults).toEqual({ count: 1 });
    expect(widgets.deployment.secret_settings).toEqual(['/apiKey']);
    expect(pointers(validateSettings(widgets, 'free', { count: 2 }))).toEqual(['/count']);
    expect(validateSettings(widgets, 'standard', { count: 2 }).ok).toBe(true);
    expect(settingsJsonSchema(widgets)).toMatchObject({
      properties: { count: { type: 'integer', title: 'Count' }, apiKey: { writeOnly: true } },
    });
    expect(resourceTypeDocument(widgets).type_name).toBe('Test.Widgets');
  });
});

/** The node at a dotted path of a JSON document (`properties.instances`, `oneOf.1`). */
function at(root: unknown, path: string): Record<string, unknown> {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') throw new Error(`nothing at ${path} (stopped at ${key})`);
    node = (node as Record<string, unknown>)[key];
  }
  return node as Record<string, unknown>;
}

describe('JSON Schema export', () => {
  it('describes DigitalTwins settings with bounds, defaults, strictness, labels and secrets', () => {
    const schema = settingsJsonSchema(digitalTwins);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      title: 'Digital Twins settings',
    });
    expect(schema.required ?? []).toEqual([]);
    expect(at(schema, 'properties.instances')).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 6,
      default: 1,
      title: 'Instances',
      label: 'Instances',
    });
    const sinks = at(schema, 'properties.eventSinks');
    expect(sinks.additionalProperties).toBe(false);
    const kafka = at(sinks, 'properties.kafka.items');
    expect(kafka.additionalProperties).toBe(false);
    expect(at(kafka, 'properties.securityProtocol.enum')).toEqual([
      'PLAINTEXT',
      'SASL_PLAINTEXT',
      'SASL_SSL',
    ]);
    // A secret is text, or a reference to an entry of a Konnektr.Secret of the project.
    expect(at(kafka, 'properties.saslPassword')).toMatchObject({
      anyOf: [
        { type: 'string', maxLength: 1024 },
        { type: 'object', required: ['valueFrom'], additionalProperties: false },
      ],
      writeOnly: true,
      secret: true,
    });
    expect(at(kafka, 'properties.topic')).toMatchObject({ minLength: 1, maxLength: 249 });
    expect([...(kafka.required as string[])].sort()).toEqual([
      'brokerList',
      'name',
      'saslMechanism',
      'securityProtocol',
      'topic',
    ]);
    expect(at(sinks, 'properties.kafka').maxItems).toBe(10);
    expect(at(sinks, 'properties.mqtt.items.properties.port')).toMatchObject({
      minimum: 1,
      maximum: 65535,
      default: 1883,
    });
    const auth = at(sinks, 'properties.webhook.items.properties.authentication');
    expect((auth.oneOf as unknown[]).map((variant) => at(variant, 'properties.type.const'))).toEqual([
      'None',
      'Basic',
      'Bearer',
      'ApiKey',
    ]);
    expect(at(auth, 'oneOf.1.properties.password.writeOnly')).toBe(true);
    expect(at(schema, 'properties.eventRoutes.items.properties.eventFormat.enum')).toEqual([
      'EventNotification',
      'DataHistory',
      'Telemetry',
    ]);
    expect(at(schema, 'properties.database.properties.storageSize')).toMatchObject({
      type: 'string',
      default: '10Gi',
    });
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('describes Flows settings, with the environment’s key pattern', () => {
    const schema = settingsJsonSchema(flows);
    expect(at(schema, 'properties.replicas')).toMatchObject({ minimum: 1, maximum: 5, default: 1 });
    expect(at(schema, 'properties.memoryLimit.default')).toBe('512Mi');
    expect(at(schema, 'properties.cpuLimit.default')).toBe('500m');
    expect(at(schema, 'properties.environment')).toMatchObject({
      type: 'object',
      default: {},
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      additionalProperties: { type: 'string' },
    });
  });

  it('does not throw on parts JSON Schema cannot represent', () => {
    const type = defineResourceType({
      ...flows,
      name: 'Test.Odd',
      settings: z.strictObject({
        when: z.date().optional(),
        size: z.bigint().optional(),
        name: z
          .string()
          .transform((value) => value.trim())
          .optional(),
      }),
      presets: [],
    });
    expect(Object.keys(at(settingsJsonSchema(type), 'properties')).sort()).toEqual(['name', 'size', 'when']);
  });
});
