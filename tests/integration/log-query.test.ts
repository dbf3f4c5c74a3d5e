import { describe, expect, it } from 'vitest';
import { LogQuerySyntaxError, levelsMatching, parseLogQuery } from '../../src/services/logs/query.ts';

function failsAt(q: string): number {
  try {
    parseLogQuery(q);
  } catch (error) {
    expect(error).toBeInstanceOf(LogQuerySyntaxError);
    expect((error as LogQuerySyntaxError).status).toBe(422);
    return (error as LogQuerySyntaxError).position;
  }
  throw new Error(`"${q}" parsed`);
}

describe('the log query language', () => {
  it('parses words, phrases, fields, ranges and negation into clauses', () => {
    const q =
      'timeout "connection refused" level:>=warn attr.http.status:>=500 attr.path:"/a b" -healthcheck NOT level:debug resource:api-1 AND x';
    const { clauses } = parseLogQuery(q);
    // A clause's position is where its term starts (after a "-" or NOT).
    const at = (text: string) => q.indexOf(text);
    expect(clauses).toEqual([
      { kind: 'text', text: 'timeout', phrase: false, negated: false, position: at('timeout') },
      { kind: 'text', text: 'connection refused', phrase: true, negated: false, position: at('"connection') },
      { kind: 'level', op: '>=', level: 'warn', negated: false, position: at('level:>=') },
      {
        kind: 'attr',
        key: 'http.status',
        op: '>=',
        value: '500',
        number: 500,
        negated: false,
        position: at('attr.http'),
      },
      {
        kind: 'attr',
        key: 'path',
        op: '=',
        value: '/a b',
        number: null,
        negated: false,
        position: at('attr.path'),
      },
      { kind: 'text', text: 'healthcheck', phrase: false, negated: true, position: at('healthcheck') },
      { kind: 'level', op: '=', level: 'debug', negated: true, position: at('level:debug') },
      { kind: 'resource', resourceId: 'api-1', negated: false, position: at('resource:') },
      { kind: 'text', text: 'x', phrase: false, negated: false, position: q.length - 1 },
    ]);
    expect(parseLogQuery('').clauses).toEqual([]);
    expect(parseLogQuery('   ').clauses).toEqual([]);
    expect(parseLogQuery('level:WARNING').clauses[0]).toMatchObject({ level: 'warn' });
    expect(parseLogQuery('"say \\"hi\\""').clauses[0]).toMatchObject({ text: 'say "hi"' });
  });

  it('points at the offending position of a malformed query', () => {
    expect(failsAt('ok "open')).toBe(3);
    expect(failsAt('level:')).toBe(6);
    expect(failsAt('level:loud')).toBe(6);
    expect(failsAt('level:>=')).toBe(8);
    expect(failsAt('attr.status:>abc')).toBe(13);
    expect(failsAt('attr.:x')).toBe(5);
    expect(failsAt('http://x')).toBe(0);
    expect(failsAt('a -')).toBe(2);
    expect(failsAt('NOT')).toBe(0);
    expect(failsAt('resource:>a')).toBe(9);
    expect(failsAt('""')).toBe(0);
    expect(failsAt('---')).toBe(1);
    expect(failsAt('x'.repeat(1001))).toBe(1000);
  });

  it('orders levels for comparisons', () => {
    expect(levelsMatching('>=', 'warn')).toEqual(['warn', 'error', 'fatal']);
    expect(levelsMatching('<', 'info')).toEqual(['trace', 'debug']);
    expect(levelsMatching('>', 'fatal')).toEqual([]);
    expect(levelsMatching('=', 'error')).toEqual(['error']);
  });
});
