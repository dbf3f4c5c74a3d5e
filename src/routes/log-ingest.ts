import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../lib/app-env.ts';
import { AppError, payloadTooLarge, unsupportedMediaType } from '../lib/errors.ts';
import { billingPolicyOf } from '../services/billing/policy.ts';
import {
  authenticateIngest,
  describeRejections,
  type IncomingLogLine,
  type IngestOutcome,
  ingestLogLines,
} from '../services/logs/ingest.ts';
import { decodeLokiPush, decodeOtlpLogs, MalformedPayload } from '../services/logs/wire-formats.ts';

/**
 * Log ingest for standard shippers, authenticated by a project's ingest token (not by a session or
 * an API token; mounted before that middleware):
 * - POST /v1/logs — OTLP/HTTP, JSON encoding. 200 with `{}`, or `{"partialSuccess":
 *   {"rejectedLogRecords": "<n>", "errorMessage": …}}` when some records were refused (OTLP spec);
 *   errors as a google.rpc.Status JSON object (`{code, message}`).
 * - POST /loki/api/v1/push — Loki's push API, JSON. 204, or 400 with a text body naming what was
 *   refused (the accepted lines are stored, as Loki does).
 * Bodies may be gzip-compressed (Content-Encoding: gzip). The answer is sent after the lines are
 * committed.
 */
export const logIngestRoutes = new Hono<AppEnv>();

/** The request body as JSON, gunzipped when the shipper compressed it, within the size limits. */
async function readJsonBody(c: Context<AppEnv>, hint: string): Promise<unknown> {
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw unsupportedMediaType(`Send JSON (Content-Type: application/json). ${hint}`);
  const limit = c.get('deps').config.LOG_INGEST_MAX_BYTES;
  const encoding = (c.req.header('Content-Encoding') ?? 'identity').trim().toLowerCase();
  let bytes: Uint8Array;
  if (encoding === 'gzip') {
    const compressed = c.req.raw.body;
    if (!compressed) throw new MalformedPayload('The body is empty.');
    bytes = await readAtMost(compressed.pipeThrough(new DecompressionStream('gzip')), limit);
  } else if (encoding === 'identity') {
    bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > limit) throw payloadTooLarge(limit);
  } else {
    throw unsupportedMediaType(
      `Content-Encoding "${encoding.slice(0, 40)}" is not supported; send gzip or nothing.`,
    );
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new MalformedPayload('The body is not valid JSON.');
  }
}

async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw payloadTooLarge(limit);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new MalformedPayload('The body is not valid gzip.');
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function ingest(
  c: Context<AppEnv>,
  source: 'otlp' | 'loki',
  decode: (body: unknown) => IncomingLogLine[],
  hint: string,
): Promise<IngestOutcome> {
  const deps = c.get('deps');
  const credential = await authenticateIngest(deps.db, c.req.header('Authorization'));
  const lines = decode(await readJsonBody(c, hint));
  const outcome = await ingestLogLines(
    { db: deps.db, now: deps.clock.now(), policy: billingPolicyOf(deps) },
    credential,
    source,
    lines,
  );
  if (outcome.rejected > 0) {
    c.get('log').info('log lines refused', { source, token_id: credential.token_id, ...outcome.reasons });
  }
  return outcome;
}

/** gRPC status codes for the OTLP error body (google.rpc.Status). */
function grpcCode(status: number): number {
  if (status === 400 || status === 413 || status === 415) return 3; // INVALID_ARGUMENT
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  return 13; // INTERNAL
}

function failureOf(
  error: unknown,
): { status: ContentfulStatusCode; message: string; headers: Record<string, string> } | null {
  if (error instanceof AppError)
    return { status: error.status, message: error.detail, headers: error.headers };
  return null;
}

logIngestRoutes.post('/v1/logs', async (c) => {
  try {
    const outcome = await ingest(
      c,
      'otlp',
      decodeOtlpLogs,
      'Only the OTLP JSON encoding is accepted: set OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json (or encoding: json in the collector).',
    );
    if (outcome.rejected === 0) return c.json({});
    return c.json({
      partialSuccess: {
        rejectedLogRecords: String(outcome.rejected),
        errorMessage: describeRejections(outcome),
      },
    });
  } catch (error) {
    const failure = failureOf(error);
    if (!failure) throw error;
    return c.json(
      { code: grpcCode(failure.status), message: failure.message },
      failure.status,
      failure.headers,
    );
  }
});

logIngestRoutes.post('/loki/api/v1/push', async (c) => {
  try {
    const outcome = await ingest(
      c,
      'loki',
      decodeLokiPush,
      "Only the JSON push format is accepted (Content-Type: application/json), as Fluent Bit's loki output sends it.",
    );
    if (outcome.rejected === 0) return c.body(null, 204);
    return c.text(describeRejections(outcome), 400);
  } catch (error) {
    const failure = failureOf(error);
    if (!failure) throw error;
    return c.text(failure.message, failure.status, failure.headers);
  }
});
