import { listResourceTypes } from '../schemas/resource-types/registry.ts';

/**
 * Structured logger: one JSON object per line (or a readable line with LOG_FORMAT=pretty); on
 * Workers the same record goes to `console` as an object, which Workers Logs indexes field by field.
 *
 * Redaction is structural, not by hope, and happens before a line is written:
 * - any field whose key names a credential (passwords, tokens, secrets, authorization, cookies, API
 *   keys, webhook secrets) is replaced, wherever it is nested, so a handler that logs a whole object
 *   cannot leak one;
 * - so is any field whose key is marked `secret` in a resource type's settings schema (the last
 *   segment of each `secret_settings` pointer, e.g. `headerValue`);
 * - string values are scrubbed of credentials that have a recognisable shape (Stripe keys and
 *   webhook secrets, ktrlplane API tokens, `Bearer …`, `password=…` in messages and URLs).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /**
   * A logger whose lines also carry `bindings`; `context`, when given, replaces the parent's and is
   * read each time a line is written.
   */
  child(bindings: LogFields, context?: LogContext): Logger;
  /** False when lines of `level` are dropped; lets hot paths skip building their fields. */
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level: LogLevel | 'silent';
  format: 'json' | 'pretty';
  /** Where finished lines go; stdout on Node, an array in tests. */
  write?: (line: string, level: LogLevel) => void;
  /** Receives the redacted record instead of a line (Workers: `console[level](record)`). */
  writeRecord?: (record: LogFields, level: LogLevel) => void;
  now?: () => Date;
}

/**
 * Fields read when a line is written rather than when the logger is made: a request's logger is
 * created before authentication and the permission check know the user and the organization.
 */
export type LogContext = () => LogFields | undefined;

const LEVEL_ORDER: Record<LogLevel | 'silent', number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 99,
};
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|authorization|cookie|api[-_]?key|credential|private[-_]?key|signature|stripe[-_]?key|dsn/i;
/** Keys that match SECRET_KEY by accident but hold no secret (ids of tokens, counts, flags). */
const NOT_SECRET_KEY = /^(token_id|tokenId|token_type|secret_settings|password_set|has_password)$/;
export const REDACTED = '[REDACTED]';

// Credential shapes that may hide inside free text (error messages, URLs, mail bodies): Stripe
// secret/restricted keys and webhook secrets, ktrlplane API tokens, bearer credentials, the
// password in a URL's user info, and `name=value` pairs whose name says secret.
const SECRET_VALUE = new RegExp(
  [
    String.raw`\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}`,
    String.raw`\bwhsec_[A-Za-z0-9+/=]{8,}`,
    String.raw`\bkpt_[A-Za-z0-9_-]{8,}`,
    String.raw`\b(?<scheme>Bearer)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{16,}`,
    String.raw`(?<userinfo>[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)`,
    String.raw`\b(?<name>pass(?:word)?|secret|token|api[-_]?key|access_token|client_secret|code_verifier)=[^\s&;,'"]+`,
  ].join('|'),
  'gi',
);
const MIGHT_HOLD_SECRET = /sk_|rk_|whsec_|kpt_|bearer|=|@/i;

/** Key names marked `secret` in a resource type's settings schema (the last pointer segment). */
const schemaSecretKeys: ReadonlySet<string> = new Set(
  listResourceTypes().flatMap((type) =>
    type.deployment.secret_settings
      .map((pointer) => pointer.split('/').at(-1)?.replaceAll('~1', '/').replaceAll('~0', '~') ?? '')
      .filter((key) => key !== '' && key !== '*'),
  ),
);

const keyVerdicts = new Map<string, boolean>();
/** Whether a field called `key` holds a secret (memoised: the same few keys repeat on every line). */
export function isSecretKey(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = !NOT_SECRET_KEY.test(key) && (SECRET_KEY.test(key) || schemaSecretKeys.has(key));
    if (keyVerdicts.size < 10_000) keyVerdicts.set(key, verdict);
  }
  return verdict;
}

/** `text` with credential-shaped substrings replaced. */
export function scrubSecrets(text: string): string {
  if (!MIGHT_HOLD_SECRET.test(text)) return text;
  return text.replace(SECRET_VALUE, (...args: unknown[]) => {
    const groups = args.at(-1) as Record<string, string | undefined>;
    if (groups.scheme) return `${groups.scheme} ${REDACTED}`;
    if (groups.userinfo) return `${groups.userinfo}${REDACTED}`;
    if (groups.name) return `${groups.name}=${REDACTED}`;
    return REDACTED;
  });
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value, depth);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const inner = (value as Record<string, unknown>)[key];
    if (inner === undefined) continue;
    out[key] = isSecretKey(key) ? REDACTED : redact(inner, depth + 1);
  }
  return out;
}

function serializeError(error: Error, depth: number): LogFields {
  const fields: LogFields = {
    type: error.name,
    message: scrubSecrets(error.message),
    stack: error.stack ? scrubSecrets(error.stack) : undefined,
  };
  if (error.cause !== undefined && depth < 4) fields.cause = redact(error.cause, depth + 1);
  return fields;
}

function defaultWrite(line: string): void {
  console.log(line);
}

/** Writes each record to the console method of its level: the shape Workers Logs indexes. */
export function consoleRecordWriter(record: LogFields, level: LogLevel): void {
  console[level](record);
}

function prettyLine(record: LogFields): string {
  const { time, level, msg, ...rest } = record;
  const extras = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${extras ? ` ${extras}` : ''}`;
}

export function createLogger(options: LoggerOptions, bindings: LogFields = {}, context?: LogContext): Logger {
  // Bindings are redacted once, here, not on every line they are written with.
  const bound: LogFields = {};
  addFields(bound, bindings);
  return makeLogger(options, bound, context);
}

function makeLogger(options: LoggerOptions, bound: LogFields, context: LogContext | undefined): Logger {
  const threshold = LEVEL_ORDER[options.level];
  const write = options.write ?? defaultWrite;
  const writeRecord = options.writeRecord;
  const now = options.now ?? (() => new Date());

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < threshold) return;
    // One object per line, redacted as it is filled. Later sources win (the line's own fields over
    // the context over the bindings), but none can forge the line's time, level or message.
    const record: LogFields = { time: now().toISOString(), level, msg: scrubSecrets(msg) };
    for (const key in bound) record[key] = bound[key];
    if (context) addFields(record, context());
    if (fields) addFields(record, fields);
    if (writeRecord) writeRecord(record, level);
    else write(options.format === 'pretty' ? prettyLine(record) : JSON.stringify(record), level);
  };

  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (more, moreContext) => {
      const merged: LogFields = { ...bound };
      addFields(merged, more);
      return makeLogger(options, merged, moreContext ?? context);
    },
    enabled: (level) => LEVEL_ORDER[level] >= threshold,
  };
}

const FIXED_KEYS = new Set(['time', 'level', 'msg']);

function addFields(record: LogFields, source: LogFields | undefined): void {
  if (!source) return;
  for (const key in source) {
    if (!Object.hasOwn(source, key) || FIXED_KEYS.has(key)) continue;
    const value = source[key];
    if (value === undefined) continue;
    record[key] = isSecretKey(key) ? REDACTED : redact(value, 1);
  }
}

export const silentLogger: Logger = createLogger({ level: 'silent', format: 'json' });
