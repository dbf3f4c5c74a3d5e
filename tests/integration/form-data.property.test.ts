import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type FlatFields,
  maskSecrets,
  parseFormData,
  readFormSubmission,
  schemaErrors,
} from '../../src/lib/form-data.ts';
import { renderSchemaFormParts } from '../../src/views/forms/schema-form.tsx';
import { submittedFields } from '../../src/views/forms/submitted-fields.ts';

/**
 * The form parser against values generated from throwaway schemas: whatever the schema accepts,
 * rendered and submitted as a browser would, parses back unchanged; whatever a client posts, the
 * parser never throws (only the schema complains). No resource type is involved.
 */

const Auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('None') }).meta({ label: 'None' }),
  z
    .strictObject({
      type: z.literal('Basic'),
      username: z.string().min(1).max(50).meta({ label: 'Username' }),
      password: z.string().min(1).meta({ label: 'Password', secret: true }),
    })
    .meta({ label: 'Basic' }),
  z
    .strictObject({
      type: z.literal('ApiKey'),
      headerName: z.string().regex(/^[A-Za-z][A-Za-z-]*$/),
      headerValue: z.string().min(1).meta({ secret: true }),
    })
    .meta({ label: 'API key' }),
]);

const Sink = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,20}$/)
      .meta({ label: 'Name' }),
    url: z.url().optional(),
    port: z.int().min(1).max(65535).default(1883),
    protocol: z.enum(['3.1.0', '3.1.1', '5.0.0']).default('3.1.1'),
    password: z.string().optional().meta({ secret: true }),
    auth: Auth.default({ type: 'None' }),
  })
  .meta({ label: 'Sink' });

const Everything = z.strictObject({
  instances: z.int().min(1).max(6).default(1).meta({ label: 'Instances', help: 'How many replicas run.' }),
  ratio: z.number().min(0).max(10).optional(),
  big: z.bigint().optional(),
  title: z.string().max(40).optional(),
  contact: z.email().optional(),
  notes: z.string().optional().meta({ widget: 'textarea' }),
  tier: z.enum(['small', 'medium', 'large', 'xlarge', 'huge']),
  mode: z.enum(['fast', 'safe']).default('safe'),
  level: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  enabled: z.boolean().default(true),
  beta: z.boolean(),
  database: z
    .strictObject({
      storageClass: z.string().min(1).default('standard'),
      size: z
        .string()
        .regex(/^[0-9]+(Mi|Gi)$/)
        .default('10Gi'),
      backups: z.boolean().default(true),
    })
    .default({ storageClass: 'standard', size: '10Gi', backups: true }),
  sinks: z.array(Sink).max(4).default([]),
  filters: z.array(z.string().min(1)).default([]),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  auth: Auth,
  limits: z.tuple([z.number(), z.number()]).optional(),
  apiKey: z.string().optional().meta({ secret: true, label: 'API key' }),
  nickname: z.string().nullable(),
});

// Generators of VALID values (what the schema accepts). Strings are never empty (an empty input is
// "absent" by design) and single-line strings hold no line breaks (a browser strips them).
const line = fc
  .string({ minLength: 1, maxLength: 12, unit: 'grapheme' })
  .filter((s) => !/[\r\n]/.test(s) && s.length > 0);
const multiline = fc
  .string({ minLength: 1, maxLength: 20, unit: 'grapheme' })
  .map((s) => s.replace(/\r/g, ''));
/** Secrets carry a marker, so "never in the page" can be checked by looking for it. */
const secret = line.map((s) => `s3cr3t:${s}`);
const nonEmpty = multiline.filter((s) => s.length > 0);
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const envKey = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/).filter((k) => k !== '__proto__');
const url = fc
  .webUrl({ withQueryParameters: true, withFragments: true })
  .filter((u) => z.url().safeParse(u).success);
const email = fc.emailAddress().filter((e) => z.email().safeParse(e).success);
const finite = fc
  .double({ min: 0, max: 10, noNaN: true, noDefaultInfinity: true })
  .map((n) => (Object.is(n, -0) ? 0 : n));

const auth = fc.oneof(
  fc.constant({ type: 'None' as const }),
  fc.record({
    type: fc.constant('Basic' as const),
    username: line.filter((s) => s.length <= 50),
    password: secret,
  }),
  fc.record({
    type: fc.constant('ApiKey' as const),
    headerName: fc.stringMatching(/^[A-Za-z][A-Za-z-]{0,10}$/),
    headerValue: secret,
  }),
);
const sink = fc.record(
  {
    name,
    url,
    port: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom('3.1.0', '3.1.1', '5.0.0'),
    password: secret,
    auth,
  },
  { requiredKeys: ['name', 'port', 'protocol', 'auth'] },
);
const everything = fc.record(
  {
    instances: fc.integer({ min: 1, max: 6 }),
    ratio: finite,
    big: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
    title: line.filter((s) => s.length <= 40),
    contact: email,
    notes: nonEmpty,
    tier: fc.constantFrom('small', 'medium', 'large', 'xlarge', 'huge'),
    mode: fc.constantFrom('fast', 'safe'),
    level: fc.constantFrom(1, 2, 3),
    enabled: fc.boolean(),
    beta: fc.boolean(),
    database: fc.record({
      storageClass: line,
      size: fc.stringMatching(/^[0-9]{1,4}(Mi|Gi)$/),
      backups: fc.boolean(),
    }),
    sinks: fc.array(sink, { maxLength: 4 }),
    filters: fc.array(line, { maxLength: 4 }),
    env: fc.dictionary(envKey, line, { maxKeys: 4 }),
    auth,
    limits: fc.tuple(finite, finite),
    apiKey: secret,
    nickname: fc.option(line, { nil: null }),
  },
  {
    requiredKeys: [
      'instances',
      'tier',
      'mode',
      'enabled',
      'beta',
      'database',
      'sinks',
      'filters',
      'env',
      'auth',
      'nickname',
    ],
  },
);

describe('form parser round trips (property-based)', () => {
  it('every valid value survives render → submit → parse unchanged, secrets kept as stored', () => {
    const started = Date.now();
    fc.assert(
      fc.property(everything, (generated) => {
        const canonical = Everything.parse(generated);
        // An edit form: stored values with secrets masked; the browser never sees them.
        const html = String(
          renderSchemaFormParts(Everything, { values: maskSecrets(Everything, canonical) }).fields,
        );
        expect(html).not.toContain('s3cr3t:');
        const submission = readFormSubmission(Everything, submittedFields(html), { stored: canonical });
        expect(submission.value).toEqual(canonical);
        // …and the same schema that validates JSON accepts it as the very same value.
        expect(Everything.parse(submission.value)).toEqual(Everything.parse(canonical));
      }),
      { numRuns: 1500 },
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a create form (nothing stored) round-trips too: typed secrets are read as typed', () => {
    fc.assert(
      fc.property(everything, (generated) => {
        const canonical = Everything.parse(generated);
        // What the user typed in a create form: secrets are in the inputs because they typed them.
        const fields = submittedFields(
          String(renderSchemaFormParts(Everything, { values: canonical }).fields),
        );
        fillSecrets(fields, canonical);
        expect(parseFormData(Everything, fields)).toEqual(canonical);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips under a name prefix, ignoring the fields around it', () => {
    fc.assert(
      fc.property(everything, (generated) => {
        const canonical = Everything.parse({
          ...generated,
          apiKey: undefined,
          auth: { type: 'None' },
          sinks: [],
        });
        const html = String(
          renderSchemaFormParts(Everything, { values: canonical, namePrefix: 'settings' }).fields,
        );
        const fields = {
          ...submittedFields(html),
          name: 'my-resource',
          'other.instances': '5',
          instances: '4',
        };
        expect(parseFormData(Everything, fields, { namePrefix: 'settings' })).toEqual(canonical);
      }),
      { numRuns: 300 },
    );
  });
});

describe('form parser on broken input (property-based)', () => {
  const knownNames = [
    'instances',
    'ratio',
    'big',
    'title',
    'contact',
    'notes',
    'tier',
    'mode',
    'level',
    'enabled',
    'beta',
    'database',
    'database.size',
    'database.backups',
    'sinks',
    'sinks[0].name',
    'sinks[0].port',
    'sinks[3].auth.type',
    'sinks[1].auth.password',
    'sinks[1].auth.password@stored',
    'sinks[0].password@clear',
    'filters[0]',
    'filters[999999999]',
    'env',
    'env[0].key',
    'env[0].value',
    'env[1].key',
    'auth.type',
    'auth.username',
    'auth.password@stored',
    'limits',
    'apiKey',
    'apiKey@stored',
    'nickname',
    '__op',
    '__field',
  ];
  const garbageName = fc.oneof(
    fc.constantFrom(...knownNames),
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      '__proto__',
      'constructor',
      'a..b',
      '[0]',
      'sinks[-1]',
      'sinks[01]',
      'x@',
      'a@B',
      'env[0].key.x',
    ),
  );
  const garbageValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom(
      '',
      'true',
      'false',
      'on',
      '1e400',
      'NaN',
      '-0',
      '0x10',
      ' 5 ',
      '{"a":1}',
      '[1,2]',
      'None',
      'Basic',
      '/auth/password',
      '/apiKey',
    ),
    fc.constantFrom(
      'add:sinks',
      'remove:sinks[0]',
      'up:sinks[1]',
      'down:filters[0]',
      'add:env',
      'refresh:auth',
      'remove:nope',
      'add:',
      ':',
      'explode:sinks',
    ),
  );
  const fieldsArbitrary = fc
    .array(fc.tuple(garbageName, fc.oneof(garbageValue, fc.array(garbageValue, { maxLength: 3 }))), {
      maxLength: 25,
    })
    .map((pairs) => {
      const fields: FlatFields = {};
      for (const [key, value] of pairs)
        Object.defineProperty(fields, key, { value, enumerable: true, writable: true });
      return fields;
    });

  it('never throws: anything posted becomes a draft, a value and, at worst, schema errors', () => {
    const started = Date.now();
    const stored = Everything.parse({
      tier: 'small',
      beta: false,
      nickname: null,
      auth: { type: 'Basic', username: 'u', password: 'stored-password' },
      apiKey: 'stored-key',
    });
    fc.assert(
      fc.property(fieldsArbitrary, (fields) => {
        const submission = readFormSubmission(Everything, fields, { stored });
        const errors = schemaErrors(Everything, submission.value);
        for (const error of errors) expect(error.pointer === '' || error.pointer.startsWith('/')).toBe(true);
        // The draft renders back (a 422 page) without throwing and without leaking what is stored.
        const parts = renderSchemaFormParts(Everything, {
          values: submission.draft,
          errors,
          ...(submission.operation?.focus ? { focus: submission.operation.focus } : {}),
        });
        const html = String(parts.summary) + String(parts.fields);
        expect(html).not.toContain('stored-password');
        expect(html).not.toContain('stored-key');
      }),
      { numRuns: 2500 },
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a valid form broken in one place never throws, and whatever the schema still accepts round-trips', () => {
    const mutation = fc.record({
      pick: fc.nat(),
      kind: fc.constantFrom('garbage', 'drop', 'duplicate', 'empty'),
      text: fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom('-1', '7', '1e3', 'true', 'Basic', ' ', '99999'),
      ),
    });
    fc.assert(
      fc.property(everything, mutation, (generated, change) => {
        const canonical = Everything.parse(generated);
        const fields = submittedFields(
          String(renderSchemaFormParts(Everything, { values: canonical }).fields),
        );
        fillSecrets(fields, canonical);
        const names = Object.keys(fields);
        const name = names[change.pick % names.length] as string;
        if (change.kind === 'garbage') fields[name] = change.text;
        if (change.kind === 'drop') delete fields[name];
        if (change.kind === 'empty') fields[name] = '';
        if (change.kind === 'duplicate') fields[name] = [...[fields[name] ?? []].flat(), change.text];
        const value = parseFormData(Everything, fields);
        const result = Everything.safeParse(value);
        if (!result.success) return;
        // Accepted: rendering what was accepted and posting it again gives the same settings.
        const again = submittedFields(
          String(renderSchemaFormParts(Everything, { values: result.data }).fields),
        );
        fillSecrets(again, result.data);
        expect(Everything.parse(parseFormData(Everything, again))).toEqual(result.data);
      }),
      { numRuns: 1000 },
    );
  });

  it('a stored secret can only be kept in a field of the same shape, never moved into another field', () => {
    const stored = Everything.parse({
      tier: 'small',
      beta: false,
      nickname: null,
      auth: { type: 'Basic', username: 'u', password: 'stored-password' },
      apiKey: 'stored-key',
      sinks: [{ name: 'a', password: 'sink-a-password' }],
    });
    const fields: FlatFields = {
      tier: 'small',
      beta: 'false',
      'auth.type': 'ApiKey',
      'auth.headerName': 'X-Leak',
      'auth.headerValue': '',
      'auth.headerValue@stored': '/auth/password',
      apiKey: '',
      'apiKey@stored': '/sinks/0/password',
      'sinks[0].name': 'a',
      'sinks[0].password': '',
      'sinks[0].password@stored': '/sinks/0/password',
      nickname: '',
    };
    const value = parseFormData(Everything, fields, { stored }) as Record<string, unknown>;
    expect(value.auth).toEqual({ type: 'ApiKey', headerName: 'X-Leak' });
    expect(value.apiKey).toBeUndefined();
    expect((value.sinks as Array<Record<string, unknown>>)[0]?.password).toBe('sink-a-password');
    expect(schemaErrors(Everything, value).map((e) => e.pointer)).toEqual(['/auth/headerValue']);
  });
});

/** Types each secret into its input, as the user of a create form does. */
function fillSecrets(fields: FlatFields, value: z.output<typeof Everything>): void {
  if (value.apiKey) fields.apiKey = value.apiKey;
  const fromAuth = (prefix: string, a: z.output<typeof Auth>) => {
    if (a.type === 'Basic') fields[`${prefix}.password`] = a.password;
    if (a.type === 'ApiKey') fields[`${prefix}.headerValue`] = a.headerValue;
  };
  fromAuth('auth', value.auth);
  value.sinks.forEach((s, i) => {
    if (s.password) fields[`sinks[${i}].password`] = s.password;
    fromAuth(`sinks[${i}].auth`, s.auth);
  });
}
