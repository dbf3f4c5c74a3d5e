/**
 * Structured logger: one JSON object per line (or a readable line with LOG_FORMAT=pretty).
 * Redaction is structural: any field whose key names a credential is replaced before the line is
 * written, wherever it is nested, so a handler that logs a whole object cannot leak a secret.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel | 'silent';
  format: 'json' | 'pretty';
  /** Where finished lines go; stdout on Node, console on Workers, an array in tests. */
  write?: (line: string, level: LogLevel) => void;
  now?: () => Date;
}

const LEVEL_ORDER: Record<LogLevel | 'silent', number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 99,
};
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|credential|private[-_]?key/i;
export const REDACTED = '[REDACTED]';

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(inner, depth + 1);
  }
  return out;
}

function serializeError(error: Error): LogFields {
  return { type: error.name, message: error.message, stack: error.stack };
}

function defaultWrite(line: string): void {
  console.log(line);
}

function prettyLine(record: LogFields): string {
  const { time, level, msg, ...rest } = record;
  const extras = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${extras ? ` ${extras}` : ''}`;
}

export function createLogger(options: LoggerOptions, bindings: LogFields = {}): Logger {
  const threshold = LEVEL_ORDER[options.level];
  const write = options.write ?? defaultWrite;
  const now = options.now ?? (() => new Date());

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < threshold) return;
    const record = redact({ time: now().toISOString(), level, msg, ...bindings, ...fields }) as LogFields;
    write(options.format === 'pretty' ? prettyLine(record) : JSON.stringify(record), level);
  };

  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (more) => createLogger(options, { ...bindings, ...more }),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent', format: 'json' });
