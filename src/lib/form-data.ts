import { z } from 'zod';
import { type FieldError, toJsonPointer } from './errors.ts';
import { boundValueAt, changedBoundFields, reenterSecretMessage } from './secret-bindings.ts';
import { secretKeyRef, secretKeyRefSchema } from './secret-refs.ts';

/**
 * The form half of "one schema for forms and JSON" (DESIGN.md §5). A browser posts flat fields
 * named after their path (`eventSinks.kafka[0].brokerList`); this module turns them back into the
 * nested object that the SAME Zod schema then validates, exactly as it validates a JSON body.
 * Nothing here knows a resource type: it walks whatever schema it is given.
 *
 * Rules of the parser (the renderer in src/views/forms/ writes fields that follow them):
 * - an empty string is absent, so optional fields disappear and `.default()`s apply (a field that
 *   is `.nullable()` and not merely optional becomes null instead);
 * - a checkbox posts a hidden "false" before itself, so unchecked is `false` and absent is absent;
 * - numbers are coerced when they look like numbers; anything else stays a string, so the schema
 *   reports it instead of the parser guessing;
 * - array rows (`list[3]`) are compacted in index order; a bare `list` field (the renderer posts an
 *   empty one) says the array is there even with no rows, so a default can be cleared;
 * - record rows are `env[0].key` / `env[0].value`;
 * - a discriminated union's discriminator picks the variant whose fields are read;
 * - unknown names are ignored (a form carries more than the schema: tokens, buttons, other fields);
 * - it never throws on any input: everything wrong becomes a validation error of the schema.
 *
 * Secrets (`.meta({ secret: true })` or `widget: 'password'`) are write-only. A stored secret is
 * rendered as an empty password input plus a hidden `name@stored` field holding the JSON pointer it
 * was stored at; an empty input then means "keep the stored one" (see `StoredSecret`) — unless a
 * field named in its `boundTo` meta (where the secret is sent) changed: then it is dropped and the
 * submission carries an error asking for it again. A secret field whose schema also accepts a
 * reference to a Konnektr.Secret entry (lib/secret-refs.ts) posts `name@ref` = `<secret id>/<key>`
 * from a picker; a chosen reference replaces any typed value.
 */

// ---------------------------------------------------------------------------------------------
// Names, paths and pointers
// ---------------------------------------------------------------------------------------------

/** One step of a path: an object key or record key (string) or an array index (number). */
export type PathSegment = string | number;

/** Reserved top-level field: a row or variant operation (`add:list`, `remove:list[2]`, …). */
export const OPERATION_FIELD = '__op';
/** Reserved top-level field: which field an inline validation post is about. */
export const VALIDATE_FIELD = '__field';

/** `['a', 'b', 0, 'c']` → `a.b[0].c`. Keys must not contain `.`, `[`, `]` or `@`. */
export function formatFieldName(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

export interface ParsedFieldName {
  path: PathSegment[];
  /** The part after `@`, for the renderer's helper fields (`password@stored`). */
  marker?: string;
}

/** `a.b[0].c@stored` → `{ path: ['a', 'b', 0, 'c'], marker: 'stored' }`; null when malformed. */
export function parseFieldName(name: string): ParsedFieldName | null {
  if (name.length === 0 || name.length > 1000) return null;
  const at = name.indexOf('@');
  const body = at === -1 ? name : name.slice(0, at);
  const marker = at === -1 ? undefined : name.slice(at + 1);
  if (marker !== undefined && !/^[a-z]{1,20}$/.test(marker)) return null;
  const path: PathSegment[] = [];
  let i = 0;
  let expectKey = true;
  while (i < body.length) {
    const char = body[i];
    if (char === '[') {
      const close = body.indexOf(']', i);
      const digits = close === -1 ? '' : body.slice(i + 1, close);
      if (!/^(0|[1-9][0-9]{0,8})$/.test(digits)) return null;
      path.push(Number(digits));
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (char === '.') {
      if (expectKey) return null;
      i += 1;
      expectKey = true;
      if (i >= body.length) return null;
      continue;
    }
    if (char === ']') return null;
    if (!expectKey) return null;
    let end = i;
    while (end < body.length && body[end] !== '.' && body[end] !== '[' && body[end] !== ']') end += 1;
    path.push(body.slice(i, end));
    i = end;
    expectKey = false;
  }
  if (path.length === 0 && body.length > 0) return null;
  return marker === undefined ? { path } : { path, marker };
}

function prefixPath(namePrefix: string | undefined): PathSegment[] {
  if (!namePrefix) return [];
  const parsed = parseFieldName(namePrefix);
  if (!parsed || parsed.marker) throw new Error(`Invalid form name prefix: ${namePrefix}`);
  return parsed.path;
}

/** The full field name for a path under a prefix (`settings` + `['a', 0]` → `settings.a[0]`). */
export function fieldNameFor(namePrefix: string | undefined, path: readonly PathSegment[]): string {
  return formatFieldName([...prefixPath(namePrefix), ...path]);
}

/** An HTML id derived from a field name: `a.b[0].c` → `field-a-b-0-c`. */
export function fieldId(name: string): string {
  if (name === '') return 'field-root';
  const slug = name
    .replace(/\[(\d+)\]/g, '-$1')
    .replaceAll('.', '-')
    .replace(/[^A-Za-z0-9_-]/g, (char) => `_${char.codePointAt(0)?.toString(16) ?? ''}`);
  return `field-${slug}`;
}

/** RFC 6901 pointer → path segments (all strings; a pointer cannot tell indexes from keys). */
export function parseJsonPointer(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
}

// ---------------------------------------------------------------------------------------------
// Describing a schema
// ---------------------------------------------------------------------------------------------

/** What `.meta()` may say about a field (the keys the resource types use, and a few extras). */
export interface FormFieldMeta {
  label?: string;
  help?: string;
  placeholder?: string;
  /** text | textarea | password | select | radio | checkbox | switch | hidden | json */
  widget?: string;
  secret?: boolean;
  /** Paths (from the object holding a secret; `../` goes up) of the fields it is bound to. */
  boundTo?: string[];
  /** Label of one row of an array ("Kafka sink" → "Kafka sink 1"); defaults to the element's label. */
  itemLabel?: string;
  /** Labels of a record's key and value columns. */
  keyLabel?: string;
  valueLabel?: string;
  /** Display labels of enum values, by value. */
  optionLabels?: Record<string, string>;
}

type Primitive = string | number | boolean | bigint | null | undefined;

interface DescriptorBase {
  /** The schema as given (wrappers included): what validates this field on its own. */
  source: z.core.$ZodType;
  /** The schema with optional/default/nullable/pipe/lazy wrappers removed. */
  schema: z.core.$ZodType;
  /** The input may be absent (optional, or has a default). */
  optional: boolean;
  nullable: boolean;
  hasDefault: boolean;
  /** The default value (a fresh read each call: defaults may be getters). */
  defaultValue(): unknown;
  meta: FormFieldMeta;
}

export interface StringDescriptor extends DescriptorBase {
  kind: 'string';
  secret: boolean;
  /** A secret that may instead refer to a Konnektr.Secret entry (a string-or-reference union). */
  secretRefs?: boolean;
  multiline: boolean;
  format?: string;
  minLength?: number;
  maxLength?: number;
  /** An HTML-compatible `pattern` (anchored, no flags, valid with the `v` flag), when there is one. */
  pattern?: string;
}
export interface NumberDescriptor extends DescriptorBase {
  kind: 'number';
  integer: boolean;
  min?: number;
  max?: number;
  step?: number;
}
export interface BigIntDescriptor extends DescriptorBase {
  kind: 'bigint';
}
export interface BooleanDescriptor extends DescriptorBase {
  kind: 'boolean';
}
export interface EnumDescriptor extends DescriptorBase {
  kind: 'enum';
  options: Array<{ value: Primitive; label: string }>;
}
export interface ObjectDescriptor extends DescriptorBase {
  kind: 'object';
  fields(): Array<[string, FieldDescriptor]>;
}
export interface ArrayDescriptor extends DescriptorBase {
  kind: 'array';
  element(): FieldDescriptor;
  minItems?: number;
  maxItems?: number;
}
export interface RecordDescriptor extends DescriptorBase {
  kind: 'record';
  key(): FieldDescriptor;
  value(): FieldDescriptor;
}
export interface UnionVariant {
  value: Primitive;
  label: string;
  object: ObjectDescriptor;
}
export interface UnionDescriptor extends DescriptorBase {
  kind: 'union';
  discriminator: string;
  variants(): UnionVariant[];
}
/** Anything the engine has no widget for (tuples, plain unions, maps…): edited as JSON text. */
export interface JsonDescriptor extends DescriptorBase {
  kind: 'json';
}

export type FieldDescriptor =
  | StringDescriptor
  | NumberDescriptor
  | BigIntDescriptor
  | BooleanDescriptor
  | EnumDescriptor
  | ObjectDescriptor
  | ArrayDescriptor
  | RecordDescriptor
  | UnionDescriptor
  | JsonDescriptor;

/** Zod 4 definitions, read loosely: each kind's own fields are checked where they are used. */
interface AnyDef {
  type: string;
  [key: string]: unknown;
}
interface CheckDef {
  check?: string;
  format?: string;
  pattern?: RegExp;
  value?: unknown;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  length?: number;
}

function defOf(schema: z.core.$ZodType): AnyDef {
  return schema._zod.def as unknown as AnyDef;
}

function checksOf(schema: z.core.$ZodType): CheckDef[] {
  const def = defOf(schema);
  const list: CheckDef[] = [];
  // A format schema (z.email(), z.int(), …) is its own first check.
  if (typeof def.check === 'string') list.push(def as unknown as CheckDef);
  const checks = def.checks;
  if (Array.isArray(checks)) {
    for (const check of checks) {
      const checkDef = (check as z.core.$ZodCheck)?._zod?.def as CheckDef | undefined;
      if (checkDef) list.push(checkDef);
    }
  }
  return list;
}

function metaOf(schema: z.core.$ZodType): Record<string, unknown> | undefined {
  return z.globalRegistry.get(schema) as Record<string, unknown> | undefined;
}

function readMeta(metas: Array<Record<string, unknown>>): FormFieldMeta {
  // metas run outermost first; the outermost wins, so apply them innermost first.
  const merged: Record<string, unknown> = {};
  for (const meta of [...metas].reverse()) Object.assign(merged, meta);
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const out: FormFieldMeta = {};
  const label = text(merged.label) ?? text(merged.title);
  const help = text(merged.help) ?? text(merged.description);
  if (label) out.label = label;
  if (help) out.help = help;
  for (const key of ['placeholder', 'widget', 'itemLabel', 'keyLabel', 'valueLabel'] as const) {
    const value = text(merged[key]);
    if (value) out[key] = value;
  }
  if (merged.secret === true) out.secret = true;
  if (Array.isArray(merged.boundTo)) out.boundTo = merged.boundTo.filter((p) => typeof p === 'string');
  if (merged.optionLabels && typeof merged.optionLabels === 'object') {
    out.optionLabels = merged.optionLabels as Record<string, string>;
  }
  return out;
}

interface Unwrapped {
  schema: z.core.$ZodType;
  optional: boolean;
  nullable: boolean;
  defaultSource?: AnyDef;
  metas: Array<Record<string, unknown>>;
}

function unwrap(schema: z.core.$ZodType): Unwrapped {
  let current = schema;
  let optional = false;
  let nullable = false;
  let nonOptional = false;
  let defaultSource: AnyDef | undefined;
  const metas: Array<Record<string, unknown>> = [];
  for (let guard = 0; guard < 64; guard++) {
    const meta = metaOf(current);
    if (meta) metas.push(meta);
    const def = defOf(current);
    const inner = def.innerType as z.core.$ZodType | undefined;
    if (def.type === 'optional' && inner) {
      if (!nonOptional) optional = true;
      current = inner;
    } else if (def.type === 'nullable' && inner) {
      nullable = true;
      current = inner;
    } else if ((def.type === 'default' || def.type === 'prefault') && inner) {
      defaultSource ??= def;
      current = inner;
    } else if (def.type === 'nonoptional' && inner) {
      nonOptional = true;
      current = inner;
    } else if ((def.type === 'catch' || def.type === 'readonly') && inner) {
      current = inner;
    } else if (def.type === 'pipe') {
      // A form edits the input side; z.preprocess() is a pipe whose input is a bare transform.
      const input = def.in as z.core.$ZodType;
      current = defOf(input).type === 'transform' ? (def.out as z.core.$ZodType) : input;
    } else if (def.type === 'lazy' && typeof def.getter === 'function') {
      current = (def.getter as () => z.core.$ZodType)();
    } else {
      break;
    }
  }
  const result: Unwrapped = { schema: current, optional, nullable, metas };
  if (defaultSource) result.defaultSource = defaultSource;
  return result;
}

const cache = new WeakMap<z.core.$ZodType, FieldDescriptor>();

/**
 * Deeper than this, a field is edited as JSON text (renderer and parser agree), so a recursive
 * schema (z.lazy) cannot make a form without end.
 */
export const MAX_FORM_DEPTH = 16;

/**
 * A normalised view of a schema for forms: its kind, whether it may be absent, its default, its
 * `.meta()` (merged through wrappers, outermost wins) and its HTML constraints. Cached per schema
 * instance; children are described lazily, so recursive (z.lazy) schemas are fine.
 */
export function describeSchema(schema: z.core.$ZodType): FieldDescriptor {
  const cached = cache.get(schema);
  if (cached) return cached;
  const described = build(schema);
  cache.set(schema, described);
  return described;
}

function memo<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value;
  };
}

function build(schema: z.core.$ZodType): FieldDescriptor {
  const unwrapped = unwrap(schema);
  const inner = unwrapped.schema;
  const def = defOf(inner);
  const meta = readMeta(unwrapped.metas);
  const defaultSource = unwrapped.defaultSource;
  const base: DescriptorBase = {
    source: schema,
    schema: inner,
    optional: unwrapped.optional || defaultSource !== undefined,
    nullable: unwrapped.nullable,
    hasDefault: defaultSource !== undefined,
    defaultValue: () => {
      if (!defaultSource) return undefined;
      try {
        return defaultSource.defaultValue;
      } catch {
        return undefined;
      }
    },
    meta,
  };
  switch (def.type) {
    case 'string':
    case 'template_literal':
      return describeString(base, inner);
    case 'number':
      return describeNumber(base, inner);
    case 'bigint':
      return { ...base, kind: 'bigint' };
    case 'boolean':
      return { ...base, kind: 'boolean' };
    case 'enum':
    case 'literal':
      return { ...base, kind: 'enum', options: enumOptions(inner, meta) };
    case 'object': {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      return {
        ...base,
        kind: 'object',
        fields: memo(() => Object.entries(shape).map(([key, child]) => [key, describeSchema(child)])),
      };
    }
    case 'array': {
      const element = def.element as z.core.$ZodType;
      const out: ArrayDescriptor = { ...base, kind: 'array', element: memo(() => describeSchema(element)) };
      for (const check of checksOf(inner)) {
        if (check.check === 'min_length' && typeof check.minimum === 'number') out.minItems = check.minimum;
        if (check.check === 'max_length' && typeof check.maximum === 'number') out.maxItems = check.maximum;
        if (check.check === 'length_equals' && typeof check.length === 'number') {
          out.minItems = check.length;
          out.maxItems = check.length;
        }
      }
      return out;
    }
    case 'record': {
      const keyType = def.keyType as z.core.$ZodType;
      const valueType = def.valueType as z.core.$ZodType;
      return {
        ...base,
        kind: 'record',
        key: memo(() => describeSchema(keyType)),
        value: memo(() => describeSchema(valueType)),
      };
    }
    case 'union':
      return describeUnion(base, def);
    default:
      return { ...base, kind: 'json' };
  }
}

function describeString(base: DescriptorBase, schema: z.core.$ZodType): StringDescriptor {
  const widget = base.meta.widget;
  const out: StringDescriptor = {
    ...base,
    kind: 'string',
    secret: base.meta.secret === true || widget === 'password',
    multiline: widget === 'textarea',
  };
  const patterns: RegExp[] = [];
  for (const check of checksOf(schema)) {
    if (check.check === 'min_length' && typeof check.minimum === 'number') out.minLength = check.minimum;
    if (check.check === 'max_length' && typeof check.maximum === 'number') out.maxLength = check.maximum;
    if (check.check === 'length_equals' && typeof check.length === 'number') {
      out.minLength = check.length;
      out.maxLength = check.length;
    }
    if (check.check === 'string_format' && check.format) {
      if (check.format === 'regex' && check.pattern instanceof RegExp) patterns.push(check.pattern);
      else out.format ??= check.format;
    }
  }
  const pattern = patterns.length === 1 && patterns[0] ? htmlPattern(patterns[0]) : undefined;
  if (pattern) out.pattern = pattern;
  return out;
}

/** A regex usable as an HTML `pattern`: anchored at both ends, no flags that HTML cannot express. */
function htmlPattern(regex: RegExp): string | undefined {
  if (regex.flags.replace(/[uv]/g, '') !== '') return undefined;
  const source = regex.source;
  if (!source.startsWith('^') || !source.endsWith('$') || source.endsWith('\\$')) return undefined;
  // Browsers compile `pattern` with the `v` flag, where `[a-z0-9-]` is a syntax error (the pattern
  // would be ignored): escape the characters that are literal in a class but reserved under `v`.
  const rewritten = escapeClassesForV(source);
  try {
    new RegExp(rewritten, 'v');
  } catch {
    return undefined;
  }
  return rewritten;
}

function escapeClassesForV(source: string): string {
  let out = '';
  let inClass = false;
  let classStart = 0;
  for (let i = 0; i < source.length; i++) {
    const char = source[i] as string;
    if (char === '\\') {
      out += char + (source[i + 1] ?? '');
      i += 1;
    } else if (!inClass) {
      out += char;
      if (char === '[') {
        inClass = true;
        if (source[i + 1] === '^') {
          out += '^';
          i += 1;
        }
        classStart = out.length;
      }
    } else if (char === ']') {
      inClass = false;
      out += char;
    } else if (char === '-' && (out.length === classStart || source[i + 1] === ']')) {
      out += '\\-';
    } else if ('(){}/|[&!#%,:;<=>@`~'.includes(char)) {
      out += `\\${char}`;
    } else {
      out += char;
    }
  }
  return out;
}

function describeNumber(base: DescriptorBase, schema: z.core.$ZodType): NumberDescriptor {
  const out: NumberDescriptor = { ...base, kind: 'number', integer: false };
  let multipleOf: number | undefined;
  for (const check of checksOf(schema)) {
    const value = typeof check.value === 'number' ? check.value : undefined;
    if (check.check === 'number_format' && check.format?.includes('int')) out.integer = true;
    if (check.check === 'greater_than' && value !== undefined) out.min = Math.max(out.min ?? value, value);
    if (check.check === 'less_than' && value !== undefined) out.max = Math.min(out.max ?? value, value);
    if (check.check === 'multiple_of' && value !== undefined) multipleOf = value;
  }
  if (multipleOf !== undefined && Number.isInteger(multipleOf)) out.integer = true;
  // z.int() carries the safe-integer range as bounds; they say nothing to a person.
  if (out.min !== undefined && out.min <= Number.MIN_SAFE_INTEGER) delete out.min;
  if (out.max !== undefined && out.max >= Number.MAX_SAFE_INTEGER) delete out.max;
  if (multipleOf !== undefined) out.step = multipleOf;
  else if (out.integer) out.step = 1;
  return out;
}

function literalValues(schema: z.core.$ZodType): Primitive[] {
  const values = (schema._zod as { values?: Set<Primitive> }).values;
  return values ? [...values] : [];
}

function enumOptions(schema: z.core.$ZodType, meta: FormFieldMeta): EnumDescriptor['options'] {
  return literalValues(schema).map((value) => ({
    value,
    label: meta.optionLabels?.[String(value)] ?? String(value),
  }));
}

function describeUnion(base: DescriptorBase, def: AnyDef): FieldDescriptor {
  const options = (def.options as z.core.$ZodType[]) ?? [];
  // A secret value or a reference to one (resource-type.ts `secretValue`): edited as the secret
  // string it is, with a picker for the reference.
  const literal = options.filter((option) => option !== secretKeyRefSchema);
  if (options.length === 2 && literal.length === 1 && literal[0]) {
    const text = describeSchema(literal[0]);
    if (text.kind === 'string') {
      return {
        ...text,
        source: base.source,
        optional: base.optional,
        nullable: base.nullable,
        hasDefault: base.hasDefault,
        defaultValue: base.defaultValue,
        meta: { ...text.meta, ...base.meta },
        secret: true,
        secretRefs: true,
      };
    }
  }
  const discriminator = def.discriminator;
  if (typeof discriminator === 'string') {
    return {
      ...base,
      kind: 'union',
      discriminator,
      variants: memo(() => unionVariants(options, discriminator)),
    };
  }
  // A union of literals/enums is just an enum; anything else is edited as JSON.
  const values: Primitive[] = [];
  for (const option of options) {
    const inner = unwrap(option).schema;
    const type = defOf(inner).type;
    if (type !== 'literal' && type !== 'enum') return { ...base, kind: 'json' };
    values.push(...literalValues(inner));
  }
  return {
    ...base,
    kind: 'enum',
    options: values.map((value) => ({
      value,
      label: base.meta.optionLabels?.[String(value)] ?? String(value),
    })),
  };
}

function unionVariants(options: z.core.$ZodType[], discriminator: string): UnionVariant[] {
  const variants: UnionVariant[] = [];
  for (const option of options) {
    const described = describeSchema(option);
    if (described.kind === 'object') {
      const discField = described.fields().find(([key]) => key === discriminator)?.[1];
      const values = discField?.kind === 'enum' ? discField.options.map((o) => o.value) : [];
      for (const value of values) {
        variants.push({ value, label: described.meta.label ?? String(value), object: described });
      }
    } else if (described.kind === 'union' && described.discriminator === discriminator) {
      variants.push(...described.variants());
    }
  }
  return variants;
}

/** The variant a value selects (by its discriminator, compared as text), or undefined. */
export function variantFor(desc: UnionDescriptor, value: unknown): UnionVariant | undefined {
  if (!isPlainObject(value)) return undefined;
  const chosen = value[desc.discriminator];
  if (chosen === undefined) return undefined;
  return desc.variants().find((variant) => String(variant.value) === String(chosen));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof StoredSecret)
  );
}

/** Sets an own property even for keys like `__proto__` that plain assignment would not create. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/**
 * A secret that is already stored, in a draft (what a form shows). `from` is the JSON pointer it
 * was stored at (rows may have moved since); `replacement` is what the user typed over it, if
 * anything. The renderer never writes either value into HTML: it shows "set — replace".
 */
export class StoredSecret {
  constructor(
    readonly from: string,
    readonly replacement?: string,
  ) {}
}

/**
 * Replaces every stored secret in `values` by a StoredSecret marker, for rendering an edit form from
 * stored settings: the form then shows "set — replace" and posts back where each secret came from.
 */
export function maskSecrets(schema: z.core.$ZodType, values: unknown): unknown {
  return mask(describeSchema(schema), values, []);
}

function mask(desc: FieldDescriptor, value: unknown, path: PathSegment[]): unknown {
  if (value === undefined || value === null) return value;
  switch (desc.kind) {
    case 'string':
      return desc.secret && typeof value === 'string' && value !== ''
        ? new StoredSecret(toJsonPointer(path))
        : value;
    case 'object': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = {};
      const fields = new Map(desc.fields());
      for (const [key, child] of Object.entries(value)) {
        const childDesc = fields.get(key);
        setOwn(out, key, childDesc ? mask(childDesc, child, [...path, key]) : child);
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.map((item, i) => mask(desc.element(), item, [...path, i])) : value;
    case 'record': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value))
        setOwn(out, key, mask(desc.value(), child, [...path, key]));
      return out;
    }
    case 'union': {
      const variant = variantFor(desc, value);
      return variant ? mask(variant.object, value, path) : value;
    }
    default:
      return value;
  }
}

/** JSON pointers of the secrets stored in `values` (for a `secretsSet` render option). */
export function storedSecretPointers(schema: z.core.$ZodType, values: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (value: unknown) => {
    if (value instanceof StoredSecret) out.add(value.from);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (isPlainObject(value)) Object.values(value).forEach(visit);
  };
  visit(maskSecrets(schema, values));
  return out;
}

/**
 * The stored secret at `from`, if `from` names a secret field of the same shape as the field that
 * asks (same keys, any row): a browser can move a secret to another row of the same list, which it
 * could do anyway by editing that row, but never into another field, say a webhook header.
 */
function storedSecretAt(
  root: FieldDescriptor,
  stored: unknown,
  from: string,
  shape: string,
): string | undefined {
  const segments = parseJsonPointer(from);
  if (!segments) return undefined;
  let desc: FieldDescriptor = root;
  let value = stored;
  const walked: string[] = [];
  for (const segment of segments) {
    if (desc.kind === 'union') {
      const variant = variantFor(desc, value);
      if (!variant) return undefined;
      desc = variant.object;
    }
    if (desc.kind === 'object') {
      const child = desc.fields().find(([key]) => key === segment)?.[1];
      if (!child || !isPlainObject(value) || !Object.hasOwn(value, segment)) return undefined;
      desc = child;
      value = value[segment];
      walked.push(segment);
    } else if (desc.kind === 'array') {
      if (!/^(0|[1-9][0-9]*)$/.test(segment) || !Array.isArray(value)) return undefined;
      desc = desc.element();
      value = value[Number(segment)];
      walked.push('*');
    } else if (desc.kind === 'record') {
      if (!isPlainObject(value) || !Object.hasOwn(value, segment)) return undefined;
      desc = desc.value();
      value = value[segment];
      walked.push('*');
    } else {
      return undefined;
    }
  }
  if (desc.kind !== 'string' || !desc.secret || typeof value !== 'string') return undefined;
  return walked.join('/') === shape ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Parsing posted fields
// ---------------------------------------------------------------------------------------------

/** What Hono's `c.req.parseBody({ all: true })` gives: one value or several per name. */
export type FlatFields = Record<string, string | File | Array<string | File>>;

interface RawNode {
  values?: string[];
  children?: Map<string, RawNode>;
  markers?: Map<string, string[]>;
}

function child(node: RawNode | undefined, key: PathSegment): RawNode | undefined {
  return node?.children?.get(String(key));
}

function ensureChild(node: RawNode, key: PathSegment): RawNode {
  node.children ??= new Map();
  let next = node.children.get(String(key));
  if (!next) {
    next = {};
    node.children.set(String(key), next);
  }
  return next;
}

function lastValue(node: RawNode | undefined): string | undefined {
  const values = node?.values;
  return values && values.length > 0 ? values[values.length - 1] : undefined;
}

function rowKeys(node: RawNode | undefined): string[] {
  if (!node?.children) return [];
  return [...node.children.keys()]
    .filter((key) => /^(0|[1-9][0-9]*)$/.test(key))
    .sort((a, b) => Number(a) - Number(b));
}

function buildRawTree(fields: FlatFields, prefix: PathSegment[]): RawNode {
  const root: RawNode = {};
  for (const [name, posted] of Object.entries(fields)) {
    if (name === OPERATION_FIELD || name === VALIDATE_FIELD) continue;
    const parsed = parseFieldName(name);
    if (!parsed) continue;
    if (parsed.path.length < prefix.length) continue;
    if (!prefix.every((segment, i) => String(parsed.path[i]) === String(segment))) continue;
    const strings = (Array.isArray(posted) ? posted : [posted]).filter(
      (v): v is string => typeof v === 'string',
    );
    if (strings.length === 0) continue;
    let node = root;
    for (const segment of parsed.path.slice(prefix.length)) node = ensureChild(node, segment);
    if (parsed.marker) {
      node.markers ??= new Map();
      node.markers.set(parsed.marker, [...(node.markers.get(parsed.marker) ?? []), ...strings]);
    } else {
      node.values = [...(node.values ?? []), ...strings];
    }
  }
  return root;
}

/** An empty input: null where null is allowed and absent would not mean "nothing" (a default would apply). */
function emptyValue(desc: FieldDescriptor): null | undefined {
  return desc.nullable && (!desc.optional || desc.hasDefault) ? null : undefined;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function coerceJson(desc: FieldDescriptor, node: RawNode | undefined): unknown {
  const raw = lastValue(node);
  if (raw === undefined) return undefined;
  if (raw.trim() === '') return emptyValue(desc);
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function coerce(desc: FieldDescriptor, node: RawNode | undefined, depth: number): unknown {
  if (depth > MAX_FORM_DEPTH) return coerceJson(desc, node);
  switch (desc.kind) {
    case 'string': {
      const raw = lastValue(node);
      if (desc.secret) return coerceSecret(desc, node, raw);
      if (raw === undefined || raw === '') return raw === '' ? emptyValue(desc) : undefined;
      return desc.multiline ? raw.replaceAll('\r\n', '\n') : raw;
    }
    case 'number': {
      const raw = lastValue(node);
      if (raw === undefined) return undefined;
      const text = raw.trim();
      if (text === '') return emptyValue(desc);
      return NUMBER_TEXT.test(text) ? Number(text) : raw;
    }
    case 'bigint': {
      const raw = lastValue(node);
      if (raw === undefined) return undefined;
      const text = raw.trim();
      if (text === '') return emptyValue(desc);
      return /^[+-]?\d{1,4000}$/.test(text) ? BigInt(text) : raw;
    }
    case 'boolean': {
      const raw = lastValue(node);
      if (raw === undefined) return undefined;
      if (raw === 'true' || raw === 'on') return true;
      if (raw === 'false') return false;
      return raw === '' ? emptyValue(desc) : raw;
    }
    case 'enum': {
      const raw = lastValue(node);
      if (raw === undefined) return undefined;
      const match = desc.options.find((option) => String(option.value) === raw);
      if (match && !(raw === '' && match.value === undefined)) return match.value;
      return raw === '' ? emptyValue(desc) : raw;
    }
    case 'json':
      return coerceJson(desc, node);
    case 'object': {
      if (!node) return undefined;
      const out: Record<string, unknown> = {};
      for (const [key, field] of desc.fields()) {
        const value = coerce(field, child(node, key), depth + 1);
        if (value !== undefined) setOwn(out, key, value);
      }
      if (Object.keys(out).length === 0 && desc.optional && !desc.hasDefault) return undefined;
      return out;
    }
    case 'array': {
      if (!node) return undefined;
      const element = desc.element();
      const rows = rowKeys(node).map((key) => coerce(element, child(node, key), depth + 1));
      if (rows.length === 0 && desc.optional && !desc.hasDefault) return undefined;
      return rows;
    }
    case 'record': {
      if (!node) return undefined;
      const out: Record<string, unknown> = {};
      for (const key of rowKeys(node)) {
        const row = child(node, key);
        setOwn(out, lastValue(child(row, 'key')) ?? '', coerce(desc.value(), child(row, 'value'), depth + 1));
      }
      if (Object.keys(out).length === 0 && desc.optional && !desc.hasDefault) return undefined;
      return out;
    }
    case 'union': {
      if (!node) return undefined;
      const chosen = lastValue(child(node, desc.discriminator));
      if (chosen === undefined || chosen === '') {
        return desc.optional || desc.nullable ? emptyValue(desc) : {};
      }
      const variant = desc.variants().find((v) => String(v.value) === chosen);
      if (!variant) return { [desc.discriminator]: chosen };
      return coerce(variant.object, node, depth);
    }
  }
}

function coerceSecret(desc: StringDescriptor, node: RawNode | undefined, raw: string | undefined): unknown {
  const ref = desc.secretRefs ? node?.markers?.get('ref')?.at(-1) : undefined;
  if (ref) {
    const slash = ref.indexOf('/');
    // Malformed picks are passed on as they are, for the schema to refuse.
    return slash > 0 ? secretKeyRef(ref.slice(0, slash), ref.slice(slash + 1)) : ref;
  }
  const from = node?.markers?.get('stored')?.at(-1);
  const cleared = node?.markers?.get('clear')?.at(-1) === 'true';
  const typed = raw === undefined || raw === '' ? undefined : raw;
  if (from?.startsWith('/') && !cleared) return new StoredSecret(from, typed);
  if (typed !== undefined) return typed;
  return raw === '' ? emptyValue(desc) : undefined;
}

/**
 * The values a draft carries into the schema: stored secrets merged in (an empty secret input keeps
 * the stored one, a typed one replaces it), blank rows of lists of plain values and blank record rows
 * dropped. Everything else is left as the browser sent it, for the schema to judge.
 */
export function resolveDraft(schema: z.core.$ZodType, draft: unknown, stored?: unknown): unknown {
  return resolveDraftWithErrors(schema, draft, stored).value;
}

/** resolveDraft, and the stored secrets it refused to keep because where they go changed. */
export function resolveDraftWithErrors(
  schema: z.core.$ZodType,
  draft: unknown,
  stored?: unknown,
): { value: unknown; errors: FieldError[] } {
  const root = describeSchema(schema);
  const errors: FieldError[] = [];
  const value = finalize(root, draft, { root, stored, draft, errors }, [], []);
  return { value, errors };
}

interface FinalizeContext {
  root: FieldDescriptor;
  stored: unknown;
  draft: unknown;
  errors: FieldError[];
}

function finalize(
  desc: FieldDescriptor,
  value: unknown,
  ctx: FinalizeContext,
  shape: string[],
  path: PathSegment[],
): unknown {
  if (value instanceof StoredSecret) {
    if (desc.kind !== 'string' || !desc.secret) return undefined;
    if (value.replacement !== undefined) return value.replacement;
    const kept = storedSecretAt(ctx.root, ctx.stored, value.from, shape.join('/'));
    const from = parseJsonPointer(value.from);
    if (kept !== undefined && from && desc.meta.boundTo?.length) {
      const changed = changedBoundFields(
        desc.meta.boundTo,
        (p) => boundValueAt(ctx.stored, from, p),
        (p) => boundValueAt(ctx.draft, path, p),
      );
      if (changed.length > 0) {
        ctx.errors.push({ pointer: toJsonPointer(path), message: reenterSecretMessage(changed) });
        return undefined;
      }
    }
    return kept;
  }
  switch (desc.kind) {
    case 'object': {
      if (!isPlainObject(value)) return value;
      const fields = new Map(desc.fields());
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value)) {
        const field = fields.get(key);
        const next = field ? finalize(field, child, ctx, [...shape, key], [...path, key]) : child;
        if (next !== undefined) setOwn(out, key, next);
      }
      return out;
    }
    case 'array': {
      if (!Array.isArray(value)) return value;
      return value
        .map((item, i) => finalize(desc.element(), item, ctx, [...shape, '*'], [...path, i]))
        .filter((item) => item !== undefined);
    }
    case 'record': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value)) {
        const next = finalize(desc.value(), child, ctx, [...shape, '*'], [...path, key]);
        if (key === '' && next === undefined) continue;
        setOwn(out, key, next);
      }
      return out;
    }
    case 'union': {
      const variant = variantFor(desc, value);
      return variant ? finalize(variant.object, value, ctx, shape, path) : value;
    }
    default:
      return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Row and variant operations
// ---------------------------------------------------------------------------------------------

export type FormOperationKind = 'add' | 'remove' | 'up' | 'down' | 'refresh';

/** Where focus goes after an operation: an element id, or the first input inside a field name. */
export type FormFocus = { id: string } | { within: string };

export interface FormOperation {
  kind: FormOperationKind;
  /** The field name (with prefix) of the container to render back: the list, or the union. */
  target: string;
  focus?: FormFocus;
}

/** The `__op` value of a row button or variant choice. */
export function operationValue(kind: FormOperationKind, name: string): string {
  return `${kind}:${name}`;
}

interface Located {
  desc: FieldDescriptor;
  /** The raw node of the located field (created when `create` is set). */
  node: RawNode | undefined;
}

/** Walks a form path through the schema and the raw tree: records step through `[i].key|value`. */
function locateRaw(
  root: FieldDescriptor,
  tree: RawNode,
  path: PathSegment[],
  create: boolean,
): Located | null {
  let desc: FieldDescriptor = root;
  let node: RawNode | undefined = tree;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as PathSegment;
    if (desc.kind === 'union') {
      const chosen = lastValue(child(node, desc.discriminator));
      const variant = desc.variants().find((v) => String(v.value) === chosen);
      if (!variant) return null;
      desc = variant.object;
    }
    if (desc.kind === 'object' && typeof segment === 'string') {
      const field = desc.fields().find(([key]) => key === segment)?.[1];
      if (!field) return null;
      desc = field;
    } else if (desc.kind === 'array' && typeof segment === 'number') {
      desc = desc.element();
    } else if (desc.kind === 'record' && typeof segment === 'number') {
      // A record row is not a field by itself: only its key and value are.
      const part = path[i + 1];
      if (part !== 'key' && part !== 'value') return null;
      node = create && node ? ensureChild(node, segment) : child(node, segment);
      desc = part === 'key' ? desc.key() : desc.value();
      i += 1;
      node = create && node ? ensureChild(node, part) : child(node, part);
      continue;
    } else {
      return null;
    }
    node = create && node ? ensureChild(node, segment) : child(node, segment);
  }
  return { desc, node };
}

function applyOperation(
  root: FieldDescriptor,
  tree: RawNode,
  op: string,
  prefix: PathSegment[],
): FormOperation {
  const rootName = formatFieldName(prefix);
  const refreshAll: FormOperation = { kind: 'refresh', target: rootName };
  const colon = op.indexOf(':');
  const kind = op.slice(0, colon) as FormOperationKind;
  const parsed = parseFieldName(op.slice(colon + 1));
  if (colon === -1 || !parsed || parsed.marker) return refreshAll;
  if (!prefix.every((segment, i) => String(parsed.path[i]) === String(segment))) return refreshAll;
  const path = parsed.path.slice(prefix.length);
  const nameOf = (p: PathSegment[]) => formatFieldName([...prefix, ...p]);

  if (kind === 'refresh') {
    return locateRaw(root, tree, path, false) ? { kind, target: nameOf(path) } : refreshAll;
  }
  if (kind === 'add') {
    // Check the path names a list or record before creating anything on the way to it.
    const kindAt = locateRaw(root, tree, path, false)?.desc.kind;
    if (kindAt !== 'array' && kindAt !== 'record') return refreshAll;
    const located = locateRaw(root, tree, path, true);
    if (!located?.node) return refreshAll;
    const rows = rowKeys(located.node);
    const next = rows.length === 0 ? 0 : Number(rows[rows.length - 1]) + 1;
    ensureChild(located.node, next);
    return { kind, target: nameOf(path), focus: { within: nameOf([...path, rows.length]) } };
  }
  // remove / up / down name a row: the list is its parent.
  const index = path[path.length - 1];
  const listPath = path.slice(0, -1);
  if (typeof index !== 'number' || !['remove', 'up', 'down'].includes(kind)) return refreshAll;
  const located = locateRaw(root, tree, listPath, false);
  const list = located?.node;
  const isList = located?.desc.kind === 'array' || (located?.desc.kind === 'record' && kind === 'remove');
  if (!list || !isList) return refreshAll;
  const rows = rowKeys(list);
  const position = rows.indexOf(String(index));
  const target = nameOf(listPath);
  if (position === -1) return { kind: 'refresh', target };
  const rowId = (p: number) => fieldId(nameOf([...listPath, p]));
  if (kind === 'remove') {
    list.children?.delete(String(index));
    const left = rows.length - 1;
    const focus =
      left === 0 ? { id: `${fieldId(target)}-add` } : { id: `${rowId(Math.min(position, left - 1))}-remove` };
    return { kind, target, focus };
  }
  const other = kind === 'up' ? position - 1 : position + 1;
  if (other < 0 || other >= rows.length) return { kind: 'refresh', target };
  const a = list.children?.get(String(index));
  const otherKey = rows[other] as string;
  const b = list.children?.get(otherKey);
  if (a && b) {
    list.children?.set(String(index), b);
    list.children?.set(otherKey, a);
  }
  // Keep focus on the same button of the moved row, or its other arrow at either end.
  const atEdge = kind === 'up' ? other === 0 : other === rows.length - 1;
  const button = atEdge ? (kind === 'up' ? 'down' : 'up') : kind;
  return { kind, target, focus: { id: `${rowId(other)}-${button}` } };
}

// ---------------------------------------------------------------------------------------------
// The entry points routes call
// ---------------------------------------------------------------------------------------------

export interface ReadFormOptions {
  /** The prefix the form's fields were rendered with (e.g. "settings"); other fields are ignored. */
  namePrefix?: string;
  /** The stored values (on edit), for secrets left empty ("keep the stored one"). */
  stored?: unknown;
}

export interface FormSubmission {
  /** What to render back (422, row operations, inline validation): secrets stay masked. */
  draft: unknown;
  /** What to validate with the schema: the draft with stored secrets merged in. */
  value: unknown;
  /** Stored secrets not kept because a field they are bound to changed (enter them again). */
  secretErrors: FieldError[];
  /** Set when the post was a row or variant operation (`__op`): re-render, never save. */
  operation?: FormOperation;
  /** Set when the post names a field to validate inline (`__field`). */
  field?: string;
}

/**
 * Reads a posted form against a schema. Never throws on what a browser sends; a malformed `__op`
 * still counts as an operation (refresh the whole form), so it can never turn into a save.
 */
export function readFormSubmission(
  schema: z.core.$ZodType,
  fields: FlatFields,
  options: ReadFormOptions = {},
): FormSubmission {
  const prefix = prefixPath(options.namePrefix);
  const root = describeSchema(schema);
  const tree = buildRawTree(fields, prefix);
  const op = firstString(fields[OPERATION_FIELD]);
  const operation = op === undefined ? undefined : applyOperation(root, tree, op.slice(0, 2000), prefix);
  const draft = coerce(root, tree, 0) ?? (root.kind === 'object' ? {} : undefined);
  const resolved = resolveDraftWithErrors(schema, draft, options.stored);
  const submission: FormSubmission = { draft, value: resolved.value, secretErrors: resolved.errors };
  if (operation) submission.operation = operation;
  const field = firstString(fields[VALIDATE_FIELD]);
  if (field !== undefined) submission.field = field.slice(0, 1000);
  return submission;
}

function firstString(value: FlatFields[string] | undefined): string | undefined {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const found = list.find((v): v is string => typeof v === 'string');
  return found;
}

/**
 * Posted form fields → the nested object to validate with the schema (the same schema a JSON body
 * goes through; a JSON body never passes through here). Shorthand for `readFormSubmission(…).value`.
 */
export function parseFormData(
  schema: z.core.$ZodType,
  fields: FlatFields,
  options: ReadFormOptions = {},
): unknown {
  return readFormSubmission(schema, fields, options).value;
}

/**
 * The errors of a submission: stored secrets that must be entered again, then the schema's issues
 * (except a "required" at the same field, which would only repeat it).
 */
export function submissionErrors(
  schema: z.core.$ZodType,
  submission: Pick<FormSubmission, 'value' | 'secretErrors'>,
): FieldError[] {
  const refused = new Set(submission.secretErrors.map((error) => error.pointer));
  return [
    ...submission.secretErrors,
    ...schemaErrors(schema, submission.value).filter((error) => !refused.has(error.pointer)),
  ];
}

/** Every issue of a failed parse, as JSON-pointer field errors (the shape problem+json carries). */
export function schemaErrors(schema: z.core.$ZodType, value: unknown): FieldError[] {
  const result = z.safeParse(schema, value);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({ pointer: toJsonPointer(issue.path), message: issue.message }));
}

/**
 * The JSON pointer of a field name in a draft (records: `env[2].key` and `env[2].value` are both
 * `/env/<the key of row 2>`), or undefined when the name is not a field of the schema.
 */
export function pointerForField(
  schema: z.core.$ZodType,
  name: string,
  draft: unknown,
  options: { namePrefix?: string } = {},
): string | undefined {
  const prefix = prefixPath(options.namePrefix);
  const parsed = parseFieldName(name);
  if (!parsed || parsed.marker) return undefined;
  if (!prefix.every((segment, i) => String(parsed.path[i]) === String(segment))) return undefined;
  const path = parsed.path.slice(prefix.length);
  let desc: FieldDescriptor = describeSchema(schema);
  let value = draft;
  const dataPath: PathSegment[] = [];
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as PathSegment;
    if (desc.kind === 'union') {
      if (segment === desc.discriminator) {
        dataPath.push(segment);
        return i === path.length - 1 ? toJsonPointer(dataPath) : undefined;
      }
      const variant = variantFor(desc, value);
      if (!variant) return undefined;
      desc = variant.object;
    }
    if (desc.kind === 'object' && typeof segment === 'string') {
      const field = desc.fields().find(([key]) => key === segment)?.[1];
      if (!field) return undefined;
      desc = field;
      value = isPlainObject(value) ? value[segment] : undefined;
      dataPath.push(segment);
    } else if (desc.kind === 'array' && typeof segment === 'number') {
      desc = desc.element();
      value = Array.isArray(value) ? value[segment] : undefined;
      dataPath.push(segment);
    } else if (desc.kind === 'record' && typeof segment === 'number') {
      const entries = isPlainObject(value) ? Object.entries(value) : [];
      const entry = entries[segment];
      const part = path[i + 1];
      if (!entry || (part !== 'key' && part !== 'value')) return undefined;
      dataPath.push(entry[0]);
      if (part === 'key') return i + 1 === path.length - 1 ? toJsonPointer(dataPath) : undefined;
      desc = desc.value();
      value = entry[1];
      i += 1;
    } else {
      return undefined;
    }
  }
  return toJsonPointer(dataPath);
}

/**
 * Inline validation: the errors of ONE field. Validates the whole submission (cross-field rules
 * such as "the route's sink must exist" need the rest of the form) and keeps only the issues at
 * that field's pointer. A route answers a debounced `…/validate` post with it, see
 * src/views/forms/schema-form.tsx (`renderSchemaField`).
 */
export function validateField(
  schema: z.core.$ZodType,
  submission: Pick<FormSubmission, 'draft' | 'value'> & Partial<Pick<FormSubmission, 'secretErrors'>>,
  name: string,
  options: { namePrefix?: string } = {},
): FieldError[] {
  const pointer = pointerForField(schema, name, submission.draft, options);
  if (pointer === undefined) return [];
  return submissionErrors(schema, {
    value: submission.value,
    secretErrors: submission.secretErrors ?? [],
  }).filter((error) => error.pointer === pointer);
}
