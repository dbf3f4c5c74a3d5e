import { type Kysely, type RawBuilder, sql } from 'kysely';
import { countLogs } from '../../db/logs.repository.ts';
import type { Database, LogLevel } from '../../db/types.ts';
import { AppError } from '../../lib/errors.ts';
import type { AuthorizedScope } from '../rbac.ts';

/**
 * The log query language (search page, JSON API, live tail filter, alert rules):
 *
 *   connection refused            two words, both must occur (AND is implicit; `AND` may be written)
 *   "connection refused"          a phrase: the words in this order
 *   level:error  level:>=warn     a level, or every level at/above/below one (trace < … < fatal)
 *   attr.http.status:500          an attribute equal to a value (`attr.key:"a value"` quotes it)
 *   attr.status:>=500             a numeric range: >, >=, <, <= (lines whose value is not a number never match)
 *   resource:api-1                one resource (useful on the project-wide search)
 *   -timeout  NOT level:debug     negation of the clause (or group) that follows
 *   level:error OR level:fatal    either; AND binds tighter: `a OR b c` is `a OR (b AND c)`
 *   (timeout OR refused) -retry   parentheses group (up to MAX_QUERY_DEPTH deep)
 *
 * AND, OR and NOT are keywords only in capitals (`or` is a word to search for). Words match whole
 * words, case-insensitively (Postgres full text, `simple` configuration). A bare term ends at a
 * parenthesis: quote text that contains one.
 * A malformed query throws `LogQuerySyntaxError` (a 422 whose `position` is the 0-based offset of
 * the offending character). The parsed query is compiled to SQL with every value as a bind
 * parameter: user text never becomes SQL text.
 */

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const LEVEL_ALIASES: Record<string, LogLevel> = {
  warning: 'warn',
  err: 'error',
  critical: 'fatal',
  crit: 'fatal',
  panic: 'fatal',
};
export const MAX_QUERY_LENGTH = 1_000;
/** How deep parentheses may nest (deeper is a 422, not a stack of nested SQL). */
export const MAX_QUERY_DEPTH = 16;

export type Comparison = '=' | '>' | '>=' | '<' | '<=';

export type LogQueryClause =
  | { kind: 'text'; text: string; phrase: boolean; negated: boolean; position: number }
  | { kind: 'level'; op: Comparison; level: LogLevel; negated: boolean; position: number }
  | {
      kind: 'attr';
      key: string;
      op: Comparison;
      value: string;
      /** The value as a number, for ranges (and always set when op is not '='). */
      number: number | null;
      negated: boolean;
      position: number;
    }
  | { kind: 'resource'; resourceId: string; negated: boolean; position: number };

/** How the clauses combine: a tree of AND, OR and NOT over single clauses. */
export type LogQueryExpr =
  | { kind: 'term'; clause: LogQueryClause }
  | { kind: 'and' | 'or'; parts: LogQueryExpr[] }
  /** A negated group, `NOT (…)` or `-(…)` (a negated single clause is the clause's `negated`). */
  | { kind: 'not'; part: LogQueryExpr; position: number };

export interface LogQuery {
  source: string;
  /** Every clause in the order written (each also sits in `expr`). */
  clauses: LogQueryClause[];
  /** null: the empty query, which matches everything. */
  expr: LogQueryExpr | null;
}

/** A malformed query: answers 422 with the offset of the offending character. */
export class LogQuerySyntaxError extends AppError {
  override name = 'LogQuerySyntaxError';
  constructor(
    readonly position: number,
    problem: string,
    pointer = '/q',
  ) {
    super(
      422,
      'Unprocessable Content',
      `The query is malformed at position ${position}: ${problem}`,
      [{ pointer, message: `position ${position}: ${problem}` }],
      {},
      { position },
    );
  }
}

const WHITESPACE = /\s/;
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;
const ATTRIBUTE_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}$/;
const WORDLIKE = /[\p{L}\p{N}]/u;
const BARE_END = /[\s"()]/;

class Parser {
  i = 0;
  readonly clauses: LogQueryClause[] = [];
  constructor(
    readonly text: string,
    readonly pointer: string,
  ) {}

  get done(): boolean {
    return this.i >= this.text.length;
  }
  peek(offset = 0): string {
    return this.text[this.i + offset] ?? '';
  }
  skipSpace(): void {
    while (!this.done && WHITESPACE.test(this.peek())) this.i += 1;
  }
  fail(position: number, problem: string): never {
    throw new LogQuerySyntaxError(position, problem, this.pointer);
  }

  /** A bare keyword (NOT, AND, OR) followed by whitespace, a parenthesis or the end. */
  keyword(word: string): boolean {
    if (this.text.slice(this.i, this.i + word.length) !== word) return false;
    const after = this.text[this.i + word.length];
    return after === undefined || WHITESPACE.test(after) || after === '(' || after === ')';
  }

  /** Where a term cannot start: the end, a closing parenthesis or a binary operator. */
  atTermEnd(): boolean {
    return this.done || this.peek() === ')' || this.keyword('OR') || this.keyword('AND');
  }

  /** A quoted phrase starting at the current `"`; `\"` and `\\` escape. */
  quoted(): string {
    const start = this.i;
    this.i += 1;
    let value = '';
    while (!this.done) {
      const ch = this.peek();
      if (ch === '\\' && (this.peek(1) === '"' || this.peek(1) === '\\')) {
        value += this.peek(1);
        this.i += 2;
        continue;
      }
      if (ch === '"') {
        this.i += 1;
        return value;
      }
      value += ch;
      this.i += 1;
    }
    return this.fail(start, 'this quote is never closed; add a closing ".');
  }

  /** Up to the next whitespace, parenthesis or quote (a quote may start a value after `:`). */
  bare(): string {
    const start = this.i;
    while (!this.done && !BARE_END.test(this.peek())) this.i += 1;
    return this.text.slice(start, this.i);
  }

  parse(): LogQueryExpr | null {
    this.skipSpace();
    if (this.done) return null;
    const expr = this.or(0);
    this.skipSpace();
    // or() stops only at the end or at a ")" it has no "(" for.
    if (!this.done) this.fail(this.i, 'this ")" has no "(" before it.');
    return expr;
  }

  /** or := and ("OR" and)* */
  or(depth: number): LogQueryExpr {
    const parts = [this.and(depth)];
    for (;;) {
      this.skipSpace();
      if (!this.keyword('OR')) break;
      const at = this.i;
      this.i += 2;
      this.skipSpace();
      if (this.atTermEnd()) this.fail(at, 'OR needs a term after it.');
      parts.push(this.and(depth));
    }
    return parts.length === 1 && parts[0] ? parts[0] : { kind: 'or', parts };
  }

  /** and := unary (["AND"] unary)* — terms side by side are ANDed. */
  and(depth: number): LogQueryExpr {
    const parts: LogQueryExpr[] = [];
    for (;;) {
      this.skipSpace();
      if (this.done || this.peek() === ')' || this.keyword('OR')) break;
      if (this.keyword('AND')) {
        const at = this.i;
        if (parts.length === 0) this.fail(at, 'AND needs a term before it.');
        this.i += 3;
        this.skipSpace();
        if (this.atTermEnd()) this.fail(at, 'AND needs a term after it.');
        continue;
      }
      parts.push(this.unary(depth));
    }
    if (parts.length === 0) {
      if (this.keyword('OR')) this.fail(this.i, 'OR needs a term before it.');
      this.fail(this.i, 'this ")" has no "(" before it.');
    }
    return parts.length === 1 && parts[0] ? parts[0] : { kind: 'and', parts };
  }

  /** unary := ("NOT" | "-")? ( "(" or ")" | clause ) */
  unary(depth: number): LogQueryExpr {
    const start = this.i;
    let negated = false;
    if (this.keyword('NOT')) {
      negated = true;
      this.i += 3;
      this.skipSpace();
      if (this.atTermEnd()) this.fail(start, 'NOT needs a term after it.');
    } else if (this.peek() === '-') {
      negated = true;
      this.i += 1;
      if (this.done || WHITESPACE.test(this.peek()) || this.peek() === ')')
        this.fail(start, '"-" needs a term right after it (no space).');
    }
    if (this.peek() === '(') {
      const group = this.group(depth);
      return negated ? { kind: 'not', part: group, position: start } : group;
    }
    const clause = this.clause(negated);
    this.clauses.push(clause);
    return { kind: 'term', clause };
  }

  group(depth: number): LogQueryExpr {
    const open = this.i;
    if (depth >= MAX_QUERY_DEPTH) this.fail(open, `parentheses may nest at most ${MAX_QUERY_DEPTH} deep.`);
    this.i += 1;
    this.skipSpace();
    if (this.peek() === ')')
      this.fail(open, 'these parentheses are empty; put a term inside or remove them.');
    if (this.done) this.fail(open, 'this "(" is never closed; add a ")".');
    const inner = this.or(depth + 1);
    this.skipSpace();
    if (this.peek() !== ')') this.fail(open, 'this "(" is never closed; add a ")".');
    this.i += 1;
    return inner;
  }

  clause(negated: boolean): LogQueryClause {
    const position = this.i;
    if (this.peek() === '"') {
      const text = this.quoted();
      if (!WORDLIKE.test(text)) this.fail(position, 'a phrase needs at least one letter or digit.');
      return { kind: 'text', text, phrase: true, negated, position };
    }
    const token = this.bare();
    const colon = token.indexOf(':');
    if (colon <= 0) {
      if (!WORDLIKE.test(token))
        this.fail(
          position,
          `"${token}" has no letter or digit to search for; quote it if it is part of a phrase.`,
        );
      return { kind: 'text', text: token, phrase: false, negated, position };
    }
    const field = token.slice(0, colon);
    const valuePosition = position + colon + 1;
    let raw = token.slice(colon + 1);
    let quoted = false;
    if (raw === '' && this.peek() === '"') {
      raw = this.quoted();
      quoted = true;
    } else if (this.peek() === '"') {
      this.fail(this.i, 'a quote must start the value (field:"a value").');
    }
    if (raw === '' && !quoted) this.fail(valuePosition, `"${field}:" needs a value after the colon.`);
    let op: Comparison = '=';
    let value = raw;
    if (!quoted) {
      const match = /^(>=|<=|>|<)/.exec(raw);
      if (match?.[1]) {
        op = match[1] as Comparison;
        value = raw.slice(op.length);
        if (value === '') this.fail(valuePosition + op.length, `"${op}" needs a value after it.`);
      }
    }
    if (field === 'level')
      return this.level(value, op, negated, position, valuePosition + (op === '=' ? 0 : op.length));
    if (field === 'resource') {
      if (op !== '=') this.fail(valuePosition, 'resource: takes a resource id, not a range.');
      return { kind: 'resource', resourceId: value, negated, position };
    }
    if (field.startsWith('attr.')) {
      const key = field.slice(5);
      if (!ATTRIBUTE_KEY.test(key))
        this.fail(
          position + 5,
          'an attribute key is letters, digits, "_", ".", "-" or "/" (attr.http.status:500).',
        );
      let number: number | null = NUMBER.test(value) ? Number(value) : null;
      if (op !== '=' && number === null)
        this.fail(valuePosition + op.length, `a range (${op}) needs a number, not "${value}".`);
      if (quoted) number = null;
      return { kind: 'attr', key, op, value, number, negated, position };
    }
    return this.fail(
      position,
      `unknown field "${field}"; fields are level:, attr.<key>: and resource:. Quote the text ("${token}") to search for it.`,
    );
  }

  level(
    value: string,
    op: Comparison,
    negated: boolean,
    position: number,
    valuePosition: number,
  ): LogQueryClause {
    const lower = value.toLowerCase();
    const level = (LOG_LEVELS as readonly string[]).includes(lower)
      ? (lower as LogLevel)
      : LEVEL_ALIASES[lower];
    if (!level) this.fail(valuePosition, `unknown level "${value}"; use one of ${LOG_LEVELS.join(', ')}.`);
    return { kind: 'level', op, level, negated, position };
  }
}

/**
 * Parses a query (empty: matches everything). Throws LogQuerySyntaxError, whose field error points
 * at `pointer` (the input field that held the query).
 */
export function parseLogQuery(q: string, pointer = '/q'): LogQuery {
  if (q.length > MAX_QUERY_LENGTH)
    throw new LogQuerySyntaxError(
      MAX_QUERY_LENGTH,
      `a query may be at most ${MAX_QUERY_LENGTH} characters long.`,
      pointer,
    );
  const parser = new Parser(q, pointer);
  const expr = parser.parse();
  return { source: q, clauses: parser.clauses, expr };
}

/** The levels a level clause selects. */
export function levelsMatching(op: Comparison, level: LogLevel): LogLevel[] {
  const at = LOG_LEVELS.indexOf(level);
  const keep: Record<Comparison, (index: number) => boolean> = {
    '=': (index) => index === at,
    '>': (index) => index > at,
    '>=': (index) => index >= at,
    '<': (index) => index < at,
    '<=': (index) => index <= at,
  };
  return LOG_LEVELS.filter((_, index) => keep[op](index));
}

/** The SQL expressions a query is compiled against (log lines and status events map differently). */
export interface LogColumns {
  /** tsvector of the message. */
  search: RawBuilder<unknown>;
  level: RawBuilder<unknown>;
  /** jsonb object of attributes. */
  attributes: RawBuilder<unknown>;
  resourceId: RawBuilder<unknown>;
}

const OPERATORS: Record<Comparison, RawBuilder<unknown>> = {
  '=': sql`=`,
  '>': sql`>`,
  '>=': sql`>=`,
  '<': sql`<`,
  '<=': sql`<=`,
};

function compileClause(clause: LogQueryClause, columns: LogColumns): RawBuilder<boolean> {
  switch (clause.kind) {
    case 'text':
      return clause.phrase
        ? sql<boolean>`${columns.search} @@ phraseto_tsquery('simple', ${clause.text})`
        : sql<boolean>`${columns.search} @@ plainto_tsquery('simple', ${clause.text})`;
    case 'level': {
      const levels = levelsMatching(clause.op, clause.level);
      if (levels.length === 0) return sql<boolean>`FALSE`;
      return sql<boolean>`${columns.level} IN (${sql.join(levels)})`;
    }
    case 'resource':
      return sql<boolean>`${columns.resourceId} = ${clause.resourceId}`;
    case 'attr': {
      const value = sql`${columns.attributes} ->> ${clause.key}`;
      if (clause.op === '=') return sql<boolean>`${value} = ${clause.value}`;
      // Only values that look like numbers take part in a range; the cast never sees anything else.
      return sql<boolean>`(CASE WHEN ${value} ~ '^-?([0-9]+([.][0-9]*)?|[.][0-9]+)$' THEN (${value})::numeric END) ${OPERATORS[clause.op]} ${clause.number}::numeric`;
    }
  }
}

function compileExpr(expr: LogQueryExpr, columns: LogColumns): RawBuilder<boolean> {
  switch (expr.kind) {
    case 'term': {
      const compiled = compileClause(expr.clause, columns);
      return expr.clause.negated ? sql<boolean>`(${compiled}) IS NOT TRUE` : sql<boolean>`(${compiled})`;
    }
    case 'not':
      return sql<boolean>`(${compileExpr(expr.part, columns)}) IS NOT TRUE`;
    case 'and':
    case 'or': {
      const parts = expr.parts.map((part) => compileExpr(part, columns));
      return sql<boolean>`(${sql.join(parts, expr.kind === 'and' ? sql` AND ` : sql` OR `)})`;
    }
  }
}

/**
 * The query as one SQL condition over `columns`. A negation is `IS NOT TRUE`, so a line without
 * the attribute (NULL) counts as "not matching" and a negation keeps it; under AND and OR a NULL
 * behaves as false for the same reason (a line matches only where the condition is TRUE).
 */
export function compileLogQuery(query: LogQuery, columns: LogColumns): RawBuilder<boolean> {
  if (!query.expr) return sql<boolean>`TRUE`;
  return compileExpr(query.expr, columns);
}

/** The columns of ktrlplane.logs (alias `l`). */
export const LOG_LINE_COLUMNS: LogColumns = {
  search: sql.ref('l.search'),
  level: sql.ref('l.level'),
  attributes: sql.ref('l.attributes'),
  resourceId: sql.ref('l.resource_id'),
};

export interface CountLogLinesOptions {
  resourceId?: string;
  q: string;
  from: Date;
  to: Date;
  /** Bucket width in seconds: counts per bucket (aligned to `from`), empty buckets included. */
  bucket?: number;
}

export interface LogLineCount {
  total: number;
  /** Per bucket when `bucket` was given (every bucket from `from` to `to`, zeros included). */
  buckets: { start: Date; count: number }[];
}

/**
 * How many log lines of the project (or of one of its resources) match `q` in [from, to). For
 * alert rules ("level:error more than N in M minutes") and their preview. Counts stored log lines
 * only, not status transitions. Throws LogQuerySyntaxError on a malformed query.
 */
export async function countLogLines(
  db: Kysely<Database>,
  projectScope: AuthorizedScope<'project'>,
  options: CountLogLinesOptions,
): Promise<LogLineCount> {
  const query = parseLogQuery(options.q);
  const condition = compileLogQuery(query, LOG_LINE_COLUMNS);
  const bucketMs = options.bucket ? Math.max(1, Math.round(options.bucket)) * 1000 : null;
  const rows = await countLogs(db, projectScope, {
    resourceId: options.resourceId,
    from: options.from,
    to: options.to,
    condition,
    bucketSeconds: bucketMs === null ? null : bucketMs / 1000,
  });
  const total = rows.reduce((sum, row) => sum + row.count, 0);
  if (bucketMs === null) return { total, buckets: [] };
  const byStart = new Map(rows.map((row) => [row.bucket_start.getTime(), row.count]));
  const buckets: LogLineCount['buckets'] = [];
  for (let t = options.from.getTime(); t < options.to.getTime(); t += bucketMs) {
    buckets.push({ start: new Date(t), count: byStart.get(t) ?? 0 });
  }
  return { total, buckets };
}
