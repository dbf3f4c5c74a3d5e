import type { LogLevel } from '../../db/types.ts';
import { AppError } from '../../lib/errors.ts';
import type { IncomingLogLine } from './ingest.ts';
import { LOG_LEVELS } from './query.ts';

/**
 * Decoding the two shipper wire formats into IncomingLogLine:
 * - OTLP/HTTP logs, JSON encoding (opentelemetry-proto `ExportLogsServiceRequest`): the resource
 *   is the `resource_id` resource attribute (a record attribute of that name also works);
 *   severity from severityNumber (1–24) or severityText; body of any AnyValue type.
 * - Loki push API, JSON (`{"streams":[{"stream":{labels},"values":[["<unix ns>","line",{meta}]]}]}`):
 *   the resource is the `resource_id` label; the level from the `level` / `detected_level` /
 *   `severity` label or structured metadata.
 * A payload that is not the format at all is a 400 (`malformed`); single lines that cannot be
 * stored are the ingest step's business (refused and counted).
 */

export class MalformedPayload extends AppError {
  constructor(detail: string) {
    super(400, 'Bad Request', detail);
  }
}

const LEVEL_WORDS: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  emerg: 'fatal',
  alert: 'fatal',
  panic: 'fatal',
};

export function levelFromText(text: unknown): LogLevel | null {
  if (typeof text !== 'string') return null;
  const word = text.trim().toLowerCase();
  if (LEVEL_WORDS[word]) return LEVEL_WORDS[word];
  // "ERROR2", "Warn3" (OTel's short names with a number).
  const prefix = /^[a-z]+/.exec(word)?.[0];
  return prefix ? (LEVEL_WORDS[prefix] ?? null) : null;
}

/** OTel severity numbers: 1–4 TRACE, 5–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL. */
export function levelFromSeverityNumber(n: unknown): LogLevel | null {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 24) return null;
  return LOG_LEVELS[Math.floor((n - 1) / 4)] ?? null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayAt(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new MalformedPayload(`${where} must be an array.`);
  return value;
}

/** Nanoseconds since the epoch (string or number, as proto3 JSON allows) → Date; null when absent or 0. */
export function dateFromUnixNanos(value: unknown): Date | null {
  if (value === undefined || value === null || value === '' || value === 0 || value === '0') return null;
  const text = typeof value === 'number' ? BigInt(Math.trunc(value)).toString() : value;
  if (typeof text !== 'string' || !/^\d{1,21}$/.test(text)) return null;
  const ms = Number(BigInt(text) / 1_000_000n);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}

/** An OTLP AnyValue as plain JSON. */
export function anyValue(value: unknown): unknown {
  if (!isObject(value)) return null;
  if ('stringValue' in value) return String(value.stringValue ?? '');
  if ('boolValue' in value) return Boolean(value.boolValue);
  if ('intValue' in value) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('bytesValue' in value) return String(value.bytesValue);
  if ('arrayValue' in value) {
    const values = isObject(value.arrayValue) ? value.arrayValue.values : [];
    return Array.isArray(values) ? values.map(anyValue) : [];
  }
  if ('kvlistValue' in value) {
    const values = isObject(value.kvlistValue) ? value.kvlistValue.values : [];
    return keyValues(values);
  }
  return null;
}

/** A list of OTLP KeyValue as an object. */
export function keyValues(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const entry of list) {
    if (isObject(entry) && typeof entry.key === 'string') out[entry.key] = anyValue(entry.value);
  }
  return out;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

const RESOURCE_ID_KEY = 'resource_id';

export function decodeOtlpLogs(body: unknown): IncomingLogLine[] {
  if (!isObject(body))
    throw new MalformedPayload('The body must be an OTLP ExportLogsServiceRequest (a JSON object).');
  const lines: IncomingLogLine[] = [];
  for (const resourceLogs of arrayAt(body.resourceLogs, 'resourceLogs')) {
    if (!isObject(resourceLogs)) throw new MalformedPayload('Each resourceLogs entry must be an object.');
    const resourceAttributes = isObject(resourceLogs.resource)
      ? keyValues(resourceLogs.resource.attributes)
      : {};
    const { [RESOURCE_ID_KEY]: resourceIdValue, ...resourceRest } = resourceAttributes;
    for (const scopeLogs of arrayAt(resourceLogs.scopeLogs, 'scopeLogs')) {
      if (!isObject(scopeLogs)) throw new MalformedPayload('Each scopeLogs entry must be an object.');
      const scopeName =
        isObject(scopeLogs.scope) && typeof scopeLogs.scope.name === 'string' ? scopeLogs.scope.name : '';
      for (const record of arrayAt(scopeLogs.logRecords, 'logRecords')) {
        if (!isObject(record)) throw new MalformedPayload('Each logRecords entry must be an object.');
        const { [RESOURCE_ID_KEY]: recordResourceId, ...recordAttributes } = keyValues(record.attributes);
        const attributes: Record<string, unknown> = { ...resourceRest, ...recordAttributes };
        if (scopeName) attributes['otel.scope.name'] = scopeName;
        if (typeof record.traceId === 'string' && record.traceId) attributes.trace_id = record.traceId;
        if (typeof record.spanId === 'string' && record.spanId) attributes.span_id = record.spanId;
        if (typeof record.eventName === 'string' && record.eventName)
          attributes['event.name'] = record.eventName;
        const resourceId = recordResourceId ?? resourceIdValue;
        lines.push({
          resourceId: typeof resourceId === 'string' && resourceId ? resourceId : null,
          ts: dateFromUnixNanos(record.timeUnixNano) ?? dateFromUnixNanos(record.observedTimeUnixNano),
          level:
            levelFromSeverityNumber(record.severityNumber) ?? levelFromText(record.severityText) ?? 'info',
          message: text(anyValue(record.body)),
          attributes,
        });
      }
    }
  }
  return lines;
}

const LEVEL_LABELS = ['level', 'detected_level', 'severity', 'lvl'];

export function decodeLokiPush(body: unknown): IncomingLogLine[] {
  if (!isObject(body))
    throw new MalformedPayload('The body must be a Loki push request ({"streams": [...]}).');
  const lines: IncomingLogLine[] = [];
  for (const stream of arrayAt(body.streams, 'streams')) {
    if (!isObject(stream)) throw new MalformedPayload('Each stream must be an object.');
    const labels: Record<string, unknown> = isObject(stream.stream) ? { ...stream.stream } : {};
    const { [RESOURCE_ID_KEY]: resourceId, ...rest } = labels;
    for (const entry of arrayAt(stream.values, 'values')) {
      if (!Array.isArray(entry) || entry.length < 2 || typeof entry[1] !== 'string')
        throw new MalformedPayload('Each value must be ["<unix epoch in nanoseconds>", "<log line>"].');
      const ts = dateFromUnixNanos(entry[0]);
      if (!ts)
        throw new MalformedPayload(`"${String(entry[0]).slice(0, 40)}" is not a timestamp in nanoseconds.`);
      const metadata = isObject(entry[2]) ? entry[2] : {};
      const attributes = { ...rest, ...metadata };
      const levelText = LEVEL_LABELS.map((key) => attributes[key]).find((value) => typeof value === 'string');
      lines.push({
        resourceId: typeof resourceId === 'string' && resourceId ? resourceId : null,
        ts,
        level: levelFromText(levelText) ?? 'info',
        message: entry[1],
        attributes,
      });
    }
  }
  return lines;
}
