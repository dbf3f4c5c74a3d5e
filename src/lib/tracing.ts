import { httpInstrumentationMiddleware } from '@hono/otel';
import {
  type Attributes,
  context,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Span as SdkSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { bufferedRandomBytes } from './crypto.ts';
import { scrubSecrets } from './logger.ts';

/**
 * OpenTelemetry for ktrlplane. The request side (middleware, ids for logs and error pages, traced
 * outgoing calls) only uses `@opentelemetry/api`, which is a no-op until an SDK is registered: on
 * Workers, and on Node with OTEL_SDK_DISABLED=true, it costs next to nothing. `startTracing`
 * registers the SDK on Node (server.ts, tests).
 */
export const TRACER_NAME = 'ktrlplane';
export const tracer = () => trace.getTracer(TRACER_NAME);

export interface TracingOptions {
  serviceName: string;
  serviceVersion?: string | undefined;
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`. */
  endpoint?: string | undefined;
  /** Another exporter (tests: InMemorySpanExporter). */
  exporter?: SpanExporter | undefined;
  /** Share of new traces recorded (OTEL_TRACES_SAMPLER_ARG); callers' sampled flags are kept. */
  sampleRatio?: number | undefined;
  /** Batch exports (production); false exports each span as it ends (tests). */
  batch?: boolean | undefined;
}

export interface TracingHandle {
  /** True when spans are recorded and exported somewhere. */
  exporting: boolean;
  forceFlush(): Promise<void>;
  /** Flushes, stops and unregisters the SDK (a later startTracing may register another). */
  shutdown(): Promise<void>;
}

/**
 * Registers the SDK: tracer provider, AsyncLocalStorage context manager (child spans join the
 * request span only with it) and the W3C trace-context propagator. Without an endpoint or exporter
 * nothing is recorded or exported, but every request still gets a trace id (for logs and error
 * pages) and callers' `traceparent` still flows to outgoing calls.
 */
export function startTracing(options: TracingOptions): TracingHandle {
  const exporter =
    options.exporter ??
    (options.endpoint
      ? new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` })
      : undefined);
  const processors: SpanProcessor[] = [urlRedactingProcessor];
  if (exporter) {
    processors.push(
      options.batch === false ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    );
  }
  const ratio = options.sampleRatio ?? 1;
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        'service.name': options.serviceName,
        ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
      }),
    ),
    sampler: exporter
      ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) })
      : new AlwaysOffSampler(),
    spanProcessors: processors,
  });
  sdkRegistered = true;
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    exporting: Boolean(exporter),
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      sdkRegistered = false;
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** url.full without query values: `?next=/x&token=abc` becomes `?next=REDACTED&token=REDACTED`. */
export function redactQuery(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const hash = url.indexOf('#', at);
  const query = url.slice(at + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? pair : `${pair.slice(0, eq)}=REDACTED`;
    })
    .join('&');
  return `${url.slice(0, at)}?${redacted}`;
}

/**
 * Runs before the exporting processor: rewrites url.full as a span starts (query strings carry
 * tokens) and scrubs credentials out of recorded exceptions as it ends (error messages may quote a
 * connection string), so no exporter sees either.
 */
const urlRedactingProcessor: SpanProcessor = {
  onStart(span: SdkSpan) {
    const url = span.attributes['url.full'];
    if (typeof url === 'string' && url.includes('?')) span.setAttribute('url.full', redactQuery(url));
  },
  onEnding(span: SdkSpan) {
    for (const event of span.events) {
      const attributes = event.attributes as Record<string, unknown> | undefined;
      if (event.name !== 'exception' || !attributes) continue;
      for (const key of ['exception.message', 'exception.stacktrace']) {
        const value = attributes[key];
        if (typeof value === 'string') attributes[key] = scrubSecrets(value);
      }
    }
  },
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

/**
 * A server span per request (@hono/otel): the caller's `traceparent` is its parent, its name is
 * the method and the matched route template, and everything the request does runs inside it.
 */
export function requestTracing(): MiddlewareHandler {
  const spans = httpInstrumentationMiddleware({
    captureActiveRequests: false,
    spanNameFactory: (c) => `${c.req.method} ${routePath(c)}`,
  });
  // Without a registered SDK (nothing is exported) a request only needs ids that join its log
  // lines and error page: take the caller's trace id or make one, and skip the span machinery
  // (and the AsyncLocalStorage hooks it needs), which is most of the per-request cost.
  return async function traceRequest(c, next) {
    if (sdkRegistered) return spans(c, next);
    c.set(TRACE_IDS_KEY as never, idsForRequest(c.req.header('traceparent')) as never);
    await next();
  };
}

/** Whether startTracing registered the SDK (spans are recorded and exported). */
let sdkRegistered = false;
const TRACE_IDS_KEY = 'traceIds';

const HEX_OF_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function hexOf(bytes: Uint8Array, from: number, to: number): string {
  let hex = '';
  for (let i = from; i < to; i++) hex += HEX_OF_BYTE[bytes[i] ?? 0];
  return hex;
}

/** The caller's trace id (or a new one) and a new span id, from one draw of random bytes. */
function idsForRequest(traceparent: string | undefined): { traceId: string; spanId: string } {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  const random = bufferedRandomBytes(match?.[1] ? 8 : 24);
  return { traceId: match?.[1] ?? hexOf(random, 8, 24), spanId: hexOf(random, 0, 8) };
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;

/**
 * The ids of the current span, or those of the caller's `traceparent` when no SDK records spans
 * (Workers): the ids that join a log line to its trace.
 */
export function currentTraceIds(c?: Context): { traceId: string; spanId: string } | undefined {
  const span = trace.getActiveSpan();
  if (span) {
    const ids = span.spanContext();
    if (isSpanContextValid(ids)) return { traceId: ids.traceId, spanId: ids.spanId };
  }
  const assigned = c?.get(TRACE_IDS_KEY as never) as { traceId: string; spanId: string } | undefined;
  if (assigned) return assigned;
  const header = c?.req.header('traceparent');
  const match = header ? TRACEPARENT.exec(header) : null;
  return match?.[1] && match[2] ? { traceId: match[1], spanId: match[2] } : undefined;
}

/** The trace id of the request, for problem+json errors and the error page. */
export function traceIdOf(c?: Context): string | undefined {
  return currentTraceIds(c)?.traceId;
}

/** `trace_id` and `span_id` log fields of the active span (empty when there is none). */
export function traceLogFields(c?: Context): { trace_id?: string; span_id?: string } {
  const ids = currentTraceIds(c);
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

export type CallOutcome = 'success' | 'client_error' | 'server_error' | 'network_error';

export interface OutgoingCallOptions {
  /** Span name for a call, e.g. `stripe POST /v1/customers/:id`. */
  spanName(url: URL, method: string): string;
  attributes?(url: URL, method: string): Attributes;
  /** Called once per call with how it went and how long it took (metrics). */
  onFinish?(url: URL, method: string, outcome: CallOutcome, seconds: number): void;
}

/**
 * A fetch that traces each call as a client span of the current context and sends the W3C
 * `traceparent` (and `tracestate`) headers, so the callee's spans join the request's trace.
 */
export function instrumentFetch(base: typeof fetch, options: OutgoingCallOptions): typeof fetch {
  return async function tracedFetch(input, init) {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const started = performance.now();
    const span = tracer().startSpan(options.spanName(url, method), {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': redactQuery(url.toString()),
        'server.address': url.hostname,
        ...options.attributes?.(url, method),
      },
    });
    const headers = new Headers(init?.headers ?? request?.headers);
    propagation.inject(trace.setSpan(context.active(), span), headers, {
      set: (carrier, key, value) => carrier.set(key, value),
    });
    let outcome: CallOutcome = 'network_error';
    try {
      const response = await base(input, { ...init, headers });
      span.setAttribute('http.response.status_code', response.status);
      outcome = response.status >= 500 ? 'server_error' : response.status >= 400 ? 'client_error' : 'success';
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
      options.onFinish?.(url, method, outcome, (performance.now() - started) / 1000);
    }
  };
}

/** Marks `span` failed with `error` (its type and message; never the values it was given). */
export function recordError(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
}
