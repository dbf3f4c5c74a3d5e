import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';

/**
 * Confines a user's PromQL to one tenant. Every series ktrlplane charts carries the labels
 * `project_id` and `resource_id` (the exporter side of the contract: README "Resource metrics").
 * The query is parsed with Prometheus' own grammar (@prometheus-io/lezer-promql) and every vector
 * selector — plain, inside a range, a subquery, a function or an aggregation — gets the tenant's
 * equality matchers. A selector that already names a tenant label with anything but the same
 * equality is refused, so `{project_id=~".+"}` or `{resource_id!="mine"}` can never widen the
 * query. Data only enters a PromQL expression through vector selectors, so this bounds what a
 * query can read whatever functions (label_replace, absent, …) surround them.
 */
export type TenantMatchers = Readonly<Record<string, string>>;

export class PromqlScopeError extends Error {
  override name = 'PromqlScopeError';
  constructor(
    message: string,
    /** 0-based character offset in the query the problem starts at. */
    readonly position: number,
  ) {
    super(message);
  }
}

const MAX_QUERY_LENGTH = 2000;

function quote(value: string): string {
  return JSON.stringify(value);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

/**
 * The value of a PromQL string literal: "…" and '…' with Go escapes (\n, \xHH, \NNN octal,
 * \uHHHH, \UHHHHHHHH …), or `…` raw. Decoded here rather than by JSON.parse, which knows neither
 * \x nor octal and threw a SyntaxError (a 500) at them; an escape Go does not know is the
 * tenant's error (422) at `at`, the literal's offset in the query.
 */
function stringValue(text: string, at: number): string {
  if (text.startsWith('`')) return text.slice(1, -1);
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const kind = body[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[kind];
    if (simple !== undefined) {
      out += simple;
      i += 1;
      continue;
    }
    const digits = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : /[0-7]/.test(kind) ? 3 : 0;
    const start = kind === 'x' || kind === 'u' || kind === 'U' ? i + 2 : i + 1;
    const code = body.slice(start, start + digits);
    const valid =
      digits > 0 && code.length === digits && (digits === 3 ? /^[0-7]{3}$/ : /^[0-9a-fA-F]+$/).test(code);
    const value = valid ? Number.parseInt(code, digits === 3 ? 8 : 16) : Number.NaN;
    if (!valid || value > 0x10ffff || (digits === 3 && value > 255))
      throw new PromqlScopeError(
        `The string at offset ${at} has an invalid escape \\${kind}${code.slice(0, digits)}.`,
        at,
      );
    out += String.fromCodePoint(value);
    i = start + digits - 1;
  }
  return out;
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) out.push(child);
  return out;
}

interface Matcher {
  label: string;
  op: string;
  value: string;
}

function readMatcher(query: string, node: SyntaxNode): Matcher | null {
  const parts = children(node);
  const nameNode = parts.find((part) => part.name === 'LabelName' || part.name === 'QuotedLabelName');
  const opNode = parts.find((part) => part.name === 'MatchOp');
  const valueNode = parts.find((part) => part.name === 'StringLiteral');
  if (!nameNode) return null;
  const rawName = query.slice(nameNode.from, nameNode.to);
  const label = nameNode.name === 'QuotedLabelName' ? stringValue(rawName, nameNode.from) : rawName;
  // A quoted name alone ({"metric"}) is the metric name, not a matcher.
  if (!opNode || !valueNode) return { label: '__name__', op: '=', value: label };
  return {
    label,
    op: query.slice(opNode.from, opNode.to),
    value: stringValue(query.slice(valueNode.from, valueNode.to), valueNode.from),
  };
}

/**
 * Returns `query` with the tenant's matchers on every vector selector, or throws a
 * PromqlScopeError (with the offending position) for a malformed query or a conflicting matcher.
 */
export function scopePromql(query: string, tenant: TenantMatchers): string {
  if (query.trim() === '') throw new PromqlScopeError('The query is empty.', 0);
  if (query.length > MAX_QUERY_LENGTH) {
    throw new PromqlScopeError(`The query is longer than ${MAX_QUERY_LENGTH} characters.`, MAX_QUERY_LENGTH);
  }
  const tree = parser.parse(query);
  const edits: Array<{ from: number; to: number; text: string }> = [];
  let failure: PromqlScopeError | null = null;
  tree.iterate({
    enter(ref) {
      if (failure) return false;
      if (ref.type.isError) {
        failure = new PromqlScopeError(
          `The query is not valid PromQL near character ${ref.from + 1}.`,
          ref.from,
        );
        return false;
      }
      if (ref.name !== 'VectorSelector') return undefined;
      const node = ref.node;
      const parts = children(node);
      const matchersNode = parts.find((part) => part.name === 'LabelMatchers');
      const kept: string[] = [];
      if (matchersNode) {
        for (const matcherNode of children(matchersNode)) {
          if (matcherNode.type.isError) {
            failure = new PromqlScopeError(
              `The query is not valid PromQL near character ${matcherNode.from + 1}.`,
              matcherNode.from,
            );
            return false;
          }
          if (!matcherNode.name.endsWith('LabelMatcher') && matcherNode.name !== 'QuotedLabelName') continue;
          const matcher = readMatcher(query, matcherNode);
          const text = query.slice(matcherNode.from, matcherNode.to);
          if (matcher && Object.hasOwn(tenant, matcher.label)) {
            if (matcher.op !== '=' || matcher.value !== tenant[matcher.label]) {
              failure = new PromqlScopeError(
                `The matcher ${text} conflicts with this resource's ${matcher.label}="${tenant[matcher.label]}"; remove it (ktrlplane adds it).`,
                matcherNode.from,
              );
              return false;
            }
            continue;
          }
          kept.push(text);
        }
      }
      const added = Object.entries(tenant).map(([label, value]) => `${label}=${quote(value)}`);
      const text = `{${[...kept, ...added].join(', ')}}`;
      if (matchersNode) edits.push({ from: matchersNode.from, to: matchersNode.to, text });
      else edits.push({ from: node.to, to: node.to, text });
      return false;
    },
  });
  if (failure) throw failure;
  if (edits.length === 0) {
    throw new PromqlScopeError('The query reads no series (it has no metric selector).', 0);
  }
  let scoped = query;
  for (const edit of edits.sort((a, b) => b.from - a.from)) {
    scoped = scoped.slice(0, edit.from) + edit.text + scoped.slice(edit.to);
  }
  return scoped;
}
