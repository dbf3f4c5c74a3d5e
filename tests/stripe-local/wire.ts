import type Stripe from 'stripe';

/**
 * Stripe's v1 wire format: form-encoded parameters with bracketed nesting on the way in
 * (`metadata[plan]=x`, `line_items[0][price]=p`, `expand[]=customer`), JSON with `object` fields
 * on the way out, and one error shape for everything that fails.
 */

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Keys under these parameters are user data: `metadata[0]=x` is a key "0", never an array index. */
const FREE_FORM_KEYS = new Set(['metadata', 'payload']);

/**
 * Decodes `application/x-www-form-urlencoded` (or a query string) the way Stripe does: brackets
 * nest, numeric or empty brackets make arrays, the last of repeated scalar keys wins.
 */
export function decodeForm(input: string): FormObject {
  const root: FormObject = {};
  if (!input) return root;
  for (const pair of input.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = decodeComponent(rawKey);
    const value = decodeComponent(rawValue);
    const segments = splitKey(key);
    if (!segments) continue;
    assign(root, segments, value);
  }
  return normalise(root, '') as FormObject;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function splitKey(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open === -1) return key ? [key] : null;
  const head = key.slice(0, open);
  if (!head) return null;
  const segments = [head];
  const rest = key.slice(open);
  const pattern = /\[([^\]]*)\]/g;
  let consumed = 0;
  for (const match of rest.matchAll(pattern)) {
    if (match.index !== consumed) break;
    segments.push(match[1] ?? '');
    consumed += match[0].length;
  }
  // Anything after the last well-formed bracket is kept literally on the last segment.
  if (consumed < rest.length) segments[segments.length - 1] += rest.slice(consumed);
  return segments;
}

/** Tracks how many `[]` pushes a node received, so `a[]=x&a[]=y` gets indexes 0 and 1. */
const pushCounts = new WeakMap<object, number>();

function assign(node: FormObject, segments: string[], value: string): void {
  let current: FormObject = node;
  for (let i = 0; i < segments.length; i++) {
    let segment = segments[i] ?? '';
    if (segment === '') {
      const next = pushCounts.get(current) ?? Object.keys(current).length;
      pushCounts.set(current, next + 1);
      segment = String(next);
    }
    if (i === segments.length - 1) {
      current[segment] = value;
      return;
    }
    const existing = current[segment];
    if (existing === undefined || typeof existing === 'string' || Array.isArray(existing)) {
      const child: FormObject = {};
      current[segment] = child;
      current = child;
    } else {
      current = existing;
    }
  }
}

function normalise(value: FormValue, key: string): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const entries = keys.map((k) => [k, normalise(value[k] as FormValue, k)] as const);
  const isArray =
    !FREE_FORM_KEYS.has(key) && keys.length > 0 && keys.every((k) => /^(0|[1-9][0-9]*)$/.test(k));
  if (isArray) {
    return entries.sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v);
  }
  return Object.fromEntries(entries);
}

/** The body of every error answer: `{ error: { type, code?, message, param?, … } }`. */
export interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
}

/** An error answer with its HTTP status and any extra headers (e.g. `Stripe-Should-Retry`). */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }

  /** True when Stripe would not store this answer under an idempotency key (validation failed). */
  get isValidationError(): boolean {
    return this.status === 400 && this.body.type === 'invalid_request_error';
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError(400, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code } : {}),
    ...(param ? { param } : {}),
  });
}

/** `No such customer: 'cus_x'` — Stripe's 404 for an id that does not exist. */
export function resourceMissing(kind: string, id: string, param = 'id'): StripeApiError {
  return new StripeApiError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${kind}: '${id}'`,
    param,
    doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
  });
}

/** A parameter Stripe accepts but this server does not implement: fail loudly, never ignore. */
export function unsupported(param: string, detail = ''): StripeApiError {
  return invalidRequest(
    `stripe-local does not support the parameter ${param}${detail ? ` (${detail})` : ''}.`,
    param,
  );
}

/**
 * Typed access to decoded parameters, with Stripe's error messages for missing, malformed and
 * unknown ones. `prefix` is the bracketed path of a nested object, used in error `param`s.
 */
export class ParamReader {
  constructor(
    readonly values: FormObject,
    readonly prefix = '',
  ) {}

  path(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  /** Rejects any key not in `known` the way Stripe does (`Received unknown parameter: x`). */
  allow(known: readonly string[]): this {
    for (const key of Object.keys(this.values)) {
      // `expand` is accepted by every endpoint; the router applies it to the answer.
      if (!known.includes(key) && !(key === 'expand' && this.prefix === '')) {
        throw invalidRequest(
          `Received unknown parameter: ${this.path(key)}`,
          this.path(key),
          'parameter_unknown',
        );
      }
    }
    return this;
  }

  /** Rejects keys Stripe knows but this server does not implement, with a message saying so. */
  refuse(unsupportedKeys: readonly string[]): this {
    for (const key of unsupportedKeys) {
      if (this.has(key)) throw unsupported(this.path(key));
    }
    return this;
  }

  string(key: string): string | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${this.path(key)}`, this.path(key));
    return value;
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === undefined || value === '') throw missingParam(this.path(key));
    return value;
  }

  integer(key: string): number | undefined {
    const value = this.string(key);
    if (value === undefined || value === '') return undefined;
    if (!/^-?[0-9]+$/.test(value)) {
      throw invalidRequest(`Invalid integer: ${value}`, this.path(key), 'parameter_invalid_integer');
    }
    return Number.parseInt(value, 10);
  }

  requiredInteger(key: string): number {
    const value = this.integer(key);
    if (value === undefined) throw missingParam(this.path(key));
    return value;
  }

  decimal(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined || value === '') return undefined;
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value))
      throw invalidRequest(`Invalid decimal: ${value}`, this.path(key));
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.string(key);
    if (value === undefined || value === '') return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw invalidRequest(`Invalid boolean: ${value}`, this.path(key));
  }

  oneOf<T extends string>(key: string, choices: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined || value === '') return undefined;
    if (!(choices as readonly string[]).includes(value)) {
      throw invalidRequest(
        `Invalid ${this.path(key)}: must be one of ${formatChoices(choices)}`,
        this.path(key),
      );
    }
    return value as T;
  }

  object(key: string): ParamReader | undefined {
    const value = this.values[key];
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string' || Array.isArray(value)) {
      throw invalidRequest(`Invalid object: ${this.path(key)}`, this.path(key));
    }
    return new ParamReader(value, this.path(key));
  }

  /** An array of objects (`items[0][price]=…`). */
  objects(key: string): ParamReader[] {
    const value = this.values[key];
    if (value === undefined || value === '') return [];
    if (!Array.isArray(value)) throw invalidRequest(`Invalid array: ${this.path(key)}`, this.path(key));
    return value.map((entry, index) => {
      const path = `${this.path(key)}[${index}]`;
      if (typeof entry === 'string' || Array.isArray(entry))
        throw invalidRequest(`Invalid object: ${path}`, path);
      return new ParamReader(entry, path);
    });
  }

  /** An array of strings (`expand[]=a`, `expand[0]=a`, or a single `expand=a`). */
  strings(key: string): string[] {
    const value = this.values[key];
    if (value === undefined || value === '') return [];
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value)) throw invalidRequest(`Invalid array: ${this.path(key)}`, this.path(key));
    return value.map((entry, index) => {
      if (typeof entry !== 'string') throw invalidRequest(`Invalid string: ${this.path(key)}[${index}]`);
      return entry;
    });
  }

  /**
   * Metadata as Stripe treats it: `undefined` when absent, `null` when set to '' (clear all),
   * otherwise the keys to merge, where a key set to '' is removed.
   */
  metadata(key = 'metadata'): Record<string, string> | null | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (value === '') return null;
    if (typeof value === 'string' || Array.isArray(value)) {
      throw invalidRequest(`Invalid hash: ${this.path(key)}`, this.path(key));
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') throw invalidRequest(`Invalid metadata value: ${this.path(key)}[${k}]`);
      if (k.length > 40) throw invalidRequest(`Metadata keys can be at most 40 characters.`, this.path(key));
      if (v.length > 500)
        throw invalidRequest(`Metadata values can be at most 500 characters.`, this.path(key));
      out[k] = v;
    }
    return out;
  }

  /** A `created`-style filter: an exact timestamp or `{gt, gte, lt, lte}`. */
  range(key: string): ((value: number) => boolean) | undefined {
    const raw = this.values[key];
    if (raw === undefined || raw === '') return undefined;
    if (typeof raw === 'string') {
      const exact = this.requiredInteger(key);
      return (value) => value === exact;
    }
    const range = this.object(key);
    if (!range) return undefined;
    range.allow(['gt', 'gte', 'lt', 'lte']);
    const gt = range.integer('gt');
    const gte = range.integer('gte');
    const lt = range.integer('lt');
    const lte = range.integer('lte');
    return (value) =>
      (gt === undefined || value > gt) &&
      (gte === undefined || value >= gte) &&
      (lt === undefined || value < lt) &&
      (lte === undefined || value <= lte);
  }
}

export function missingParam(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
}

function formatChoices(choices: readonly string[]): string {
  if (choices.length <= 1) return choices.join('');
  return `${choices.slice(0, -1).join(', ')}, or ${choices[choices.length - 1]}`;
}

/** Applies a metadata update (see `ParamReader.metadata`) to existing metadata. */
export function mergeMetadata(
  current: Stripe.Metadata,
  update: Record<string, string> | null | undefined,
): Stripe.Metadata {
  if (update === undefined) return current;
  if (update === null) return {};
  const next: Stripe.Metadata = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === '') delete next[key];
    else next[key] = value;
  }
  return next;
}

/**
 * One page of a list, newest first, as Stripe pages: `limit` (1–100, default 10),
 * `starting_after` / `ending_before` by object id, `has_more` when more remain.
 */
export function listPage<T extends { id: string }>(
  items: readonly T[],
  params: ParamReader,
  url: string,
): Stripe.ApiList<T> {
  const limit = params.integer('limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest(
      'This value must be greater than or equal to 1 and less than or equal to 100.',
      'limit',
    );
  }
  const startingAfter = params.string('starting_after');
  const endingBefore = params.string('ending_before');
  if (startingAfter && endingBefore) {
    throw invalidRequest('You may only specify one of these parameters: starting_after, ending_before.');
  }
  let data: T[];
  let hasMore: boolean;
  if (startingAfter) {
    const index = items.findIndex((item) => item.id === startingAfter);
    if (index === -1)
      throw invalidRequest(`No such object: '${startingAfter}'`, 'starting_after', 'resource_missing');
    data = items.slice(index + 1, index + 1 + limit);
    hasMore = index + 1 + limit < items.length;
  } else if (endingBefore) {
    const index = items.findIndex((item) => item.id === endingBefore);
    if (index === -1)
      throw invalidRequest(`No such object: '${endingBefore}'`, 'ending_before', 'resource_missing');
    const start = Math.max(0, index - limit);
    data = items.slice(start, index);
    hasMore = start > 0;
  } else {
    data = items.slice(0, limit);
    hasMore = items.length > limit;
  }
  return { object: 'list', data, has_more: hasMore, url };
}

/** A plain JSON copy: what goes on the wire (Decimal fields become strings, as Stripe sends them). */
export function toJson<T>(value: T): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = { [key: string]: Json };

/** Fields a response leaves out unless `expand[]` asks for them (Stripe's "includable" fields). */
export type Includable = (object: JsonObject, field: string) => Json | undefined;
/** Looks an id up in the store and answers its JSON, or undefined. */
export type Resolver = (id: string) => JsonObject | undefined;

/**
 * Applies `expand[]` paths to a JSON response: an id at the path is replaced by its object,
 * `data.` walks into list objects, nested paths expand step by step (at most 4 levels, as
 * Stripe allows). Expanding a field that is already an object is a no-op; a field that does
 * not exist is Stripe's 400 "This property cannot be expanded".
 */
export function expandJson(
  root: JsonObject,
  paths: readonly string[],
  resolve: Resolver,
  include: Includable,
): void {
  for (const path of paths) {
    const segments = path.split('.');
    const depth = segments.filter((segment) => segment !== 'data').length;
    if (depth > 4) throw invalidRequest('You cannot expand more than 4 levels of a property.', 'expand');
    expandAt(root, segments, path, resolve, include);
  }
}

function expandAt(
  node: Json,
  segments: string[],
  fullPath: string,
  resolve: Resolver,
  include: Includable,
): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const entry of node) expandAt(entry, segments, fullPath, resolve, include);
    return;
  }
  const [head, ...rest] = segments;
  if (head === undefined) return;
  let value: Json | undefined = node[head];
  if (value === undefined) {
    value = include(node, head);
    if (value === undefined) {
      throw invalidRequest(`This property cannot be expanded (${fullPath}).`, 'expand');
    }
    node[head] = value;
  }
  if (typeof value === 'string') {
    const resolved = resolve(value);
    if (resolved) {
      node[head] = resolved;
      value = resolved;
    }
  }
  if (rest.length > 0) expandAt(value, rest, fullPath, resolve, include);
}
