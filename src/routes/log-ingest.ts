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
import { decodeLokiProtobuf, decodeOtlpProtobuf } from '../services/logs/protobuf-wire.ts';
import { decodeLokiPush, decodeOtlpLogs, MalformedPayload } from '../services/logs/wire-formats.ts';

/**
 * Log ingest for standard shippers, authenticated by a project's ingest token (not by a session or
 * an API token; mounted before that middleware):
 * - POST /v1/logs — OTLP/HTTP, protobuf (`application/x-protobuf`, what the Collector's otlphttp
 *   exporter and the SDKs send by default) or JSON (`application/json`). 200 with `{}`, or
 *   `{"partialSuccess": {"rejectedLogRecords": "<n>", "errorMessage": …}}` when some records were
 *   refused (OTLP spec); errors as a google.rpc.Status JSON object (`{code, message}`).
 * - POST /loki/api/v1/push — Loki's push API: protobuf with a snappy block-compressed body
 *   (`application/x-protobuf`, what Promtail and Grafana Alloy send) or JSON. 204, or 400 with a
 *   text body naming what was refused (the accepted lines are stored, as Loki does).
 * Bodies may also be gzip-compressed (Content-Encoding: gzip). LOG_INGEST_MAX_BYTES bounds the body
 * as sent and as decompressed (gzip or snappy), so a small bomb is a 413 like a large body. The
 * answer is sent after the lines are committed.
 */
export const logIngestRoutes = new Hono<AppEnv>();

type BodyType = 'json' | 'protobuf';
const MEDIA_TYPES: Record<string, BodyType> = {
  'application/json': 'json',
  'application/x-protobuf': 'protobuf',
};

/** The request body, gunzipped when the shipper compressed it, within the size limit. */
async function readBody(c: Context<AppEnv>): Promise<{ type: BodyType; bytes: Uint8Array }> {
  const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const type = MEDIA_TYPES[mediaType];
  if (!type)
    throw unsupportedMediaType(
      `Content-Type "${mediaType.slice(0, 60)}" is not accepted; send application/x-protobuf or application/json.`,
    );
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
  return { type, bytes };
}

function parseJson(bytes: Uint8Array): unknown {
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

/** How one endpoint turns each accepted body type into lines. */
type Decoders = Record<BodyType, (bytes: Uint8Array, limit: number) => IncomingLogLine[]>;

async function ingest(
  c: Context<AppEnv>,
  source: 'otlp' | 'loki',
  decoders: Decoders,
): Promise<IngestOutcome> {
  const deps = c.get('deps');
  const credential = await authenticateIngest(deps.db, c.req.header('Authorization'));
  const { type, bytes } = await readBody(c);
  const lines = decoders[type](bytes, deps.config.LOG_INGEST_MAX_BYTES);
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

const OTLP_DECODERS: Decoders = {
  json: (bytes) => decodeOtlpLogs(parseJson(bytes)),
  protobuf: (bytes) => decodeOtlpProtobuf(bytes),
};

const LOKI_DECODERS: Decoders = {
  json: (bytes) => decodeLokiPush(parseJson(bytes)),
  protobuf: (bytes, limit) => decodeLokiProtobuf(bytes, limit),
};

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
    const outcome = await ingest(c, 'otlp', OTLP_DECODERS);
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
    const outcome = await ingest(c, 'loki', LOKI_DECODERS);
    if (outcome.rejected === 0) return c.body(null, 204);
    return c.text(describeRejections(outcome), 400);
  } catch (error) {
    const failure = failureOf(error);
    if (!failure) throw error;
    return c.text(failure.message, failure.status, failure.headers);
  }
});
