import type { IncomingMessage, ServerResponse } from 'node:http';
import Stripe from 'stripe';
import type { Faults } from './faults.ts';
import { faultError } from './faults.ts';
import type { IdempotencyKeys, SavedAnswer } from './idempotency.ts';
import type { Store } from './store.ts';
import { newId } from './store.ts';
import type { FormObject, Includable } from './wire.ts';
import { decodeForm, expandJson, ParamReader, StripeApiError, toJson } from './wire.ts';

/**
 * The `/v1` API: routing, `Authorization: Bearer sk_…`, injected faults, `Idempotency-Key`,
 * `expand[]`, and answers in Stripe's JSON and error shapes. Handlers are synchronous functions
 * of the store, so one request's changes (and the events they emit) never interleave with
 * another's.
 */

export interface ApiRequest {
  method: string;
  path: string;
  /** The body for POST, the query string for GET and DELETE (as the Stripe client sends them). */
  params: ParamReader;
  pathParams: Record<string, string>;
  requestId: string;
  idempotencyKey: string | null;
}

/** Answers the Stripe object for the request (typed with the `stripe` package's own types). */
export type ApiHandler = (request: ApiRequest) => object;

interface Route {
  method: string;
  segments: string[];
  handler: ApiHandler;
}

export class ApiRouter {
  private readonly routes: Route[] = [];

  add(method: 'GET' | 'POST' | 'DELETE', pattern: string, handler: ApiHandler): void {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
  }

  find(
    method: string,
    path: string,
  ): { handler: ApiHandler; pathParams: Record<string, string> } | undefined {
    const parts = path.split('/').filter(Boolean);
    // Literal segments win over parameters (`/v1/invoices/create_preview` before `/v1/invoices/:id`).
    const candidates = this.routes
      .filter((route) => route.method === method && route.segments.length === parts.length)
      .map((route) => {
        const pathParams: Record<string, string> = {};
        let literals = 0;
        for (let i = 0; i < parts.length; i++) {
          const segment = route.segments[i] ?? '';
          const part = parts[i] ?? '';
          if (segment.startsWith(':')) pathParams[segment.slice(1)] = decodeURIComponent(part);
          else if (segment === part) literals += 1;
          else return undefined;
        }
        return { handler: route.handler, pathParams, literals };
      })
      .filter((match) => match !== undefined)
      .sort((a, b) => b.literals - a.literals);
    return candidates[0];
  }
}

/** One line of the request log the control API exposes (what the client really sent and got). */
export interface RequestLogEntry {
  id: string;
  method: string;
  path: string;
  status: number;
  idempotencyKey: string | null;
  replayed: boolean;
  fault: string | null;
  at: number;
}

export interface ApiContext {
  store: Store;
  router: ApiRouter;
  faults: Faults;
  idempotency: IdempotencyKeys;
  secretKey: string;
  includable: Includable;
  requestLog: RequestLogEntry[];
  /** Called after every API request (the development script prints them). */
  onRequest?: (entry: RequestLogEntry) => void;
}

const REQUEST_LOG_LIMIT = 2000;

export async function handleApiRequest(
  context: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const requestId = newId('req', 14);
  const idempotencyKey = method === 'POST' ? headerValue(req, 'idempotency-key') : null;
  const baseHeaders: Record<string, string> = {
    'Request-Id': requestId,
    'Stripe-Version': headerValue(req, 'stripe-version') ?? Stripe.API_VERSION,
    'Cache-Control': 'no-cache, no-store',
    ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
  };
  const log = (status: number, replayed: boolean, fault: string | null) => {
    const entry: RequestLogEntry = {
      id: requestId,
      method,
      path,
      status,
      idempotencyKey,
      replayed,
      fault,
      at: context.store.now(),
    };
    context.requestLog.push(entry);
    if (context.requestLog.length > REQUEST_LOG_LIMIT) context.requestLog.shift();
    context.onRequest?.(entry);
  };
  const sendError = (error: StripeApiError, fault: string | null = null) => {
    writeJson(res, error.status, { error: error.body }, { ...baseHeaders, ...error.headers });
    log(error.status, false, fault);
  };

  const body = method === 'POST' ? await readBody(req) : '';
  const authError = authenticate(req, context.secretKey);
  if (authError) return sendError(authError);

  const before = context.faults.take(method, path, 'before');
  if (before) {
    if (before.delayMs > 0) await sleep(before.delayMs);
    if (before.status !== null) return sendError(faultError(before), before.id);
  }

  const route = context.router.find(method, path);
  if (!route) {
    return sendError(
      new StripeApiError(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      }),
    );
  }

  let values: FormObject;
  try {
    values = method === 'POST' ? decodeBody(req, body) : decodeForm(url.search.slice(1));
  } catch (error) {
    return sendError(error as StripeApiError);
  }
  const endpoint = `${method} ${path}`;
  if (idempotencyKey) {
    const outcome = context.idempotency.begin(idempotencyKey, endpoint, values, context.store.now());
    if (outcome.kind === 'reject') return sendError(outcome.error);
    if (outcome.kind === 'replay') {
      const { answer } = outcome;
      writeRaw(res, answer.status, answer.body, {
        ...answer.headers,
        ...baseHeaders,
        'Original-Request': answer.headers['Request-Id'] ?? '',
        'Idempotent-Replayed': 'true',
      });
      log(answer.status, true, null);
      return;
    }
  }

  let answer: SavedAnswer;
  let keep = true;
  try {
    const params = new ParamReader(values);
    const request: ApiRequest = {
      method,
      path,
      params,
      pathParams: route.pathParams,
      requestId,
      idempotencyKey,
    };
    const json = context.store.withRequest({ id: requestId, idempotency_key: idempotencyKey }, () => {
      const result = toJson(route.handler(request));
      expandJson(
        result,
        params.strings('expand'),
        (id) => {
          const found = context.store.lookup(id);
          return found ? toJson(found) : undefined;
        },
        context.includable,
      );
      return result;
    });
    answer = { status: 200, body: JSON.stringify(json, null, 2), headers: { ...baseHeaders } };
  } catch (error) {
    if (!(error instanceof StripeApiError)) {
      console.error('stripe-local: handler failed', error);
    }
    const apiError =
      error instanceof StripeApiError
        ? error
        : new StripeApiError(500, { type: 'api_error', message: 'An unknown error occurred' });
    keep = !apiError.isValidationError;
    answer = {
      status: apiError.status,
      body: JSON.stringify({ error: apiError.body }, null, 2),
      headers: { ...baseHeaders, ...apiError.headers },
    };
  }
  if (idempotencyKey) context.idempotency.finish(idempotencyKey, keep ? answer : null);

  const after = context.faults.take(method, path, 'after');
  if (after) {
    if (after.delayMs > 0) await sleep(after.delayMs);
    if (after.status !== null) return sendError(faultError(after), after.id);
  }
  writeRaw(res, answer.status, answer.body, answer.headers);
  log(answer.status, false, null);
}

function authenticate(req: IncomingMessage, secretKey: string): StripeApiError | null {
  const header = headerValue(req, 'authorization');
  let key: string | null = null;
  if (header?.startsWith('Bearer ')) key = header.slice('Bearer '.length).trim();
  else if (header?.startsWith('Basic ')) {
    // `curl -u sk_test_…:` sends the key as a Basic user name; Stripe accepts that too.
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    key = decoded.split(':')[0] ?? '';
  }
  if (!key) {
    return new StripeApiError(401, {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  if (key !== secretKey) {
    const masked = key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}` : key;
    return new StripeApiError(401, {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${masked}`,
    });
  }
  return null;
}

function decodeBody(req: IncomingMessage, body: string): FormObject {
  const type = headerValue(req, 'content-type') ?? 'application/x-www-form-urlencoded';
  if (body && !type.startsWith('application/x-www-form-urlencoded')) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      message: `Invalid request: unsupported Content-Type ${type}. If error persists and you need assistance, please contact support@stripe.com.`,
    });
  }
  return decodeForm(body);
}

export function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  writeRaw(res, status, JSON.stringify(body, null, 2), headers);
}

function writeRaw(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
  res.end(body);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
