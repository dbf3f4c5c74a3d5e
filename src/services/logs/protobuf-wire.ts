import { uncompress } from 'snappyjs';
import { payloadTooLarge } from '../../lib/errors.ts';
import type { IncomingLogLine } from './ingest.ts';
import { parseLokiLabels } from './loki-labels.ts';
import { ExportLogsServiceRequest, LokiPushRequest } from './protobuf-schemas.ts';
import { decodeLokiPush, decodeOtlpLogs, MalformedPayload } from './wire-formats.ts';

/**
 * The protobuf encodings of the two shipper formats (OTLP/HTTP `application/x-protobuf`, Loki push
 * `application/x-protobuf` with a snappy block-compressed body). Each message is decoded by
 * protobufjs and turned into the shape of the format's JSON encoding (proto3 JSON mapping: lower
 * camel case names, 64-bit integers as decimal strings, trace and span ids as hex), then read by
 * the same decoder as the JSON body — so both encodings of one batch store the same lines.
 *
 * OTLP's 64-bit values stay protobufjs Long objects out of toObject: turning every timestamp into
 * a decimal string there cost as much as decoding the whole batch. Timestamps are converted here
 * (to whole milliseconds, all a stored line keeps), and integer attribute values by `anyValue`,
 * which reads a Long as a number when it is safe and as its exact decimal text otherwise.
 */

const TO_JSON_SHAPE = { longs: String, bytes: String, defaults: false, arrays: false } as const;
const OTLP_SHAPE = { bytes: String, defaults: false, arrays: false } as const;

/** A protobufjs Long (fixed64 nanoseconds) as the decimal nanoseconds of its whole milliseconds. */
function nanosOfLong(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('high' in value) || !('low' in value))
    return undefined;
  const high = (value as { high: number }).high >>> 0;
  const low = (value as { low: number }).low >>> 0;
  // N = high·2^32 + low, and 2^32 = 4294·10^6 + 967296: each product stays below 2^53, so exact.
  const ms = high * 4294 + Math.floor((high * 967_296 + low) / 1_000_000);
  return ms > 0 ? `${ms}000000` : undefined;
}

function hexOfBase64(base64: unknown): string | undefined {
  if (typeof base64 !== 'string' || base64 === '') return undefined;
  const binary = atob(base64);
  let hex = '';
  for (let i = 0; i < binary.length; i += 1) hex += binary.charCodeAt(i).toString(16).padStart(2, '0');
  return hex;
}

function problem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 200);
}

type Json = Record<string, unknown>;
const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);

export function decodeOtlpProtobuf(bytes: Uint8Array): IncomingLogLine[] {
  let body: Json;
  try {
    body = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(bytes), OTLP_SHAPE);
  } catch (error) {
    throw new MalformedPayload(
      `The body is not a protobuf-encoded OTLP ExportLogsServiceRequest (${problem(error)}).`,
    );
  }
  // OTLP/JSON writes trace and span ids as hex where protobuf carries bytes.
  for (const resourceLogs of list(body.resourceLogs))
    for (const scopeLogs of list(resourceLogs.scopeLogs))
      for (const record of list(scopeLogs.logRecords)) {
        record.timeUnixNano = nanosOfLong(record.timeUnixNano);
        record.observedTimeUnixNano = nanosOfLong(record.observedTimeUnixNano);
        record.traceId = hexOfBase64(record.traceId);
        record.spanId = hexOfBase64(record.spanId);
      }
  return decodeOtlpLogs(body);
}

/** Nanoseconds since the epoch of a google.protobuf.Timestamp (as toObject gives it). */
function unixNanos(timestamp: unknown): string | undefined {
  if (typeof timestamp !== 'object' || timestamp === null) return undefined;
  const { seconds, nanos } = timestamp as { seconds?: string; nanos?: number };
  const total = BigInt(seconds ?? '0') * 1_000_000_000n + BigInt(nanos ?? 0);
  return total > 0n ? total.toString() : undefined;
}

/**
 * A Loki protobuf push: the snappy block is decompressed within `limit` bytes (its header states
 * the decompressed length, checked before anything is allocated), then decoded.
 */
export function decodeLokiProtobuf(compressed: Uint8Array, limit: number): IncomingLogLine[] {
  let bytes: Uint8Array;
  try {
    bytes = uncompress(compressed, limit);
  } catch (error) {
    if (/too big/i.test(problem(error))) throw payloadTooLarge(limit);
    throw new MalformedPayload(
      `The body is not snappy-compressed (Loki's protobuf push compresses the PushRequest with snappy's block format; ${problem(error)}).`,
    );
  }
  let body: Json;
  try {
    body = LokiPushRequest.toObject(LokiPushRequest.decode(bytes), TO_JSON_SHAPE);
  } catch (error) {
    throw new MalformedPayload(`The body is not a protobuf-encoded Loki PushRequest (${problem(error)}).`);
  }
  const streams = list(body.streams).map((stream, index) => {
    const labels = parseLokiLabels(typeof stream.labels === 'string' ? stream.labels : '');
    if (!labels)
      throw new MalformedPayload(
        `Stream ${index + 1} has labels "${String(stream.labels ?? '').slice(0, 80)}", which is not a label selector like {resource_id="api", job="app"}.`,
      );
    return {
      stream: labels,
      values: list(stream.entries).map((entry) => {
        const metadata = Object.fromEntries(
          list(entry.structuredMetadata).map((pair) => [String(pair.name ?? ''), String(pair.value ?? '')]),
        );
        return [unixNanos(entry.timestamp), typeof entry.line === 'string' ? entry.line : '', metadata];
      }),
    };
  });
  return decodeLokiPush({ streams });
}
