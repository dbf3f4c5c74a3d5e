import fc from 'fast-check';
import { type RawBuilder, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { LogLevel } from '../../src/db/types.ts';
import {
  compileLogQuery,
  LOG_LEVELS,
  type LogColumns,
  type LogQueryExpr,
  LogQuerySyntaxError,
  MAX_QUERY_DEPTH,
  parseLogQuery,
} from '../../src/services/logs/query.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * AND, OR, NOT and parentheses in the log query language: the tree the parser builds (tables),
 * where it refuses (positions), and — generated — that printing a random expression and parsing
 * it gives it back, and that the compiled SQL selects exactly the lines a plain boolean
 * evaluation of the expression selects (run in the database, every value a parameter).
 */

/** A compact picture of the tree: terms by their source text, & for AND, | for OR, ! for NOT. */
function shape(expr: LogQueryExpr | null, q: string): string {
  if (!expr) return '∅';
  switch (expr.kind) {
    case 'term': {
      const c = expr.clause;
      const text =
        c.kind === 'text'
          ? c.text
          : c.kind === 'level'
            ? `level${c.op}${c.level}`
            : c.kind === 'attr'
              ? `${c.key}${c.op}${c.value}`
              : `resource=${c.resourceId}`;
      return c.negated ? `!${text}` : text;
    }
    case 'not':
      return `!(${shape(expr.part, q)})`;
    case 'and':
    case 'or':
      return `(${expr.parts.map((part) => shape(part, q)).join(expr.kind === 'and' ? ' & ' : ' | ')})`;
  }
}

const shapeOf = (q: string) => shape(parseLogQuery(q).expr, q);

function failure(q: string): { position: number; message: string } {
  try {
    parseLogQuery(q);
  } catch (error) {
    expect(error).toBeInstanceOf(LogQuerySyntaxError);
    const e = error as LogQuerySyntaxError;
    expect(e.status).toBe(422);
    expect(e.errors).toEqual([{ pointer: '/q', message: expect.stringMatching(/^position \d+: /) }]);
    return { position: e.position, message: e.detail };
  }
  throw new Error(`"${q}" parsed`);
}

describe('AND, OR, NOT and parentheses', () => {
  it.each([
    ['a b', '(a & b)'],
    ['a AND b', '(a & b)'],
    ['a OR b', '(a | b)'],
    ['a OR b c', '(a | (b & c))'],
    ['a b OR c', '((a & b) | c)'],
    ['a AND b OR c AND d', '((a & b) | (c & d))'],
    ['(a OR b) c', '((a | b) & c)'],
    ['a (b OR c)', '(a & (b | c))'],
    ['((a))', 'a'],
    ['NOT (a OR b)', '!((a | b))'],
    ['-(a b) c', '(!((a & b)) & c)'],
    ['NOT(a) OR(b)', '(!(a) | b)'],
    ['-a OR -b', '(!a | !b)'],
    ['level:error OR level:>=warn', '(level=error | level>=warn)'],
    ['(attr.status:>=500 OR "timed out") -retry', '((status>=500 | timed out) & !retry)'],
    ['a or b and c', '(a & or & b & and & c)'],
    ['foo(bar)', '(foo & bar)'],
    ['ORACLE ANDROID NOTICE', '(ORACLE & ANDROID & NOTICE)'],
  ])('%s is %s', (q, expected) => {
    expect(shapeOf(q)).toBe(expected);
  });

  it('keeps every clause, in source order, with its own position', () => {
    const q = '(timeout OR level:error) -retry';
    expect(parseLogQuery(q).clauses.map((c) => [c.kind, c.position, c.negated])).toEqual([
      ['text', 1, false],
      ['level', 12, false],
      ['text', 26, true],
    ]);
  });

  it.each([
    ['(a OR b', 0, 'never closed'],
    ['a (b OR c', 2, 'never closed'],
    ['a OR b)', 6, 'has no "(" before it'],
    [')', 0, 'has no "(" before it'],
    ['a OR', 2, 'OR needs a term after it'],
    ['OR a', 0, 'OR needs a term before it'],
    ['a OR OR b', 2, 'OR needs a term after it'],
    ['(OR a)', 1, 'OR needs a term before it'],
    ['a (b OR )', 5, 'OR needs a term after it'],
    ['a AND', 2, 'AND needs a term after it'],
    ['AND a', 0, 'AND needs a term before it'],
    ['a AND OR b', 2, 'AND needs a term after it'],
    ['(a AND) b', 3, 'AND needs a term after it'],
    ['()', 0, 'empty'],
    ['a ( ) b', 2, 'empty'],
    ['NOT', 0, 'NOT needs a term after it'],
    ['NOT OR a', 0, 'NOT needs a term after it'],
    ['(NOT)', 1, 'NOT needs a term after it'],
    ['-)', 0, '"-" needs a term'],
    ['NOT (', 4, 'never closed'],
    ['a OR "open', 5, 'quote is never closed'],
    ['(level:loud OR a)', 7, 'unknown level'],
    [
      `${'('.repeat(MAX_QUERY_DEPTH + 1)}a${')'.repeat(MAX_QUERY_DEPTH + 1)}`,
      MAX_QUERY_DEPTH,
      'nest at most',
    ],
  ])('refuses %s at %i', (q, position, message) => {
    const got = failure(q);
    expect(got.position).toBe(position);
    expect(got.message).toContain(message);
    expect(got.message).toContain(`position ${position}`);
  });

  it('accepts nesting up to the limit', () => {
    const q = `${'('.repeat(MAX_QUERY_DEPTH)}a${')'.repeat(MAX_QUERY_DEPTH)}`;
    expect(shapeOf(q)).toBe('a');
  });

  it('either parses or says where it breaks, for any text of the language', () => {
    const piece = fc.constantFrom(
      'a',
      'b',
      ' ',
      '(',
      ')',
      '"',
      '-',
      'OR',
      'AND',
      'NOT',
      'level:',
      'error',
      'attr.k:',
      '>=',
      '5',
      ':',
      '\\',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 24 }).map((parts) => parts.join('')),
        (q) => {
          try {
            parseLogQuery(q);
          } catch (error) {
            expect(error).toBeInstanceOf(LogQuerySyntaxError);
            const position = (error as LogQuerySyntaxError).position;
            expect(position).toBeGreaterThanOrEqual(0);
            expect(position).toBeLessThanOrEqual(q.length);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

/** Generated expressions over a few atoms whose truth on a line is easy to state. */
type Atom = 'alpha' | 'beta' | 'gamma' | 'level:error' | 'level:>=warn' | 'attr.k:v' | 'attr.n:>=5';
type Expr = { atom: Atom } | { not: Expr } | { and: Expr[] } | { or: Expr[] };

const atom = fc.constantFrom<Atom>(
  'alpha',
  'beta',
  'gamma',
  'level:error',
  'level:>=warn',
  'attr.k:v',
  'attr.n:>=5',
);
const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom.map((a) => ({ atom: a })),
    tie('expr').map((e) => ({ not: e })),
    fc.array(tie('expr'), { minLength: 2, maxLength: 3 }).map((parts) => ({ and: parts })),
    fc.array(tie('expr'), { minLength: 2, maxLength: 3 }).map((parts) => ({ or: parts })),
  ),
}));

/** Prints with as few parentheses as precedence allows, in one of the equivalent spellings. */
function print(e: Expr, style: { and: ' ' | ' AND '; not: '-' | 'NOT ' }): string {
  const operand = (inner: Expr, parent: 'and' | 'or' | 'not') => {
    const text = print(inner, style);
    const needs = parent === 'not' ? !('atom' in inner) : parent === 'and' ? 'or' in inner : false;
    return needs ? `(${text})` : text;
  };
  if ('atom' in e) return e.atom;
  if ('not' in e) return `${style.not}${operand(e.not, 'not')}`;
  if ('and' in e) return e.and.map((part) => operand(part, 'and')).join(style.and);
  return e.or.map((part) => operand(part, 'or')).join(' OR ');
}

/** The same picture `shape` draws, from the generated tree (nested ANDs and ORs flattened). */
function expected(e: Expr): string {
  const flat = (kind: 'and' | 'or', parts: Expr[]): Expr[] =>
    parts.flatMap((part) =>
      kind in part ? flat(kind, (part as Record<string, Expr[]>)[kind] ?? []) : [part],
    );
  const atomShape = (a: Atom) =>
    a === 'level:error'
      ? 'level=error'
      : a === 'level:>=warn'
        ? 'level>=warn'
        : a === 'attr.k:v'
          ? 'k=v'
          : a === 'attr.n:>=5'
            ? 'n>=5'
            : a;
  if ('atom' in e) return atomShape(e.atom);
  if ('not' in e) return 'atom' in e.not ? `!${atomShape(e.not.atom)}` : `!(${expected(e.not)})`;
  if ('and' in e) return `(${flat('and', e.and).map(expected).join(' & ')})`;
  return `(${flat('or', e.or).map(expected).join(' | ')})`;
}

interface Line {
  words: string[];
  level: LogLevel;
  attributes: Record<string, unknown>;
}

function holds(e: Expr, line: Line): boolean {
  if ('not' in e) return !holds(e.not, line);
  if ('and' in e) return e.and.every((part) => holds(part, line));
  if ('or' in e) return e.or.some((part) => holds(part, line));
  switch (e.atom) {
    case 'level:error':
      return line.level === 'error';
    case 'level:>=warn':
      return LOG_LEVELS.indexOf(line.level) >= LOG_LEVELS.indexOf('warn');
    case 'attr.k:v':
      return line.attributes.k === 'v';
    case 'attr.n:>=5':
      return typeof line.attributes.n === 'number' && line.attributes.n >= 5;
    default:
      return line.words.includes(e.atom);
  }
}

const line: fc.Arbitrary<Line> = fc.record({
  words: fc.subarray(['alpha', 'beta', 'gamma', 'delta']),
  level: fc.constantFrom(...LOG_LEVELS),
  attributes: fc.record(
    { k: fc.constantFrom('v', 'w', 'V'), n: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant('many')) },
    { requiredKeys: [] },
  ),
});
const style = fc.record({
  and: fc.constantFrom<' ' | ' AND '>(' ', ' AND '),
  not: fc.constantFrom<'-' | 'NOT '>('-', 'NOT '),
});

describe('boolean queries, generated', () => {
  const t = useTestApp();

  it('parse back to the expression printed, AND binding tighter than OR', () => {
    fc.assert(
      fc.property(expr, style, (e, s) => {
        expect(shapeOf(print(e, s))).toBe(expected(e));
      }),
      { numRuns: 1_000 },
    );
  });

  it('select in SQL exactly the lines a boolean evaluation selects', async () => {
    await fc.assert(
      fc.asyncProperty(expr, style, line, async (e, s, l) => {
        const message = l.words.join(' ') || 'nothing';
        const columns: LogColumns = {
          search: sql`to_tsvector('simple', ${message})`,
          level: sql`${l.level}`,
          attributes: sql`${JSON.stringify(l.attributes)}::jsonb`,
          resourceId: sql`${'api'}`,
        };
        const condition = compileLogQuery(parseLogQuery(print(e, s)), columns) as RawBuilder<boolean>;
        const { rows } = await sql<{ hit: boolean }>`SELECT (${condition}) IS TRUE AS hit`.execute(
          t.database.db,
        );
        expect(rows[0]?.hit).toBe(holds(e, l));
      }),
      { numRuns: 150 },
    );
  });

  it('never puts query text into the SQL: values are parameters', () => {
    const hostile = fc.stringMatching(/^[a-z';()\-\\ ]{1,12}$/).map((s) => `z${s}q`);
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const q = `("${a.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}" OR attr.k:"${b.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}") -level:debug`;
        const compiled = compileLogQuery(parseLogQuery(q), {
          search: sql.ref('l.search'),
          level: sql.ref('l.level'),
          attributes: sql.ref('l.attributes'),
          resourceId: sql.ref('l.resource_id'),
        }).compile(t.database.db);
        expect(compiled.sql).not.toContain(a);
        expect(compiled.sql).not.toContain(b);
        expect(compiled.parameters).toEqual(expect.arrayContaining([a, 'k', b, 'debug']));
      }),
      { numRuns: 300 },
    );
  });
});
