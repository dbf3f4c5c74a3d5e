import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  describeSchema,
  type FlatFields,
  fieldId,
  formatFieldName,
  maskSecrets,
  parseFieldName,
  parseFormData,
  pointerForField,
  readFormSubmission,
  StoredSecret,
  schemaErrors,
  storedSecretPointers,
  validateField,
} from '../../src/lib/form-data.ts';
import { renderSchemaField, renderSchemaFormParts, SchemaForm } from '../../src/views/forms/schema-form.tsx';
import { submittedFields } from '../../src/views/forms/submitted-fields.ts';

/**
 * The form engine on a throwaway schema holding every kind of field: what it renders (names, ids,
 * labels, aria wiring, defaults, secrets), what row and variant operations answer, where errors
 * land, and a tiny app wired the way resource routes are meant to use it. No resource type here:
 * the engine must work for any schema.
 */

const Auth = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('None') }).meta({ label: 'None' }),
    z
      .strictObject({
        type: z.literal('Basic'),
        username: z.string().min(1).meta({ label: 'Username' }),
        password: z.string().min(1).meta({ label: 'Password', secret: true }),
      })
      .meta({ label: 'Basic' }),
    z
      .strictObject({
        type: z.literal('Bearer'),
        token: z.string().min(1).meta({ label: 'Token', secret: true, widget: 'password' }),
      })
      .meta({ label: 'Bearer token' }),
  ])
  .meta({ label: 'Authentication', help: 'How calls prove who they come from.' });

const Broker = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .max(20)
      .meta({ label: 'Name', placeholder: 'my-broker' }),
    brokerList: z.string().min(1).meta({ label: 'Broker list', help: 'host:port, comma separated' }),
    protocol: z
      .enum(['PLAINTEXT', 'SASL_PLAINTEXT', 'SASL_SSL'])
      .default('PLAINTEXT')
      .meta({ label: 'Protocol' }),
    password: z.string().optional().meta({ label: 'SASL password', secret: true }),
  })
  .meta({ label: 'Kafka sink' });

const Settings = z
  .strictObject({
    instances: z
      .int()
      .min(1)
      .max(6)
      .default(1)
      .meta({ label: 'Instances', help: 'Replicas that serve queries.' }),
    ratio: z.number().gt(0).max(1).multipleOf(0.05).optional().meta({ label: 'Sampling ratio' }),
    homepage: z.url().optional().meta({ label: 'Homepage' }),
    contact: z.email().optional().meta({ label: 'Contact email' }),
    region: z.enum(['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south']).meta({ label: 'Region' }),
    format: z.enum(['json', 'avro']).default('json').meta({ label: 'Format' }),
    backups: z.boolean().default(true).meta({ label: 'Backups', widget: 'switch' }),
    eventSinks: z
      .strictObject({
        kafka: z.array(Broker).max(3).default([]).meta({ label: 'Kafka' }),
      })
      .default({ kafka: [] })
      .meta({ label: 'Event sinks' }),
    filters: z.array(z.string().min(1)).default([]).meta({ label: 'Filters', itemLabel: 'Filter' }),
    environment: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'Use letters, digits and _'), z.string().max(100))
      .default({})
      .meta({ label: 'Environment', keyLabel: 'Variable', itemLabel: 'variable' }),
    auth: Auth,
    apiKey: z.string().optional().meta({ label: 'API key', secret: true }),
  })
  .superRefine((value, ctx) => {
    // A cross-field rule: a filter must name an existing sink (error on the filter's own field).
    const names = new Set(value.eventSinks.kafka.map((sink) => sink.name));
    value.filters.forEach((filter, i) => {
      if (filter.startsWith('sink:') && !names.has(filter.slice(5))) {
        ctx.addIssue({
          code: 'custom',
          path: ['filters', i],
          message: `No sink is named ${filter.slice(5)}.`,
        });
      }
    });
  });

type SettingsValue = z.output<typeof Settings>;

const stored: SettingsValue = Settings.parse({
  instances: 3,
  region: 'eu-north',
  eventSinks: {
    kafka: [
      { name: 'alpha', brokerList: 'a:9092', protocol: 'SASL_SSL', password: 'alpha-secret-1' },
      { name: 'beta', brokerList: 'b:9092' },
    ],
  },
  filters: ['sink:alpha'],
  environment: { LOG_LEVEL: 'debug' },
  auth: { type: 'Basic', username: 'svc', password: 'basic-secret-2' },
  apiKey: 'api-secret-3',
});

const html = (node: unknown) => String(node);

/** The attributes of the element with this id (from the markup Hono's JSX writes). */
function element(markup: string, id: string): Record<string, string> | undefined {
  const match = new RegExp(
    `<([a-z]+)\\b([^>]*\\sid="${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*)>`,
  ).exec(markup);
  if (!match) return undefined;
  const attrs: Record<string, string> = { tag: match[1] ?? '' };
  for (const attr of (match[2] ?? '').matchAll(/([^\s="]+)(?:="([^"]*)")?/g))
    attrs[attr[1] ?? ''] = attr[2] ?? '';
  return attrs;
}

function renderEdit(options: Parameters<typeof renderSchemaFormParts>[1] = {}): string {
  const parts = renderSchemaFormParts(Settings, {
    values: maskSecrets(Settings, stored),
    operationUrl: '/things/1/form',
    validateUrl: '/things/1/validate',
    ...options,
  });
  return html(parts.summary) + html(parts.fields);
}

describe('names, ids and pointers', () => {
  it('derives names from paths and back, and ids from names', () => {
    expect(formatFieldName(['eventSinks', 'kafka', 0, 'brokerList'])).toBe('eventSinks.kafka[0].brokerList');
    expect(parseFieldName('eventSinks.kafka[0].brokerList')).toEqual({
      path: ['eventSinks', 'kafka', 0, 'brokerList'],
    });
    expect(parseFieldName('auth.password@stored')).toEqual({ path: ['auth', 'password'], marker: 'stored' });
    for (const bad of ['', 'a..b', 'a[01]', 'a[-1]', 'a]', '.a', 'a.', 'a@B', 'a[0]b']) {
      expect(parseFieldName(bad), bad).toBeNull();
    }
    expect(fieldId('eventSinks.kafka[0].brokerList')).toBe('field-eventSinks-kafka-0-brokerList');
    expect(fieldId('a b')).toBe('field-a_20b');
  });

  it('maps a field name to its JSON pointer, record rows by their key', () => {
    const draft = { environment: { LOG_LEVEL: 'debug', TZ: 'UTC' }, auth: { type: 'Basic' } };
    expect(pointerForField(Settings, 'eventSinks.kafka[1].name', draft)).toBe('/eventSinks/kafka/1/name');
    expect(pointerForField(Settings, 'environment[1].value', draft)).toBe('/environment/TZ');
    expect(pointerForField(Settings, 'environment[1].key', draft)).toBe('/environment/TZ');
    expect(pointerForField(Settings, 'auth.username', draft)).toBe('/auth/username');
    expect(pointerForField(Settings, 'auth.token', draft)).toBeUndefined();
    expect(pointerForField(Settings, 'settings.instances', draft, { namePrefix: 'settings' })).toBe(
      '/instances',
    );
  });

  it('describes any schema: kinds, bounds, formats and meta through wrappers', () => {
    const shape = describeSchema(Settings);
    expect(shape.kind).toBe('object');
    const fields = shape.kind === 'object' ? new Map(shape.fields()) : new Map();
    expect(fields.get('instances')).toMatchObject({
      kind: 'number',
      integer: true,
      min: 1,
      max: 6,
      step: 1,
      hasDefault: true,
    });
    expect(fields.get('ratio')).toMatchObject({
      kind: 'number',
      integer: false,
      min: 0,
      max: 1,
      step: 0.05,
      optional: true,
    });
    expect(fields.get('homepage')).toMatchObject({ kind: 'string', format: 'url' });
    expect(fields.get('auth')).toMatchObject({ kind: 'union', discriminator: 'type' });
    expect(fields.get('environment')).toMatchObject({ kind: 'record' });
    expect(fields.get('apiKey')).toMatchObject({ kind: 'string', secret: true, meta: { label: 'API key' } });
  });
});

describe('rendering a form from a schema', () => {
  it('renders every kind with names, ids, labels, constraints and defaults', () => {
    const markup = html(renderSchemaFormParts(Settings, { namePrefix: 'settings' }).fields);
    const instances = element(markup, 'field-settings-instances');
    expect(instances).toMatchObject({
      tag: 'input',
      type: 'number',
      name: 'settings.instances',
      value: '1',
      min: '1',
      max: '6',
      step: '1',
    });
    expect(instances?.['aria-describedby']).toBe('field-settings-instances-help');
    expect(markup).toContain('<label for="field-settings-instances"');
    expect(markup).toContain('Replicas that serve queries.');
    expect(element(markup, 'field-settings-ratio')).toMatchObject({
      type: 'number',
      step: '0.05',
      min: '0',
      max: '1',
    });
    expect(element(markup, 'field-settings-homepage')).toMatchObject({ type: 'url' });
    expect(element(markup, 'field-settings-contact')).toMatchObject({ type: 'email' });
    // Five regions: a select, nothing chosen yet; two formats: radios with the default checked.
    expect(element(markup, 'field-settings-region')).toMatchObject({
      tag: 'select',
      name: 'settings.region',
      required: '',
    });
    expect(markup).toContain('<option value="" selected="">Choose…</option>');
    expect(element(markup, 'field-settings-format')).toMatchObject({
      type: 'radio',
      value: 'json',
      checked: '',
    });
    expect(element(markup, 'field-settings-format-field')).toMatchObject({
      tag: 'fieldset',
    });
    // A checkbox (switch) posts "false" when unchecked, through a hidden input before it.
    expect(markup).toContain('<input type="hidden" name="settings.backups" value="false"/>');
    expect(element(markup, 'field-settings-backups')).toMatchObject({
      type: 'checkbox',
      value: 'true',
      checked: '',
      role: 'switch',
    });
    // Nested object → fieldset + legend; lists and records → fieldsets with add buttons.
    expect(element(markup, 'field-settings-eventSinks')).toMatchObject({ tag: 'fieldset' });
    expect(markup).toMatch(/<legend[^>]*>Event sinks<\/legend>/);
    expect(element(markup, 'field-settings-eventSinks-kafka-add')).toMatchObject({
      type: 'submit',
      name: '__op',
      value: 'add:settings.eventSinks.kafka',
      formnovalidate: '',
    });
    expect(element(markup, 'field-settings-environment-add')).toMatchObject({
      value: 'add:settings.environment',
    });
    // The union shows its first variant's choice; its fields follow.
    expect(element(markup, 'field-settings-auth-type')).toMatchObject({
      tag: 'select',
      name: 'settings.auth.type',
    });
    expect(markup).toContain('<option value="None" selected="">None</option>');
    expect(markup).toContain(
      'API key<span class="font-normal text-slate-500 dark:text-slate-400"> (optional)</span>',
    );
  });

  it('fills values in, with list rows, record rows and the chosen variant', () => {
    const markup = renderEdit();
    expect(element(markup, 'field-instances')).toMatchObject({ value: '3' });
    expect(markup).toContain('<option value="eu-north" selected="">eu-north</option>');
    expect(element(markup, 'field-eventSinks-kafka-1-name')).toMatchObject({
      name: 'eventSinks.kafka[1].name',
      value: 'beta',
    });
    expect(element(markup, 'field-eventSinks-kafka-0-protocol')).toMatchObject({ value: 'PLAINTEXT' });
    expect(element(markup, 'field-eventSinks-kafka-0-protocol--2')).toMatchObject({
      value: 'SASL_SSL',
      checked: '',
    });
    expect(element(markup, 'field-eventSinks-kafka-0-name')).toMatchObject({
      pattern: String.raw`^[a-z][a-z0-9\-]*$`,
      maxlength: '20',
    });
    // The browser compiles `pattern` with the v flag, where an unescaped trailing '-' is an error.
    expect(
      () => new RegExp(element(markup, 'field-eventSinks-kafka-0-name')?.pattern ?? '', 'v'),
    ).not.toThrow();
    expect(element(markup, 'field-eventSinks-kafka-0')).toMatchObject({
      tag: 'fieldset',
      'aria-labelledby': 'field-eventSinks-kafka-0-title',
    });
    expect(markup).toContain('>Kafka sink 2</span>');
    expect(element(markup, 'field-eventSinks-kafka-0-up')).toMatchObject({
      disabled: '',
      value: 'up:eventSinks.kafka[0]',
    });
    expect(element(markup, 'field-eventSinks-kafka-1-down')).toMatchObject({ disabled: '' });
    expect(element(markup, 'field-filters-0')).toMatchObject({ name: 'filters[0]', value: 'sink:alpha' });
    expect(markup).toMatch(/<label for="field-filters-0" class="sr-only">Filter 1<\/label>/);
    expect(element(markup, 'field-environment-0-key')).toMatchObject({
      name: 'environment[0].key',
      value: 'LOG_LEVEL',
    });
    expect(element(markup, 'field-environment-0-value')).toMatchObject({
      name: 'environment[0].value',
      value: 'debug',
    });
    expect(markup).toContain(
      '<label for="field-environment-0-key" class="block text-sm font-medium text-slate-700 dark:text-slate-200">Variable</label>',
    );
    expect(markup).toContain('<option value="Basic" selected="">Basic</option>');
    expect(element(markup, 'field-auth-username')).toMatchObject({ value: 'svc' });
    expect(element(markup, 'field-auth-token')).toBeUndefined();
  });

  it('never writes a secret into the page: stored ones show "set — replace" and an empty input', () => {
    const markup = renderEdit();
    for (const secret of ['alpha-secret-1', 'basic-secret-2', 'api-secret-3'])
      expect(markup).not.toContain(secret);
    const password = element(markup, 'field-auth-password');
    expect(password).toMatchObject({ type: 'password', value: '', autocomplete: 'new-password' });
    expect(password?.['aria-describedby']).toBe('field-auth-password-state');
    expect(password?.required).toBeUndefined();
    expect(markup).toContain('set — replace');
    expect(markup).toContain('<input type="hidden" name="auth.password@stored" value="/auth/password"/>');
    expect(markup).toContain(
      '<input type="hidden" name="eventSinks.kafka[0].password@stored" value="/eventSinks/kafka/0/password"/>',
    );
    // The second sink has no password stored: a plain empty input, nothing to keep.
    expect(markup).not.toContain('eventSinks.kafka[1].password@stored');
    // Optional stored secrets can be removed.
    expect(element(markup, 'field-apiKey-clear')).toMatchObject({ type: 'checkbox', name: 'apiKey@clear' });
    // Raw stored values with secretsSet work the same, and still never echo.
    const viaSet = html(
      renderSchemaFormParts(Settings, { values: stored, secretsSet: storedSecretPointers(Settings, stored) })
        .fields,
    );
    for (const secret of ['alpha-secret-1', 'basic-secret-2', 'api-secret-3'])
      expect(viaSet).not.toContain(secret);
    expect(viaSet).toContain('<input type="hidden" name="apiKey@stored" value="/apiKey"/>');
    // A secret typed into a form that then failed validation is not sent back either.
    const retyped = html(renderSchemaFormParts(Settings, { values: { apiKey: 'typed-secret-4' } }).fields);
    expect(retyped).not.toContain('typed-secret-4');
    expect(retyped).toContain('Type it again');
  });

  it('wires inline validation and row operations as htmx attributes, and nothing a strict CSP forbids', () => {
    const markup = renderEdit();
    expect(element(markup, 'field-eventSinks-kafka-0-brokerList')).toMatchObject({
      'hx-post': '/things/1/validate',
      'hx-trigger': 'input changed delay:300ms, change',
      'hx-target': '#field-eventSinks-kafka-0-brokerList-field',
      'hx-swap': 'outerMorph',
      'hx-vals': '{&quot;__field&quot;:&quot;eventSinks.kafka[0].brokerList&quot;}',
    });
    expect(element(markup, 'field-eventSinks-kafka-0-remove')).toMatchObject({
      'hx-post': '/things/1/form',
      'hx-target': '#field-eventSinks-kafka',
      'hx-select': '#field-eventSinks-kafka',
      'hx-swap': 'outerHTML',
      name: '__op',
      value: 'remove:eventSinks.kafka[0]',
    });
    expect(element(markup, 'field-auth-type')).toMatchObject({
      'hx-post': '/things/1/form',
      'hx-trigger': 'change',
      'hx-target': '#field-auth',
      'hx-select': '#field-auth',
      'hx-vals': '{&quot;__op&quot;:&quot;refresh:auth&quot;}',
    });
    expect(markup).toContain(
      '<noscript><button type="submit" name="__op" value="refresh:auth" formnovalidate=""',
    );
    expect(markup).not.toMatch(/<script|\sstyle=|\shx-on|\son[a-z]+=/i);
    // The hidden default button comes first, so Enter submits instead of "clicking" a row button.
    expect(markup.indexOf('class="sr-only" tabindex="-1">Submit</button>')).toBeLessThan(
      markup.indexOf('name="__op"'),
    );
  });

  it('puts each error beside its field (aria-invalid, aria-describedby) and lists all at the top', () => {
    // (Zod runs the cross-field refinement only once the fields themselves pass: two parses.)
    const value = { ...stored, filters: ['sink:nope'], environment: { 'BAD-NAME': 'x' } };
    const draft = maskSecrets(Settings, value);
    const errors = [
      ...schemaErrors(Settings, { ...value, environment: {} }),
      ...schemaErrors(Settings, value),
      { pointer: '/eventSinks/kafka/1/brokerList', message: 'Unreachable broker.' },
      { pointer: '/eventSinks/kafka', message: 'Too many sinks for this SKU.' },
      { pointer: '', message: 'Something about the whole form.' },
    ];
    const parts = renderSchemaFormParts(Settings, { values: draft, errors });
    const markup = html(parts.summary) + html(parts.fields);
    // The cross-field error lands on the filter row.
    expect(element(markup, 'field-filters-0')).toMatchObject({
      'aria-invalid': 'true',
      'aria-describedby': 'field-filters-0-error',
    });
    expect(markup).toContain(
      '<p id="field-filters-0-error" class="mt-1 text-sm text-rose-600 dark:text-rose-400">No sink is named nope.</p>',
    );
    // A bad record key: the key's own message beside the key, not the record's generic one.
    expect(element(markup, 'field-environment-0-key')).toMatchObject({ 'aria-invalid': 'true' });
    expect(markup).toContain(
      '<p id="field-environment-0-key-error" class="mt-1 text-sm text-rose-600 dark:text-rose-400">Use letters, digits and _</p>',
    );
    expect(element(markup, 'field-environment-0-value')?.['aria-invalid']).toBeUndefined();
    expect(element(markup, 'field-eventSinks-kafka-1-brokerList')).toMatchObject({ 'aria-invalid': 'true' });
    // A list-level error on the list's fieldset.
    expect(element(markup, 'field-eventSinks-kafka')).toMatchObject({
      'aria-describedby': 'field-eventSinks-kafka-error',
    });
    expect(markup).toContain('Too many sinks for this SKU.');
    // The summary: one link per error, to the field that shows it.
    expect(element(markup, 'form-errors')).toMatchObject({ role: 'alert', tabindex: '-1', autofocus: '' });
    expect(markup).toContain('There are problems with 5 fields');
    expect(markup).toContain(
      '<a href="#field-filters-0" class="underline hover:no-underline">Filters › Filter 1: No sink is named nope.</a>',
    );
    expect(markup).toContain('<a href="#field-environment-0-key"');
    expect(markup).toContain(
      '<a href="#field-eventSinks-kafka-1-brokerList" class="underline hover:no-underline">Event sinks › Kafka › Kafka sink 2 › Broker list: Unreachable broker.</a>',
    );
    expect(markup).toContain(
      '<a href="#field-eventSinks-kafka" class="underline hover:no-underline">Event sinks › Kafka: Too many sinks for this SKU.</a>',
    );
    expect(markup).toContain('Something about the whole form.');
  });

  it('renders a whole <form> that works without JavaScript and with htmx', () => {
    const markup = html(SchemaForm({ schema: Settings, action: '/things', submitLabel: 'Create' }));
    expect(markup).toMatch(
      /^<form id="schema-form" method="post" action="\/things" hx-post="\/things" hx-target="this" hx-swap="outerHTML" novalidate=""/,
    );
    expect(element(markup, 'field-eventSinks-kafka-add')).toMatchObject({ 'hx-post': '/things' });
    expect(markup).toContain('>Create</button></div></form>');
  });
});

describe('parsing posted forms', () => {
  it('reads nested names, coerces numbers and checkboxes, drops empty strings so defaults apply', () => {
    const fields: FlatFields = {
      instances: ' 4 ',
      ratio: '',
      homepage: '',
      region: 'us-east',
      format: 'avro',
      backups: ['false'],
      'eventSinks.kafka': '',
      'eventSinks.kafka[7].name': 'late',
      'eventSinks.kafka[7].brokerList': 'l:1',
      'eventSinks.kafka[2].name': 'early',
      'eventSinks.kafka[2].brokerList': 'e:1',
      'eventSinks.kafka[2].protocol': 'SASL_SSL',
      filters: '',
      'environment[0].key': 'A',
      'environment[0].value': '1',
      'environment[3].key': 'B',
      'environment[3].value': '',
      'auth.type': 'Bearer',
      'auth.token': 'tok',
      'auth.username': 'left over from Basic',
      csrf: 'ignored',
    };
    const value = parseFormData(Settings, fields);
    expect(value).toEqual({
      instances: 4,
      region: 'us-east',
      format: 'avro',
      backups: false,
      eventSinks: {
        kafka: [
          { name: 'early', brokerList: 'e:1', protocol: 'SASL_SSL' },
          { name: 'late', brokerList: 'l:1' },
        ],
      },
      filters: [],
      environment: { A: '1', B: undefined },
      auth: { type: 'Bearer', token: 'tok' },
    });
    // Then the same schema as JSON input validates it (the record value is missing: one error).
    expect(schemaErrors(Settings, value)).toEqual([
      { pointer: '/environment/B', message: expect.any(String) },
    ]);
  });

  it('keeps what is not a number as text, so the schema (not the parser) reports it', () => {
    const value = parseFormData(Settings, { instances: 'three', region: 'eu-west', 'auth.type': 'None' });
    expect(value).toMatchObject({ instances: 'three' });
    expect(schemaErrors(Settings, value)).toEqual([
      { pointer: '/instances', message: expect.stringContaining('number') },
    ]);
    // A checked box posts both values; the last wins.
    expect(parseFormData(Settings, { backups: ['false', 'true'] })).toMatchObject({ backups: true });
    // An unknown variant stays as sent: the schema says which ones exist.
    const unknown = parseFormData(Settings, { region: 'eu-west', 'auth.type': 'Kerberos' });
    expect(schemaErrors(Settings, unknown).map((e) => e.pointer)).toEqual(['/auth/type']);
  });

  it('keeps stored secrets when their inputs are left empty, replaces them when typed, removes them on request', () => {
    const fields = submittedFields(renderEdit());
    const kept = parseFormData(Settings, fields, { stored }) as SettingsValue;
    expect(kept).toEqual(stored);
    const replaced = parseFormData(
      Settings,
      { ...fields, 'auth.password': 'new-one' },
      { stored },
    ) as SettingsValue;
    expect(replaced.auth).toEqual({ type: 'Basic', username: 'svc', password: 'new-one' });
    const removed = parseFormData(
      Settings,
      { ...fields, 'apiKey@clear': 'true' },
      { stored },
    ) as SettingsValue;
    expect(removed.apiKey).toBeUndefined();
    // Without the stored settings nothing is kept: a required secret is then reported missing.
    const lost = parseFormData(Settings, fields) as SettingsValue;
    expect(schemaErrors(Settings, lost).map((e) => e.pointer)).toEqual(['/auth/password']);
  });

  it('a JSON body never goes through the form parser: the schema takes it as it is', () => {
    const json = JSON.parse(JSON.stringify(stored));
    expect(Settings.parse(json)).toEqual(stored);
    expect(schemaErrors(Settings, { ...json, instances: '3' })).toEqual([
      { pointer: '/instances', message: expect.stringContaining('number') },
    ]);
  });
});

describe('row and variant operations', () => {
  const form = () => submittedFields(renderEdit());

  it('adds a row: the list comes back with an empty row, focus in its first input', () => {
    const submission = readFormSubmission(Settings, { ...form(), __op: 'add:eventSinks.kafka' }, { stored });
    expect(submission.operation).toEqual({
      kind: 'add',
      target: 'eventSinks.kafka',
      focus: { within: 'eventSinks.kafka[2]' },
    });
    const fragment = html(
      renderSchemaField(Settings, 'eventSinks.kafka', {
        values: submission.draft,
        focus: submission.operation?.focus,
        operationUrl: '/things/1/form',
      }),
    );
    expect(fragment).toMatch(/^<fieldset id="field-eventSinks-kafka"/);
    expect(element(fragment, 'field-eventSinks-kafka-2-name')).toMatchObject({ value: '', autofocus: '' });
    expect(element(fragment, 'field-eventSinks-kafka-2-protocol')).toMatchObject({
      value: 'PLAINTEXT',
      checked: '',
    });
    // The third row is the maximum: no more adding.
    expect(element(fragment, 'field-eventSinks-kafka-add')).toMatchObject({ disabled: '' });
    // Rows keep their stored secrets across the operation.
    expect(fragment).toContain(
      'name="eventSinks.kafka[0].password@stored" value="/eventSinks/kafka/0/password"',
    );
    expect(fragment).not.toContain('alpha-secret-1');
  });

  it('removes and reorders rows, and the stored secret follows its row', () => {
    const removed = readFormSubmission(
      Settings,
      { ...form(), __op: 'remove:eventSinks.kafka[0]' },
      { stored },
    );
    expect(removed.operation).toMatchObject({
      kind: 'remove',
      focus: { id: 'field-eventSinks-kafka-0-remove' },
    });
    expect((removed.draft as SettingsValue).eventSinks.kafka.map((s) => s.name)).toEqual(['beta']);

    const moved = readFormSubmission(Settings, { ...form(), __op: 'down:eventSinks.kafka[0]' }, { stored });
    expect(moved.operation).toMatchObject({ kind: 'down', focus: { id: 'field-eventSinks-kafka-1-up' } });
    const fragment = html(
      renderSchemaField(Settings, 'eventSinks.kafka', { values: moved.draft, focus: moved.operation?.focus }),
    );
    expect(element(fragment, 'field-eventSinks-kafka-0-name')).toMatchObject({ value: 'beta' });
    expect(element(fragment, 'field-eventSinks-kafka-1-name')).toMatchObject({ value: 'alpha' });
    expect(element(fragment, 'field-eventSinks-kafka-1-up')).toMatchObject({ autofocus: '' });
    expect(fragment).toContain(
      'name="eventSinks.kafka[1].password@stored" value="/eventSinks/kafka/0/password"',
    );
    // Saved after the move, alpha (now second) keeps its password.
    const saved = readFormSubmission(Settings, submittedFields(fragment), { stored });
    expect((saved.value as SettingsValue).eventSinks.kafka).toEqual([
      { name: 'beta', brokerList: 'b:9092', protocol: 'PLAINTEXT' },
      { name: 'alpha', brokerList: 'a:9092', protocol: 'SASL_SSL', password: 'alpha-secret-1' },
    ]);
  });

  it('adds and removes record rows', () => {
    const added = readFormSubmission(Settings, { ...form(), __op: 'add:environment' }, { stored });
    const fragment = html(
      renderSchemaField(Settings, 'environment', { values: added.draft, focus: added.operation?.focus }),
    );
    expect(element(fragment, 'field-environment-1-key')).toMatchObject({ value: '', autofocus: '' });
    const removed = readFormSubmission(Settings, { ...form(), __op: 'remove:environment[0]' }, { stored });
    expect((removed.draft as SettingsValue).environment).toEqual({});
    expect(removed.operation?.focus).toEqual({ id: 'field-environment-add' });
  });

  it('swaps a union variant in place: the new fields, nothing from the old one', () => {
    const submission = readFormSubmission(
      Settings,
      { ...form(), 'auth.type': 'Bearer', __op: 'refresh:auth' },
      { stored },
    );
    expect(submission.operation).toEqual({ kind: 'refresh', target: 'auth' });
    const fragment = html(
      renderSchemaField(Settings, 'auth', { values: submission.draft, operationUrl: '/things/1/form' }),
    );
    expect(fragment).toMatch(/^<fieldset id="field-auth"/);
    expect(fragment).toContain('<option value="Bearer" selected="">Bearer token</option>');
    expect(element(fragment, 'field-auth-token')).toMatchObject({
      type: 'password',
      name: 'auth.token',
      value: '',
    });
    expect(element(fragment, 'field-auth-username')).toBeUndefined();
    expect(fragment).not.toContain('basic-secret-2');
  });

  it('treats a malformed operation as "refresh the whole form", never as a save', () => {
    for (const op of [
      'explode:auth',
      'remove:nope[0]',
      'add:instances',
      'up:eventSinks.kafka[0]',
      'add:',
      '',
    ]) {
      const submission = readFormSubmission(Settings, { ...form(), __op: op }, { stored });
      expect(submission.operation, op).toBeDefined();
    }
    expect(readFormSubmission(Settings, { __op: 'add:instances' }).operation).toEqual({
      kind: 'refresh',
      target: '',
    });
  });
});

describe('inline validation', () => {
  it('returns only the asked field’s errors, with the cross-field rules of the whole form', () => {
    const fields = {
      ...submittedFields(renderEdit()),
      'filters[0]': 'sink:ghost',
      'eventSinks.kafka[1].name': 'Bad Name',
    };
    const submission = readFormSubmission(Settings, { ...fields, __field: 'filters[0]' }, { stored });
    expect(submission.field).toBe('filters[0]');
    expect(validateField(Settings, submission, 'filters[0]')).toEqual([
      { pointer: '/filters/0', message: 'No sink is named ghost.' },
    ]);
    expect(validateField(Settings, submission, 'instances')).toEqual([]);
    expect(validateField(Settings, submission, 'nonsense[')).toEqual([]);
    const fragment = html(
      renderSchemaField(Settings, 'filters[0]', {
        values: submission.draft,
        errors: validateField(Settings, submission, 'filters[0]'),
        validateUrl: '/things/1/validate',
      }),
    );
    expect(fragment).toMatch(/^<div id="field-filters-0-field">/);
    expect(fragment).toContain('No sink is named ghost.');
    expect(fragment).not.toContain('Bad Name');
    expect(renderSchemaField(Settings, 'nope', {})).toBeNull();
  });
});

describe('a route wired to the engine (how resource routes use it)', () => {
  // The pattern for a settings form: one POST handler for save and row/variant operations, one
  // for inline validation, JSON through the same schema. Secrets come from the stored settings.
  const saved: unknown[] = [];
  const app = new Hono();
  const options = { operationUrl: '/things/1', validateUrl: '/things/1/validate', namePrefix: 'settings' };
  const page = (values: unknown, errors: Array<{ pointer: string; message: string }> = [], focus?: unknown) =>
    html(
      SchemaForm({
        schema: Settings,
        action: '/things/1',
        values,
        errors,
        ...options,
        ...(focus ? { focus: focus as never } : {}),
      }),
    );
  app.post('/things/1', async (c) => {
    if ((c.req.header('Content-Type') ?? '').includes('json')) {
      const errors = schemaErrors(Settings, await c.req.json());
      if (errors.length > 0) return c.json({ title: 'Unprocessable Content', errors }, 422);
      return c.json({ ok: true });
    }
    const submission = readFormSubmission(Settings, await c.req.parseBody({ all: true }), {
      namePrefix: 'settings',
      stored,
    });
    if (submission.operation) {
      // Not a save: answer the list/union (htmx swaps it in place) or the whole page without JS.
      const view = { values: submission.draft, focus: submission.operation.focus, ...options };
      if (c.req.header('HX-Request') === 'true') {
        return c.html(html(renderSchemaField(Settings, submission.operation.target, view)));
      }
      return c.html(page(submission.draft, [], submission.operation.focus));
    }
    const errors = schemaErrors(Settings, submission.value);
    if (errors.length > 0) return c.html(page(submission.draft, errors), 422);
    saved.push(Settings.parse(submission.value));
    return c.body(null, 303, { Location: '/things/1' });
  });
  app.post('/things/1/validate', async (c) => {
    const submission = readFormSubmission(Settings, await c.req.parseBody({ all: true }), {
      namePrefix: 'settings',
      stored,
    });
    if (!submission.field) return c.text('Say which field (__field).', 400);
    const errors = validateField(Settings, submission, submission.field, { namePrefix: 'settings' });
    const fragment = renderSchemaField(Settings, submission.field, {
      values: submission.draft,
      errors,
      ...options,
    });
    return fragment === null ? c.text('Unknown field.', 400) : c.html(html(fragment));
  });

  const post = (path: string, fields: FlatFields, htmx = false) => {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(key, String(v));
    }
    return app.request(path, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(htmx ? { 'HX-Request': 'true' } : {}),
      },
      body,
    });
  };
  const editPage = () => page(maskSecrets(Settings, stored));

  it('saves an unchanged form as exactly the stored settings, secrets included', async () => {
    const res = await post('/things/1', submittedFields(editPage()));
    expect(res.status).toBe(303);
    expect(saved.at(-1)).toEqual(stored);
  });

  it('answers 422 with the form again: values kept, errors beside fields and summarised', async () => {
    const fields = {
      ...submittedFields(editPage()),
      'settings.instances': '7',
      'settings.filters[0]': 'sink:ghost',
    };
    const res = await post('/things/1', fields);
    expect(res.status).toBe(422);
    const markup = await res.text();
    expect(element(markup, 'field-settings-instances')).toMatchObject({ value: '7', 'aria-invalid': 'true' });
    expect(markup).toContain('<a href="#field-settings-filters-0"');
    expect(markup).toContain('There are problems with 2 fields');
    expect(markup).not.toContain('basic-secret-2');
  });

  it('answers a row operation from htmx with just the list, and without JS with the whole form', async () => {
    const fields = { ...submittedFields(editPage()), __op: 'add:settings.filters' };
    const fragment = await (await post('/things/1', fields, true)).text();
    expect(fragment).toMatch(/^<fieldset id="field-settings-filters"/);
    expect(element(fragment, 'field-settings-filters-1')).toMatchObject({ value: '', autofocus: '' });
    const full = await post('/things/1', fields);
    expect(full.status).toBe(200);
    expect(await full.text()).toMatch(/^<form id="schema-form"/);
  });

  it('validates one field inline', async () => {
    const fields = {
      ...submittedFields(editPage()),
      'settings.instances': '0',
      __field: 'settings.instances',
    };
    const fragment = await (await post('/things/1/validate', fields, true)).text();
    expect(fragment).toMatch(/^<div id="field-settings-instances-field">/);
    expect(fragment).toContain('aria-invalid="true"');
    expect(fragment).toContain('field-settings-instances-error');
    const ok = await (
      await post('/things/1/validate', { ...fields, 'settings.instances': '2' }, true)
    ).text();
    expect(ok).not.toContain('aria-invalid');
  });

  it('takes JSON through the same schema', async () => {
    const res = await app.request('/things/1', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...stored, instances: 9 }),
    });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([{ pointer: '/instances', message: expect.any(String) }]);
  });
});

describe('any schema', () => {
  it('renders and parses a schema nobody wrote a form for: nested lists, unions in lists, tuples, recursion', () => {
    type Tree = { label: string; children?: Tree[] };
    const TreeSchema: z.ZodType<Tree> = z.lazy(() =>
      z.strictObject({ label: z.string().min(1), children: z.array(TreeSchema).optional() }),
    );
    const Odd = z.strictObject({
      matrix: z.array(z.array(z.int())).default([]),
      shapes: z
        .array(
          z.discriminatedUnion('kind', [
            z.strictObject({ kind: z.literal('circle'), r: z.number().positive() }),
            z.strictObject({ kind: z.literal('rect'), w: z.number(), h: z.number() }),
          ]),
        )
        .default([]),
      pair: z.tuple([z.string(), z.number()]).optional(),
      either: z.union([z.string(), z.number()]).optional(),
      tree: TreeSchema.optional(),
      maybe: z.string().nullable().default(null),
    });
    const value = Odd.parse({
      matrix: [[1, 2], [3]],
      shapes: [
        { kind: 'rect', w: 2, h: 3 },
        { kind: 'circle', r: 1.5 },
      ],
      pair: ['a', 1],
      either: '12',
      tree: { label: 'root', children: [{ label: 'leaf' }] },
    });
    const markup = html(renderSchemaFormParts(Odd, { values: value }).fields);
    expect(element(markup, 'field-shapes-1-kind')).toMatchObject({ tag: 'select', name: 'shapes[1].kind' });
    expect(element(markup, 'field-matrix-0-1')).toMatchObject({ name: 'matrix[0][1]', value: '2' });
    expect(element(markup, 'field-pair')).toMatchObject({ tag: 'textarea' });
    expect(element(markup, 'field-tree-children-0-label')).toMatchObject({ value: 'leaf' });
    expect(parseFormData(Odd, submittedFields(markup))).toEqual(value);
    expect(Odd.parse(parseFormData(Odd, submittedFields(markup)))).toEqual(value);
  });

  it('stored-secret markers are plain data the renderer understands', () => {
    const markup = html(
      renderSchemaFormParts(Settings, { values: { apiKey: new StoredSecret('/apiKey') } }).fields,
    );
    expect(markup).toContain('name="apiKey@stored" value="/apiKey"');
  });
});
