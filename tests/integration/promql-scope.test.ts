import { describe, expect, it } from 'vitest';
import { PromqlScopeError, scopePromql } from '../../src/services/metrics/promql-scope.ts';

const tenant = { project_id: 'proj-a', resource_id: 'res-a' };
const scoped = (query: string) => scopePromql(query, tenant);
const T = 'project_id="proj-a", resource_id="res-a"';

describe('scopePromql', () => {
  it('adds the tenant matchers to a bare metric name', () => {
    expect(scoped('up')).toBe(`up{${T}}`);
  });

  it('keeps the user matchers and adds the tenant ones', () => {
    expect(scoped('http_requests_total{job="api",code=~"5.."}')).toBe(
      `http_requests_total{job="api", code=~"5..", ${T}}`,
    );
  });

  it('scopes every selector: ranges, subqueries, functions, aggregations, binary operands, offsets', () => {
    const query =
      'sum by (pod) (rate(cpu_seconds_total[5m])) / on() group_left max_over_time(mem_bytes[1h:1m] offset 5m) + absent(other)';
    expect(scoped(query)).toBe(
      `sum by (pod) (rate(cpu_seconds_total{${T}}[5m])) / on() group_left max_over_time(mem_bytes{${T}}[1h:1m] offset 5m) + absent(other{${T}})`,
    );
  });

  it('scopes a selector that names the metric through __name__ only', () => {
    expect(scoped('{__name__=~"cpu.*"}')).toBe(`{__name__=~"cpu.*", ${T}}`);
  });

  it('accepts an equal tenant matcher without doubling it', () => {
    expect(scoped('up{resource_id="res-a"}')).toBe(`up{${T}}`);
  });

  it.each([
    ['up{resource_id="res-b"}', 3],
    ['up{project_id=~".+"}', 3],
    ['up{resource_id!="res-a"}', 3],
    ['rate(x[5m]) + up{job="a", project_id=~"proj-.*"}', 26],
    ['up{"resource_id"="res-b"}', 3],
  ])('refuses %s, pointing at the conflicting matcher', (query, position) => {
    const error = (() => {
      try {
        scoped(query);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(PromqlScopeError);
    expect((error as PromqlScopeError).position).toBe(position);
    expect((error as PromqlScopeError).message).toMatch(/conflicts/);
  });

  it.each(['sum(rate(x[5m])', 'up{', '', '1 + 1', 'up{a="b" c="d"}'])(
    'refuses malformed or selector-less %j',
    (query) => {
      expect(() => scoped(query)).toThrow(PromqlScopeError);
    },
  );
});
