import { describe, expect, it } from 'vitest';
import { toJsonPointer } from '../../src/lib/errors.ts';
import { type FlatFields, fieldId, parseFieldName } from '../../src/lib/form-data.ts';
import { digitalTwins } from '../../src/schemas/resource-types/digital-twins.ts';
import { flows } from '../../src/schemas/resource-types/flows.ts';
import {
  parseByteQuantity,
  parseCpuQuantity,
  type ResourceTypeDefinition,
  type SkuId,
} from '../../src/schemas/resource-types/resource-type.ts';
import { settingsJsonSchema, validateSettings } from '../../src/services/resource-types.ts';
import { submittedFields } from '../../src/views/forms/submitted-fields.ts';
import { as, createOrgFor, createProjectFor, signUpUser, type TestUser } from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

/**
 * Issue 4: every schema bound, through the HTML form. For each bound the browser form is posted
 * (form-encoded, cookie session) with the value just past it, which must answer 422 with the
 * message in the field's own error element (wired through aria-describedby) and the typed value
 * still in the field, then with the value just inside it, which must be saved (303) and land in
 * settings_json. The settings editor gets every bound; the wizard a few, through to the review
 * and the create.
 *
 * The rows cannot drift silently from the schemas: the bounds JSON Schema can express (minimum,
 * maximum, integer, minLength, maxLength, enum, pattern, format, maxItems, variants) are read from
 * `settingsJsonSchema`, the numeric ones turn into rows by themselves, and a coverage test fails
 * when a bound of the JSON Schema has no row. Refinements JSON Schema cannot express (quantity
 * ranges, cross-field rules, SKU limits) are written out by hand; SKU limits are read from the
 * type's SKU table.
 *
 * A bound the form cannot send past is named in `unreachable` with the reason (an empty input
 * means "absent", so an optional field never receives the empty string).
 *
 * To stay fast (a test costs a TRUNCATE of every table), a test runs a whole group of rows, each on
 * a resource of its own (a few at once), and reports every failing row together.
 */

type Settings = Record<string, unknown>;
/** Form fields to set, by name without the `settings.` prefix. */
type Overrides = Record<string, string>;
type Variant = { union: string; value: string };

/** What settings_json must hold at a pointer after the accepted post; ABSENT: no such key. */
const ABSENT = Symbol('absent');

interface Row {
  title: string;
  /** Bounds of the JSON Schema this row exercises: `<pointer with *> <keyword>`. */
  covers: string[];
  /** The fields changed for the post that must be accepted… */
  inside: Overrides;
  /** …and for the one that must be refused. */
  outside: Overrides;
  /** The field (name without prefix) whose error element must show the message. */
  errorAt: string;
  /** Fragments the error must contain. */
  message: string[];
  /** pointer → value in settings_json after the accepted post. */
  stored: Array<[string, unknown]>;
  /** Fields the refused form must show as they were typed (default: every field of `outside`). */
  keep?: string[];
  /** Choose this variant of a union first, the way the browser does (a refresh operation). */
  variant?: Variant;
}

const PREFIX = 'settings';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

// ---------------------------------------------------------------------------------------------
// What the rows start from

interface Target {
  label: string;
  type: ResourceTypeDefinition;
  sku: SkuId;
  base: Settings;
}

const twinsStandard: Target = {
  label: 'Konnektr.Graph standard',
  type: digitalTwins,
  sku: 'standard',
  base: {
    instances: 2,
    eventSinks: {
      kafka: [
        {
          name: 'k',
          brokerList: 'k.example.com:9093',
          topic: 'twins',
          securityProtocol: 'SASL_SSL',
          saslMechanism: 'PLAIN',
          saslUsername: 'svc',
          saslPassword: 'stored-kafka-secret',
        },
      ],
      kusto: [
        {
          name: 'q',
          ingestionUri: 'https://ingest.example.com',
          database: 'twins',
          tenantId: 'tenant',
          clientId: 'client',
          clientSecret: 'stored-kusto-secret',
        },
      ],
      mqtt: [
        {
          name: 'm',
          broker: 'mqtt.example.com',
          port: 8883,
          topic: 'twins/out',
          clientId: 'twins',
          protocolVersion: '5.0.0',
          username: 'svc',
          password: 'stored-mqtt-secret',
        },
      ],
      webhook: [
        // Row 0 is where the authentication variants are chosen; row 1 is what the route names,
        // so renaming row 0 never breaks the route.
        { name: 'w', url: 'https://hooks.example.com/a', method: 'POST', authentication: { type: 'None' } },
        {
          name: 'routed',
          url: 'https://hooks.example.com/b',
          method: 'PUT',
          authentication: { type: 'None' },
        },
      ],
    },
    eventRoutes: [{ name: 'r', sinkName: 'routed', eventFormat: 'EventNotification', filters: [] }],
    database: { storageClass: 'standard', storageSize: '10Gi', backupEnabled: true },
  },
};

const twinsFree: Target = { label: 'Konnektr.Graph free', type: digitalTwins, sku: 'free', base: {} };

const flowsStandard: Target = {
  label: 'Konnektr.Flows standard',
  type: flows,
  sku: 'standard',
  base: { replicas: 2, memoryLimit: '1Gi', cpuLimit: '1', environment: { LOG_LEVEL: 'info' } },
};

const flowsFree: Target = { label: 'Konnektr.Flows free', type: flows, sku: 'free', base: {} };

// ---------------------------------------------------------------------------------------------
// Building rows

function label(value: unknown): string {
  return typeof value === 'string' && value.length > 24
    ? `"${value.slice(0, 8)}…" (${value.length} chars)`
    : JSON.stringify(value);
}

function pointerOf(field: string): string {
  const parsed = parseFieldName(field);
  if (!parsed || parsed.marker) throw new Error(`not a field name: ${field}`);
  return toJsonPointer(parsed.path);
}

/** `/eventSinks/kafka/* /name` (a bound's pointer) → `eventSinks.kafka[0].name` (row 0's field). */
function fieldOf(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw === '*' ? '0' : raw;
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

function under(prefix: string, overrides: Overrides): Overrides {
  return Object.fromEntries(Object.entries(overrides).map(([name, value]) => [`${prefix}.${name}`, value]));
}

/** What a chosen variant needs besides the row's own field, so that only that field is wrong. */
const VARIANT_FILL: Record<string, Overrides> = {
  None: {},
  Basic: { username: 'svc', password: 'basic-secret' },
  Bearer: { token: 'bearer-secret' },
  ApiKey: { headerName: 'X-Api-Key', headerValue: 'api-key-secret' },
};

interface BoundOptions {
  covers?: string[];
  /** Changed in both posts (a route following a renamed sink, rows of a list…). */
  also?: Overrides;
  alsoInside?: Overrides;
  alsoOutside?: Overrides;
  errorAt?: string;
  /** Instead of "the field holds the inside value". */
  stored?: Array<[string, unknown]>;
  variant?: Variant;
  title?: string;
}

/** One field, the value just inside a bound and the value just past it. Numbers are stored as numbers. */
function bound(
  field: string,
  inside: string | number,
  outside: string | number,
  message: string | string[],
  options: BoundOptions = {},
): Row {
  const fill = options.variant ? under(options.variant.union, VARIANT_FILL[options.variant.value] ?? {}) : {};
  const row: Row = {
    title: options.title ?? `${field}: accepts ${label(inside)}, rejects ${label(outside)}`,
    covers: options.covers ?? [],
    inside: { ...fill, ...options.also, ...options.alsoInside, [field]: String(inside) },
    outside: { ...fill, ...options.also, ...options.alsoOutside, [field]: String(outside) },
    errorAt: options.errorAt ?? field,
    message: Array.isArray(message) ? message : [message],
    stored: options.stored ?? [[pointerOf(field), inside]],
    // Not the variant's filler: with an unknown variant chosen there are no variant fields to keep.
    keep: [field, ...Object.keys({ ...options.also, ...options.alsoOutside })],
  };
  if (options.variant) row.variant = options.variant;
  return row;
}

/** Rows `from`…`to - 1` of a list, each from `make(i)`: the row's fields, or its value. */
function listRows(
  list: string,
  from: number,
  to: number,
  make: (i: number) => Overrides | string,
): Overrides {
  let out: Overrides = {};
  for (let i = from; i < to; i++) {
    const row = make(i);
    out = { ...out, ...(typeof row === 'string' ? { [`${list}[${i}]`]: row } : under(`${list}[${i}]`, row)) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The bounds JSON Schema can express, read from the exported schema

type JsonNode = Record<string, unknown>;

interface SchemaBound {
  key: string;
  pointer: string;
  keyword: string;
  node: JsonNode;
  /** In its object's `required` (no default): an empty input is an error rather than "absent". */
  required: boolean;
  /** An item of a list of plain values, or a record's key or value: a blank row is dropped. */
  inList: boolean;
  variant?: Variant;
}

const LEAF_KEYWORDS = ['minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'format', 'enum'];

function schemaBounds(schema: JsonNode): SchemaBound[] {
  const out: SchemaBound[] = [];
  const walk = (
    node: JsonNode,
    pointer: string,
    context: { required: boolean; inList: boolean; variant?: Variant },
  ) => {
    const add = (keyword: string) =>
      out.push({ key: `${pointer} ${keyword}`, pointer, keyword, node, ...context });
    if (Array.isArray(node.oneOf)) {
      const options = node.oneOf as JsonNode[];
      let discriminator: string | undefined;
      for (const option of options) {
        const properties = (option.properties ?? {}) as Record<string, JsonNode>;
        const [key, constant] =
          Object.entries(properties).find(([, property]) => property.const !== undefined) ?? [];
        if (!key || !constant) throw new Error(`${pointer}: a union without a discriminator`);
        discriminator = key;
        const required = new Set((option.required as string[] | undefined) ?? []);
        for (const [name, property] of Object.entries(properties)) {
          if (name === key) continue;
          walk(property, `${pointer}/${name}`, {
            required: required.has(name),
            inList: false,
            variant: { union: fieldOf(pointer), value: String(constant.const) },
          });
        }
      }
      out.push({
        key: `${pointer}/${discriminator} oneOf`,
        pointer: `${pointer}/${discriminator}`,
        keyword: 'oneOf',
        node,
        ...context,
      });
      return;
    }
    if (node.type === 'object') {
      const required = new Set((node.required as string[] | undefined) ?? []);
      for (const [name, property] of Object.entries((node.properties ?? {}) as Record<string, JsonNode>)) {
        walk(property, `${pointer}/${name}`, { required: required.has(name), inList: false });
      }
      if (node.propertyNames)
        walk(node.propertyNames as JsonNode, `${pointer}/{key}`, { required: true, inList: true });
      if (typeof node.additionalProperties === 'object') {
        walk(node.additionalProperties as JsonNode, `${pointer}/*`, { required: true, inList: true });
      }
      return;
    }
    if (node.type === 'array') {
      for (const keyword of ['minItems', 'maxItems']) if (node[keyword] !== undefined) add(keyword);
      const items = node.items as JsonNode;
      walk(items, `${pointer}/*`, { required: true, inList: items.type !== 'object' });
      return;
    }
    for (const keyword of LEAF_KEYWORDS) if (node[keyword] !== undefined) add(keyword);
    if (node.type === 'integer') add('integer');
  };
  walk(schema, '', { required: true, inList: false });
  return out;
}

/**
 * Bounds the form cannot send past, and why. An empty input means "absent" (so an optional field
 * takes its default or disappears, and a blank row of a list of plain values is dropped): the
 * empty string never reaches the schema. Their "required" side is tested where they are required.
 */
function unreachable(item: SchemaBound): string | undefined {
  if (item.keyword === 'minLength' && item.node.minLength === 1 && (!item.required || item.inList)) {
    return 'an empty input means absent, so the empty string cannot be posted';
  }
  return undefined;
}

/** Values for a maxLength row that satisfy every other rule of the field. */
const FILL: Record<string, (length: number) => string> = {
  '/eventSinks/kafka/*/brokerList': (n) => `${'h'.repeat(n - 5)}:9093`,
  '/eventSinks/kusto/*/ingestionUri': (n) => `https://example.com/${'p'.repeat(n - 20)}`,
  '/eventSinks/webhook/*/url': (n) => `https://example.com/${'p'.repeat(n - 20)}`,
  '/eventSinks/mqtt/*/broker': hostOfLength,
  '/database/storageSize': (n) => `${'0'.repeat(n - 4)}10Gi`,
  '/memoryLimit': (n) => `${'0'.repeat(n - 5)}512Mi`,
  '/cpuLimit': (n) => `${'0'.repeat(n - 4)}500m`,
};

/** The shortest valid value of a required field, for its "required" row. */
const SHORTEST: Record<string, string> = {
  '/eventSinks/kafka/*/brokerList': 'a:1',
  // A route must name a sink that exists.
  '/eventRoutes/*/sinkName': 'k',
};

/** A host name of exactly `length` characters (labels of at most 63). */
function hostOfLength(length: number): string {
  const labels: string[] = [];
  let left = length;
  while (left > 63) {
    labels.push('a'.repeat(63));
    left -= 64;
  }
  labels.push('a'.repeat(left));
  const host = labels.join('.');
  if (left < 1 || host.length !== length) throw new Error(`no host name of ${length} characters here`);
  return host;
}

/** A near miss of an enum: the first value in lower case, or with a character more. */
function nearMiss(values: string[]): string {
  const first = values[0] ?? 'x';
  return first.toLowerCase() === first ? `${first}0` : first.toLowerCase();
}

/** Bounds whose rows need more than the field itself (records, a route naming an existing sink). */
const HAND_WRITTEN = new Set([
  '/eventRoutes/*/sinkName maxLength',
  '/environment/{key} maxLength',
  '/environment/* maxLength',
]);

/** Rows derived from a bound alone; empty when the bound needs hand-written rows. */
function automaticRows(item: SchemaBound): Row[] {
  if (HAND_WRITTEN.has(item.key)) return [];
  const field = fieldOf(item.pointer);
  const node = item.node;
  const options: BoundOptions = { covers: [item.key], ...(item.variant ? { variant: item.variant } : {}) };
  switch (item.keyword) {
    case 'minimum': {
      const min = node.minimum as number;
      return [bound(field, min, min - 1, `use at least ${min}`, options)];
    }
    case 'maximum': {
      const max = node.maximum as number;
      return [bound(field, max, max + 1, `use at most ${max}`, options)];
    }
    case 'integer': {
      const whole = typeof node.maximum === 'number' ? node.maximum - 1 : ((node.minimum as number) ?? 0) + 1;
      return [bound(field, whole, `${whole}.5`, 'enter a whole number', options)];
    }
    case 'maxLength': {
      const max = node.maxLength as number;
      const fill = FILL[item.pointer] ?? ((n: number) => 'a'.repeat(n));
      return [bound(field, fill(max), fill(max + 1), `use at most ${max} characters`, options)];
    }
    case 'minLength': {
      if (unreachable(item)) return [];
      if (node.minLength !== 1) throw new Error(`${item.key}: no rule for a minimum length above 1`);
      return [bound(field, SHORTEST[item.pointer] ?? 'a', '', 'required: enter a value', options)];
    }
    case 'enum': {
      // A near miss is refused by a message that lists every choice; another choice is saved (the
      // second, which no base uses, so the save changes something).
      const values = (node.enum as unknown[]).map(String);
      return [bound(field, values[1] ?? values[0] ?? '', nearMiss(values), values, options)];
    }
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-written rows: patterns, formats, variants, list sizes, refinements, cross-field and SKU rules

const DNS_LABEL = 'use lowercase letters, digits and single hyphens';

/**
 * The rules of a DNS label (the pattern's bound), for a sink or route name field: every rule, or
 * (for fields that share the pattern of one tested in full) the upper-case one only.
 */
function dnsLabelRows(pointer: string, first: string, rules: 'all' | 'one' = 'all'): Row[] {
  const field = fieldOf(pointer);
  const covers = [`${pointer} pattern`];
  const upperCase = bound(field, `${first}x`, `${first.toUpperCase()}x`, DNS_LABEL, { covers });
  if (rules === 'one') return [upperCase];
  return [
    bound(field, `${first}-1`, `${first}--1`, DNS_LABEL, { covers }),
    bound(field, `${first}-1`, `${first}-`, DNS_LABEL, { covers }),
    bound(field, `${first}1`, `1${first}`, DNS_LABEL, { covers }),
    upperCase,
  ];
}

function patternRow(pointer: string, inside: string, outside: string, message: string, variant?: Variant) {
  return bound(fieldOf(pointer), inside, outside, message, {
    covers: [`${pointer} pattern`],
    ...(variant ? { variant } : {}),
  });
}

function kafkaRow(i: number): Overrides {
  return {
    name: `k${i}`,
    brokerList: 'b.example.com:9092',
    topic: 't',
    securityProtocol: 'PLAINTEXT',
    saslMechanism: 'PLAIN',
  };
}
/** Row `i` of a list of sinks of each kind: valid, and named apart from the base's sinks. */
const SINK_ROWS = {
  kafka: kafkaRow,
  kusto: (i) => ({ name: `q${i}`, ingestionUri: 'https://ingest.example.com', database: 'd' }),
  mqtt: (i) => ({
    name: `m${i}`,
    broker: 'mqtt.example.com',
    topic: 't',
    clientId: `c${i}`,
    protocolVersion: '3.1.1',
  }),
  webhook: (i) => ({
    name: `w${i}`,
    url: 'https://hooks.example.com/x',
    method: 'POST',
    'authentication.type': 'None',
  }),
} satisfies Record<string, (i: number) => Overrides>;

function baseSinkCount(target: Target, kind: string): number {
  const sinks = (target.base.eventSinks ?? {}) as Record<string, unknown[]>;
  return sinks[kind]?.length ?? 0;
}

/** The largest list of each sink kind the schema allows, and one more. */
function sinkListRows(): Row[] {
  return Object.entries(SINK_ROWS).map(([kind, make]) => {
    const pointer = `/eventSinks/${kind}`;
    const max = schemaNode(digitalTwins, pointer).maxItems as number;
    const from = baseSinkCount(twinsStandard, kind);
    return {
      title: `eventSinks.${kind}: accepts ${max} sinks, rejects ${max + 1}`,
      covers: [`${pointer} maxItems`],
      inside: listRows(`eventSinks.${kind}`, from, max, make),
      outside: listRows(`eventSinks.${kind}`, from, max + 1, make),
      errorAt: `eventSinks.${kind}`,
      message: [`use at most ${max} sinks of one kind`],
      stored: [[`${pointer}/${max - 1}/name`, make(max - 1).name]],
    };
  });
}

/** `count` sinks more than the base, filling each kind up to its maximum in turn. */
function extraSinks(count: number): Overrides {
  let out: Overrides = {};
  let left = count;
  for (const [kind, make] of Object.entries(SINK_ROWS)) {
    const max = schemaNode(digitalTwins, `/eventSinks/${kind}`).maxItems as number;
    const from = baseSinkCount(twinsStandard, kind);
    const take = Math.min(left, max - from);
    out = { ...out, ...listRows(`eventSinks.${kind}`, from, from + take, make) };
    left -= take;
  }
  if (left > 0) throw new Error(`cannot fit ${count} more sinks`);
  return out;
}

function schemaNode(type: ResourceTypeDefinition, pointer: string): JsonNode {
  let node = settingsJsonSchema(type) as JsonNode;
  for (const segment of pointer.split('/').slice(1)) {
    node = ((node.properties ?? {}) as Record<string, JsonNode>)[segment] ?? {};
  }
  return node;
}

function countSinks(settings: Settings): number {
  return Object.values((settings.eventSinks ?? {}) as Record<string, unknown[]>).reduce(
    (total, list) => total + list.length,
    0,
  );
}

const WEBHOOK_AUTH = 'eventSinks.webhook[0].authentication';

const twinsHandRows: Record<string, Row[]> = {
  database: [
    patternRow(
      '/database/storageClass',
      'fast.ssd-2',
      'Fast_SSD',
      'use lowercase letters, digits, hyphens and dots',
    ),
    patternRow('/database/storageSize', '1.5Gi', '10GB', 'enter a storage size such as 10Gi'),
    // The range is a refinement (no JSON Schema keyword): written out here.
    bound('database.storageSize', '1Gi', '1023Mi', 'use at least 1Gi'),
    bound('database.storageSize', '1Ti', '1025Gi', 'use at most 1Ti'),
  ],
  kafka: [
    ...dnsLabelRows('/eventSinks/kafka/*/name', 'k'),
    patternRow(
      '/eventSinks/kafka/*/brokerList',
      'a.example.com:9093,b.example.com:9093',
      'a.example.com',
      'list brokers as host:port',
    ),
    patternRow(
      '/eventSinks/kafka/*/brokerList',
      'a:9093,b:9093',
      'a:9093, b:9093',
      'list brokers as host:port',
    ),
    patternRow(
      '/eventSinks/kafka/*/topic',
      'a.b_c-d',
      'a b',
      'use letters, digits, dots, underscores and hyphens',
    ),
  ],
  kusto: [
    ...dnsLabelRows('/eventSinks/kusto/*/name', 'q', 'one'),
    bound(
      'eventSinks.kusto[0].ingestionUri',
      'http://adx.example.com',
      'ftp://adx.example.com',
      'starting with https://',
      {
        covers: ['/eventSinks/kusto/*/ingestionUri format'],
      },
    ),
    bound(
      'eventSinks.kusto[0].ingestionUri',
      'https://adx.example.com',
      'not a url',
      'starting with https://',
      {
        covers: ['/eventSinks/kusto/*/ingestionUri format'],
      },
    ),
    ...['propertyEventsTable', 'twinLifeCycleEventsTable', 'relationshipLifeCycleEventsTable'].map((table) =>
      patternRow(
        `/eventSinks/kusto/*/${table}`,
        'My Table.v2',
        'bad;table',
        'use letters, digits, spaces, dots',
      ),
    ),
  ],
  mqtt: [
    ...dnsLabelRows('/eventSinks/mqtt/*/name', 'm', 'one'),
    patternRow(
      '/eventSinks/mqtt/*/broker',
      'mqtt-1.example.com',
      'mqtt://mqtt.example.com',
      'enter a host name',
    ),
    patternRow('/eventSinks/mqtt/*/topic', 'twins/out', 'twins/#', 'cannot contain the wildcards'),
    patternRow('/eventSinks/mqtt/*/topic', 'twins/out', 'twins/+/out', 'cannot contain the wildcards'),
  ],
  webhook: [
    ...dnsLabelRows('/eventSinks/webhook/*/name', 'w', 'one'),
    bound(
      'eventSinks.webhook[0].url',
      'https://example.com/x',
      'http://example.com/x',
      'enter an https:// URL',
      {
        covers: ['/eventSinks/webhook/*/url format'],
      },
    ),
    bound(
      'eventSinks.webhook[0].url',
      'https://hooks.example.com',
      'https://localhost/x',
      'with a public host name',
      {
        covers: ['/eventSinks/webhook/*/url format'],
      },
    ),
    // Every variant can be chosen and saved with its required fields; an unknown one is refused.
    ...Object.keys(VARIANT_FILL).map((value) =>
      bound(`${WEBHOOK_AUTH}.type`, value, 'Digest', Object.keys(VARIANT_FILL), {
        covers: ['/eventSinks/webhook/*/authentication/type oneOf'],
        variant: { union: WEBHOOK_AUTH, value },
      }),
    ),
    patternRow(
      '/eventSinks/webhook/*/authentication/username',
      'svc.account',
      'svc:account',
      'cannot contain a colon',
      { union: WEBHOOK_AUTH, value: 'Basic' },
    ),
    patternRow(
      '/eventSinks/webhook/*/authentication/headerName',
      "X-Api-Key_2!#$%&'*+.^`|~",
      'X Api Key',
      'use the characters an HTTP header name allows',
      { union: WEBHOOK_AUTH, value: 'ApiKey' },
    ),
  ],
  routes: [
    ...dnsLabelRows('/eventRoutes/*/name', 'r'),
    // The sink a route names must exist, so the longest name is given to the sink it names too.
    bound('eventRoutes[0].sinkName', 's'.repeat(63), 's'.repeat(64), 'use at most 63 characters', {
      covers: ['/eventRoutes/*/sinkName maxLength'],
      also: { 'eventSinks.webhook[1].name': 's'.repeat(63) },
    }),
    {
      title: 'eventRoutes[0].filters: accepts 20 filters, rejects 21',
      covers: ['/eventRoutes/*/filters maxItems'],
      inside: listRows('eventRoutes[0].filters', 0, 20, (i) => `f${i}`),
      outside: listRows('eventRoutes[0].filters', 0, 21, (i) => `f${i}`),
      errorAt: 'eventRoutes[0].filters',
      message: ['use at most 20 filters'],
      stored: [['/eventRoutes/0/filters/19', 'f19']],
    },
  ],
  lists: [
    ...sinkListRows(),
    (() => {
      const max = schemaNode(digitalTwins, '/eventRoutes').maxItems as number;
      const route = (i: number) => ({ name: `r${i}`, sinkName: 'routed', eventFormat: 'Telemetry' });
      return {
        title: `eventRoutes: accepts ${max} routes, rejects ${max + 1}`,
        covers: ['/eventRoutes maxItems'],
        inside: listRows('eventRoutes', 1, max, route),
        outside: listRows('eventRoutes', 1, max + 1, route),
        errorAt: 'eventRoutes',
        message: [`use at most ${max} routes`],
        stored: [[`/eventRoutes/${max - 1}/name`, `r${max - 1}`]],
      };
    })(),
    (() => {
      const limit = digitalTwins.skus.standard.limits.max_event_sinks as number;
      const inside = extraSinks(limit - countSinks(twinsStandard.base));
      const lastName = Object.keys(inside).findLast((name) => name.endsWith('.name')) ?? '';
      return {
        title: `the standard SKU: accepts ${limit} event sinks in all, rejects ${limit + 1}`,
        covers: [],
        inside,
        outside: extraSinks(limit + 1 - countSinks(twinsStandard.base)),
        errorAt: 'eventSinks',
        message: [`at most ${limit} event sinks in all`],
        stored: [[pointerOf(lastName), inside[lastName]]],
      };
    })(),
  ],
  crossField: [
    // Sink names are unique across kinds; the later sink (in kafka, kusto, mqtt, webhook order) gets the error.
    bound('eventSinks.kusto[0].name', 'k2', 'k', 'already used by the kafka sink'),
    bound('eventSinks.mqtt[0].name', 'q2', 'q', 'already used by the kusto sink'),
    bound('eventSinks.webhook[0].name', 'm2', 'm', 'already used by the mqtt sink'),
    bound('eventSinks.kafka[0].name', 'k2', 'w', 'already used by the kafka sink', {
      errorAt: 'eventSinks.webhook[0].name',
    }),
    bound('eventSinks.webhook[0].name', 'w2', 'routed', 'already used by the webhook sink', {
      errorAt: 'eventSinks.webhook[1].name',
    }),
    bound('eventRoutes[1].name', 'r2', 'r', 'another route is already named "r"', {
      also: { 'eventRoutes[1].sinkName': 'routed', 'eventRoutes[1].eventFormat': 'Telemetry' },
    }),
    bound('eventRoutes[0].sinkName', 'k', 'nope', 'there is no sink named "nope"'),
    // PLAIN over SASL needs a username and a password; OAUTHBEARER or PLAINTEXT need neither.
    bound('eventSinks.kafka[0].saslUsername', '', '', 'required with SASL and the PLAIN mechanism', {
      title: 'eventSinks.kafka[0].saslUsername: empty needs OAUTHBEARER rather than PLAIN',
      alsoInside: { 'eventSinks.kafka[0].saslMechanism': 'OAUTHBEARER' },
      stored: [['/eventSinks/kafka/0/saslUsername', ABSENT]],
    }),
    bound(
      'eventSinks.kafka[0].saslPassword',
      'new-kafka-secret',
      '',
      'required with SASL and the PLAIN mechanism',
      {
        title: 'eventSinks.kafka[0].saslPassword: removing it under PLAIN is refused, replacing it is saved',
        alsoOutside: { 'eventSinks.kafka[0].saslPassword@clear': 'true' },
      },
    ),
    // A Kusto service principal is all three of tenant, client and secret, or none of them.
    bound(
      'eventSinks.kusto[0].tenantId',
      'tenant-2',
      '',
      'give tenant id, client id and client secret together',
    ),
    bound(
      'eventSinks.kusto[0].clientSecret',
      'new-kusto-secret',
      '',
      'give tenant id, client id and client secret together',
      {
        alsoOutside: { 'eventSinks.kusto[0].clientSecret@clear': 'true' },
      },
    ),
  ],
};

/**
 * "Remove the stored value" of an optional secret, where the rules allow it to go. The API keeps
 * every stored secret a write leaves out (GET, change a field, PATCH back); the form's settings are
 * taken as given, because its parser already kept the secrets the user kept and dropped the ones
 * they removed.
 */
const secretRemovalRows: Row[] = [
  {
    title: 'eventSinks.kafka[0].saslPassword: removing the stored one needs PLAINTEXT',
    covers: [],
    inside: {
      'eventSinks.kafka[0].saslPassword@clear': 'true',
      'eventSinks.kafka[0].securityProtocol': 'PLAINTEXT',
    },
    outside: { 'eventSinks.kafka[0].saslPassword@clear': 'true' },
    errorAt: 'eventSinks.kafka[0].saslPassword',
    message: ['required with SASL and the PLAIN mechanism'],
    stored: [['/eventSinks/kafka/0/saslPassword', ABSENT]],
  },
  bound('eventSinks.kusto[0].tenantId', '', '', 'give tenant id, client id and client secret together', {
    title: 'eventSinks.kusto[0]: removing the whole service principal',
    alsoInside: { 'eventSinks.kusto[0].clientId': '', 'eventSinks.kusto[0].clientSecret@clear': 'true' },
    stored: [
      ['/eventSinks/kusto/0/tenantId', ABSENT],
      ['/eventSinks/kusto/0/clientId', ABSENT],
      ['/eventSinks/kusto/0/clientSecret', ABSENT],
    ],
  }),
];

const twinsFreeRows: Row[] = [
  bound(
    'instances',
    digitalTwins.skus.free.limits.max_instances as number,
    (digitalTwins.skus.free.limits.max_instances as number) + 1,
    'the free SKU runs 1 instance',
  ),
  {
    title: 'eventSinks on the free SKU: accepts none, rejects one',
    covers: [],
    inside: {},
    outside: under('eventSinks.kafka[0]', kafkaRow(0)),
    errorAt: 'eventSinks',
    message: ['the free SKU has no event sinks'],
    stored: [['/eventSinks/kafka', []]],
  },
];

const ENV_NAME = 'a variable name starts with a letter or underscore';

const flowsHandRows: Row[] = [
  patternRow('/memoryLimit', '1.5Gi', '1,5Gi', 'enter a memory size such as 512Mi'),
  patternRow('/memoryLimit', '1G', '512MB', 'enter a memory size such as 512Mi'),
  bound('memoryLimit', '128Mi', '127Mi', 'use at least 128Mi'),
  bound('memoryLimit', '16Gi', '16385Mi', 'use at most 16Gi'),
  patternRow('/cpuLimit', '0.25', '0.2505', 'enter CPU as millicores'),
  patternRow('/cpuLimit', '2', '2 cores', 'enter CPU as millicores'),
  bound('cpuLimit', '100m', '99m', 'use at least 100m'),
  bound('cpuLimit', '8', '8001m', 'use at most 8'),
  // A record row is `environment[i].key` / `environment[i].value`; both point at /environment/<key>.
  ...(
    [
      ['A'.repeat(256), 'A'.repeat(257), 'maxLength'],
      ['A_1', '1A', 'pattern'],
      ['_a', 'A-B', 'pattern'],
    ] as const
  ).map(([inside, outside, keyword]) =>
    bound('environment[0].key', inside, outside, ENV_NAME, {
      covers: [`/environment/{key} ${keyword}`],
      stored: [
        [`/environment/${inside}`, 'info'],
        ['/environment/LOG_LEVEL', ABSENT],
      ],
    }),
  ),
  bound('environment[0].value', 'v'.repeat(32768), 'v'.repeat(32769), 'use at most 32768 characters', {
    covers: ['/environment/* maxLength'],
    stored: [['/environment/LOG_LEVEL', 'v'.repeat(32768)]],
  }),
  {
    title: 'environment: accepts 100 variables, rejects 101',
    covers: [],
    inside: listRows('environment', 1, 100, (i) => ({ key: `V${i}`, value: `${i}` })),
    outside: listRows('environment', 1, 101, (i) => ({ key: `V${i}`, value: `${i}` })),
    errorAt: 'environment',
    message: ['use at most 100 variables'],
    stored: [['/environment/V99', '99']],
  },
];

function flowsFreeRows(): Row[] {
  const limits = flows.skus.free.limits;
  const replicas = limits.max_replicas as number;
  const memory = limits.max_memory as string;
  const cpu = limits.max_cpu as string;
  const mebibytes = (parseByteQuantity(memory) ?? 0) / 2 ** 20;
  return [
    bound('replicas', replicas, replicas + 1, `the free SKU runs at most ${replicas} replica`),
    bound('memoryLimit', memory, `${mebibytes + 1}Mi`, `the free SKU allows at most ${memory} of memory`),
    bound('cpuLimit', cpu, `${(parseCpuQuantity(cpu) ?? 0) + 1}m`, `the free SKU allows at most ${cpu} CPU`),
  ];
}

/** Automatic rows of `type` for the bounds under any of `prefixes`. */
function automatic(type: ResourceTypeDefinition, prefixes: string[]): Row[] {
  return schemaBounds(settingsJsonSchema(type) as JsonNode)
    .filter((b) => prefixes.some((prefix) => b.pointer === prefix || b.pointer.startsWith(`${prefix}/`)))
    .flatMap(automaticRows);
}

interface Group {
  name: string;
  target: Target;
  rows: Row[];
}

const settingsGroups: Group[] = [
  {
    name: 'instances and database',
    target: twinsStandard,
    rows: [...automatic(digitalTwins, ['/instances', '/database']), ...(twinsHandRows.database ?? [])],
  },
  ...(['kafka', 'kusto', 'mqtt', 'webhook'] as const).map((kind) => ({
    name: `${kind} sinks`,
    target: twinsStandard,
    rows: [...automatic(digitalTwins, [`/eventSinks/${kind}/*`]), ...(twinsHandRows[kind] ?? [])],
  })),
  {
    name: 'event routes',
    target: twinsStandard,
    rows: [...automatic(digitalTwins, ['/eventRoutes/*']), ...(twinsHandRows.routes ?? [])],
  },
  { name: 'list sizes and the standard SKU', target: twinsStandard, rows: twinsHandRows.lists ?? [] },
  { name: 'rules across fields', target: twinsStandard, rows: twinsHandRows.crossField ?? [] },
  { name: 'the free SKU', target: twinsFree, rows: twinsFreeRows },
  {
    name: 'Konnektr.Flows',
    target: flowsStandard,
    rows: [...automatic(flows, ['/replicas', '/memoryLimit', '/cpuLimit']), ...flowsHandRows],
  },
  { name: 'Konnektr.Flows on the free SKU', target: flowsFree, rows: flowsFreeRows() },
];

/** The wizard carries type, SKU and name in hidden fields; a few bounds go through it to the create. */
const wizardGroups: Group[] = [
  {
    name: 'Konnektr.Graph standard',
    target: { ...twinsStandard, base: {} },
    rows: [
      bound('instances', 6, 7, 'use at most 6'),
      bound('database.storageSize', '1Ti', '1025Gi', 'use at most 1Ti'),
      bound('eventSinks.mqtt[0].port', 65535, 65536, 'use at most 65535', {
        also: under('eventSinks.mqtt[0]', SINK_ROWS.mqtt(0)),
      }),
    ],
  },
  {
    name: 'Konnektr.Graph free',
    target: { ...twinsFree, base: {} },
    rows: twinsFreeRows.filter((row) => row.errorAt === 'instances'),
  },
  {
    name: 'Konnektr.Flows standard',
    target: { ...flowsStandard, base: {} },
    rows: [
      bound('environment[0].key', 'A_1', '1A', ENV_NAME, {
        also: { 'environment[0].value': 'x' },
        stored: [['/environment/A_1', 'x']],
      }),
      bound('replicas', 5, 6, 'use at most 5'),
    ],
  },
  {
    name: 'Konnektr.Flows free',
    target: { ...flowsFree, base: {} },
    rows: flowsFreeRows().filter((row) => row.errorAt === 'memoryLimit'),
  },
];

// ---------------------------------------------------------------------------------------------
// Reading the pages (the markup Hono's JSX writes: double-quoted attributes, escaped values)

interface Tag {
  tag: string;
  attrs: Map<string, string>;
}

function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) =>
    entity === 'amp' ? '&' : entity === 'lt' ? '<' : entity === 'gt' ? '>' : entity === 'quot' ? '"' : "'",
  );
}

function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const match of text.matchAll(/([^\s="'/>]+)(?:="([^"]*)")?/g)) {
    out.set((match[1] ?? '').toLowerCase(), decode(match[2] ?? ''));
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tagById(html: string, id: string): Tag | undefined {
  const match = new RegExp(`<([a-z]+)\\b([^>]*\\sid="${escapeRegExp(id)}"[^>]*)>`).exec(html);
  return match ? { tag: match[1] ?? '', attrs: attributes(match[2] ?? '') } : undefined;
}

function inputsByName(html: string, name: string): Tag[] {
  const pattern = new RegExp(`<(input)\\b([^>]*\\sname="${escapeRegExp(name)}"[^>]*)>`, 'g');
  return [...html.matchAll(pattern)].map((m) => ({ tag: m[1] ?? '', attrs: attributes(m[2] ?? '') }));
}

function textById(html: string, id: string): string | undefined {
  const match = new RegExp(`<([a-z]+)\\b[^>]*\\sid="${escapeRegExp(id)}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return match ? decode((match[2] ?? '').replace(/<[^>]*>/g, '')) : undefined;
}

/** What the browser would post from the form `formId` of a page. */
function formFields(html: string, formId: string): FlatFields {
  const start = html.indexOf(`id="${formId}"`);
  if (start === -1) throw new Error(`no form #${formId} on the page`);
  return submittedFields(html.slice(start, html.indexOf('</form>', start)));
}

/** The text of the page's error summary, to explain an unexpected answer. */
function summaryOf(html: string): string {
  return (textById(html, 'form-errors') ?? '(no error summary)').replace(/\s+/g, ' ').trim();
}

/**
 * The field's error element: named by the control's aria-describedby (a radio group's by its
 * fieldset), marked invalid, and holding every fragment of the message.
 */
function expectFieldError(html: string, name: string, fragments: string[]) {
  const id = fieldId(`${PREFIX}.${name}`);
  const control = tagById(html, id);
  expect(control, `no element #${id} for ${name}; summary: ${summaryOf(html)}`).toBeDefined();
  const described = control?.attrs.has('aria-describedby') ? control : tagById(html, `${id}-field`);
  expect(
    described?.attrs.get('aria-invalid'),
    `${name} is not marked invalid; summary: ${summaryOf(html)}`,
  ).toBe('true');
  const ids = (described?.attrs.get('aria-describedby') ?? '').split(/\s+/);
  expect(ids, `aria-describedby of ${name}`).toContain(`${id}-error`);
  const text = textById(html, `${id}-error`) ?? '';
  for (const fragment of fragments) expect(text, `the error shown at ${name}`).toContain(fragment);
}

/** The re-rendered form still shows what was typed (secrets excepted: they are never sent back). */
function expectKept(html: string, name: string, value: string) {
  if (name.includes('@')) return;
  const full = `${PREFIX}.${name}`;
  const control = tagById(html, fieldId(full));
  expect(control, `${name} is missing from the re-rendered form`).toBeDefined();
  if (!control) return;
  const type = control.attrs.get('type') ?? 'text';
  if (control.tag === 'input' && type === 'password') {
    expect(control.attrs.get('value') ?? '', `the secret ${name} came back`).toBe('');
    if (value.length >= 16) expect(html.includes(value), `the secret ${name} is in the page`).toBe(false);
  } else if (control.tag === 'input' && type === 'radio') {
    const radios = inputsByName(html, full).filter((tag) => tag.attrs.get('type') === 'radio');
    const offered = radios.some((radio) => radio.attrs.get('value') === value);
    const checked = radios
      .filter((radio) => radio.attrs.has('checked'))
      .map((radio) => radio.attrs.get('value'));
    // A value that is not a choice cannot be shown, but must not turn into another choice either.
    expect(checked, `the choice of ${name}`).toEqual(offered ? [value] : []);
  } else if (control.tag === 'select') {
    const start = html.indexOf(`id="${fieldId(full)}"`);
    const options = [
      ...html.slice(start, html.indexOf('</select>', start)).matchAll(/<option\b([^>]*)>/g),
    ].map((m) => attributes(m[1] ?? ''));
    const offered = options.some((option) => option.get('value') === value);
    const selected = options.filter((option) => option.has('selected')).map((option) => option.get('value'));
    expect(selected, `the choice of ${name}`).toEqual([offered ? value : '']);
  } else {
    expect(control.attrs.get('value'), `the value of ${name}`).toBe(value);
  }
}

function valueAt(settings: unknown, pointer: string): unknown {
  let node = settings;
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return ABSENT;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function encode(fields: FlatFields): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  return params.toString();
}

/** `fields` with every stored secret typed in again (its stored value, so expectations hold). */
function withStoredSecretsRetyped(fields: FlatFields, stored: unknown, overrides: Overrides): FlatFields {
  const out = { ...fields };
  const touched = Object.keys(overrides).map((name) => `${PREFIX}.${name.split('@')[0]}`);
  for (const name of Object.keys(fields)) {
    if (!name.endsWith('@stored') || touched.includes(name.slice(0, -'@stored'.length))) continue;
    const path = parseFieldName(name)?.path.slice(1) ?? [];
    let value: unknown = stored;
    for (const segment of path) value = (value as Record<string, unknown> | undefined)?.[String(segment)];
    if (typeof value === 'string') out[name.slice(0, -'@stored'.length)] = value;
  }
  return out;
}

function withOverrides(fields: FlatFields, overrides: Overrides): FlatFields {
  const out = { ...fields };
  for (const [name, value] of Object.entries(overrides)) {
    out[`${PREFIX}.${name}`] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running rows

interface Session {
  t: TestContext;
  user: TestUser;
  /** Base form fields by target (and variant): every resource of a target renders the same form. */
  forms: Map<string, FlatFields>;
  count: number;
}

async function openSession(t: TestContext): Promise<Session> {
  const user = await signUpUser(t, 'ada@example.com');
  await createOrgFor(t, user, 'Acme', 'acme');
  await createProjectFor(t, user, 'acme', 'Web', 'web');
  return { t, user, forms: new Map(), count: 0 };
}

function post(session: Session, url: string, fields: FlatFields) {
  return session.t.app.request(url, {
    method: 'POST',
    headers: as(session.user, FORM),
    body: encode(fields),
  });
}

async function storedSettings(session: Session, resourceId: string): Promise<Settings> {
  const row = await session.t.database.db
    .selectFrom('ktrlplane.resources')
    .select('settings_json')
    .where('resource_id', '=', resourceId)
    .executeTakeFirstOrThrow();
  return row.settings_json;
}

async function expectAccepted(session: Session, row: Row, resourceId: string) {
  const settings = await storedSettings(session, resourceId);
  for (const [pointer, expected] of row.stored) {
    expect(valueAt(settings, pointer), `settings_json${pointer}`).toEqual(expected);
  }
}

async function expectRefused(res: Response, row: Row, formId: string): Promise<string> {
  const html = await res.text();
  expect(res.status, `the post past the bound; summary: ${summaryOf(html)}`).toBe(422);
  expect(html).toContain(`id="${formId}"`);
  expectFieldError(html, row.errorAt, row.message);
  for (const name of row.keep ?? Object.keys(row.outside)) {
    expectKept(html, name, row.outside[name] ?? '');
  }
  return html;
}

async function settingsRow(session: Session, target: Target, row: Row) {
  session.count += 1;
  const resourceId = `b-${session.count}`;
  const valid = validateSettings(target.type, target.sku, target.base);
  if (!valid.ok) throw new Error(`the base of ${target.label} is invalid: ${JSON.stringify(valid.errors)}`);
  await session.t.database.db
    .insertInto('ktrlplane.resources')
    .values({
      resource_id: resourceId,
      project_id: 'web',
      name: resourceId,
      type: target.type.name,
      sku: target.sku,
      settings_json: valid.data,
    })
    .execute();
  const url = `/projects/web/resources/${resourceId}/settings`;
  let fields = session.forms.get(target.label);
  if (!fields) {
    const page = await session.t.app.request(url, { headers: as(session.user) });
    expect(page.status).toBe(200);
    fields = formFields(await page.text(), 'settings-form');
    session.forms.set(target.label, fields);
  }
  if (row.variant) {
    const key = `${target.label} ${row.variant.union}=${row.variant.value}`;
    const cached = session.forms.get(key);
    if (cached) fields = cached;
    else {
      // What the browser posts when the choice changes: the form, the new choice and a refresh.
      const union = `${PREFIX}.${row.variant.union}`;
      const res = await post(session, url, {
        ...fields,
        [`${union}.type`]: row.variant.value,
        __op: `refresh:${union}`,
      });
      expect(res.status).toBe(200);
      fields = formFields(await res.text(), 'settings-form');
      session.forms.set(key, fields);
    }
  }
  // Refused whichever button is pressed: "Review changes" (the first) here, "Save now" saves below.
  const refused = await post(session, url, { ...withOverrides(fields, row.outside), intent: 'review' });
  await expectRefused(refused, row, 'settings-form');
  // A value just inside a bound may change where a stored secret is sent (its `boundTo`); a user
  // then types the secret again (tests/integration/secret-bindings.test.ts covers the refusal).
  const retyped = withStoredSecretsRetyped(fields, valid.data, row.inside);
  const accepted = await post(session, url, { ...withOverrides(retyped, row.inside), intent: 'save' });
  if (accepted.status !== 303) {
    throw new Error(`the post inside the bound got ${accepted.status}: ${summaryOf(await accepted.text())}`);
  }
  expect(accepted.headers.get('Location')).toBe(`${url}?saved=1`);
  await expectAccepted(session, row, resourceId);
}

async function wizardRow(session: Session, target: Target, row: Row) {
  session.count += 1;
  const resourceId = `w-${session.count}`;
  const query = new URLSearchParams({
    type: target.type.name,
    sku: target.sku,
    name: `Bounds ${session.count}`,
    resource_id: resourceId,
  });
  const configure = '/projects/web/resources/new/configure';
  const page = await session.t.app.request(`${configure}?${query}`, { headers: as(session.user) });
  expect(page.status).toBe(200);
  const fields = formFields(await page.text(), 'configure-form');
  expect(fields).toMatchObject({ type: target.type.name, sku: target.sku, resource_id: resourceId });
  const refused = await expectRefused(
    await post(session, configure, withOverrides(fields, row.outside)),
    row,
    'configure-form',
  );
  // The refused step still carries what step 1 chose.
  expect(formFields(refused, 'configure-form')).toMatchObject({
    type: target.type.name,
    sku: target.sku,
    resource_id: resourceId,
  });
  // Inside the bound: a draft, its review page, then Create from there.
  const configured = await post(session, configure, withOverrides(fields, row.inside));
  if (configured.status !== 303) {
    throw new Error(
      `the post inside the bound got ${configured.status}: ${summaryOf(await configured.text())}`,
    );
  }
  const reviewUrl = configured.headers.get('Location') ?? '';
  expect(reviewUrl).toMatch(/^\/projects\/web\/resources\/new\/review\?draft=/);
  const review = await session.t.app.request(reviewUrl, { headers: as(session.user) });
  const reviewHtml = await review.text();
  expect(review.status).toBe(200);
  expect(reviewHtml).toContain('data-testid="review-row"');
  const create = submittedFields(
    reviewHtml.slice(reviewHtml.indexOf('action="/projects/web/resources/new/review"')),
  );
  const created = await post(session, '/projects/web/resources/new/review', create);
  expect(created.status, 'creating from the review').toBe(303);
  expect(created.headers.get('Location')).toBe(`/projects/web/resources/${resourceId}`);
  await expectAccepted(session, row, resourceId);
}

/** Rows of a group in flight at once: each has its own resource, and on a server their queries overlap. */
const ROWS_AT_ONCE = 4;

/** Runs every row (one resource each) and fails with the list of rows that failed. */
async function runGroup(t: TestContext, group: Group, run: typeof settingsRow) {
  const session = await openSession(t);
  const failures: string[] = [];
  const queue = [...group.rows];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      try {
        await run(session, group.target, row);
      } catch (error) {
        failures.push(`${row.title}: ${(error as Error).message.split('\n').slice(0, 6).join(' ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: ROWS_AT_ONCE }, worker));
  expect(failures.sort(), `${failures.length} of ${group.rows.length} rows failed`).toEqual([]);
}

describe('schema bounds through the HTML forms', () => {
  const t = useTestApp();

  it.each(settingsGroups.map((group) => [group.name, group] as const))(
    'settings editor, %s: refuses each value just past a bound beside its field, saves the one just inside',
    async (_, group) => {
      expect(group.rows.length).toBeGreaterThan(0);
      await runGroup(t, group, settingsRow);
    },
  );

  it('settings editor: "Remove the stored value" removes a stored secret', async () => {
    await runGroup(
      t,
      { name: 'removing stored secrets', target: twinsStandard, rows: secretRemovalRows },
      settingsRow,
    );
  });

  it.each(wizardGroups.map((group) => [group.name, group] as const))(
    'wizard, %s: refuses past a bound on the configure step, creates with the value inside',
    async (_, group) => {
      await runGroup(t, group, wizardRow);
    },
  );

  it('has a row for every bound of the JSON Schema of both types', () => {
    const covered = new Set(settingsGroups.flatMap((group) => group.rows.flatMap((row) => row.covers)));
    const all = [digitalTwins, flows].flatMap((type) => schemaBounds(settingsJsonSchema(type) as JsonNode));
    const keys = new Set(all.map((b) => b.key));
    const missing = all.filter((b) => !covered.has(b.key) && !unreachable(b)).map((b) => b.key);
    expect(missing, 'bounds without a row').toEqual([]);
    expect(
      [...covered].filter((key) => !keys.has(key)),
      'rows naming a bound the schema lacks',
    ).toEqual([]);
    // The walk sees the bounds the issue names, so an empty walk cannot pass for full coverage.
    for (const key of [
      '/instances maximum',
      '/eventSinks/mqtt/*/port maximum',
      '/eventSinks/webhook/*/authentication/type oneOf',
      '/eventRoutes/*/eventFormat enum',
      '/database/storageSize pattern',
      '/replicas minimum',
      '/environment/{key} pattern',
    ]) {
      expect(keys).toContain(key);
    }
  });
});
