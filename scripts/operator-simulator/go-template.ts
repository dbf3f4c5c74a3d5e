/**
 * A small subset of Go's text/template, enough to render db-query-operator's templates in the
 * operator simulator and the contract tests. Go does not run here, so this renderer follows the Go
 * semantics that matter for the manifests in deploy/operator and refuses everything else with an
 * error that names what is unsupported, instead of rendering something Go would not.
 *
 * Supported:
 * - text, actions `{{ … }}`, trim markers `{{- ` and ` -}}`, comments `{{/* … *\/}}`;
 * - field paths from the data (`.Row.settings_json.instances`, `.Resource.metadata.name`) and `.`;
 *   a missing map key gives "no value" (printed `<no value>`, false in `if`), a field of a JSON
 *   null is an error, a field of a string or number is an error — as in Go;
 * - literals: "strings" with Go escapes, `raw strings`, numbers, true, false, nil;
 * - pipelines `a | f x | g`, parenthesised pipelines as arguments `(f x)`;
 * - `if` / `else if` / `else` / `end`, with Go's truthiness;
 * - the functions `default`, `index`, `replace`, `quote`, `squote` (Sprig and Go builtins) and
 *   `toJson` (Helm's, which db-query-operator adds to Sprig).
 *
 * Not supported (an error says so): variables, `with`, `range`, `define`/`template`/`block`,
 * comparison and logic functions (`eq`, `and`, …) and every other Sprig function.
 *
 * Known differences from Go: every JavaScript number is printed as Go prints an int64, so a JSON
 * number of a million or more prints `1000000` here where Go prints the float64 as `1e+06` — pass
 * numbers from JSON columns through `toJson`, which both print alike.
 */

export class GoTemplateError extends Error {
  override name = 'GoTemplateError';
}

export const SUPPORTED_FUNCTIONS = ['default', 'index', 'quote', 'replace', 'squote', 'toJson'] as const;
type FunctionName = (typeof SUPPORTED_FUNCTIONS)[number];

const UNSUPPORTED_KEYWORDS = new Set(['with', 'range', 'define', 'template', 'block', 'break', 'continue']);

type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'function'; name: FunctionName }
  | { kind: 'pipeline'; pipeline: Pipeline };

interface Command {
  operands: Operand[];
}

interface Pipeline {
  commands: Command[];
  line: number;
}

type TemplateNode =
  | { type: 'text'; text: string }
  | { type: 'action'; pipeline: Pipeline }
  | {
      type: 'if';
      branches: Array<{ condition: Pipeline; body: TemplateNode[] }>;
      otherwise: TemplateNode[] | null;
    };

export interface ParsedGoTemplate {
  name: string;
  nodes: TemplateNode[];
}

/** "No value": a missing map key, as Go's invalid reflect.Value (distinct from a JSON null). */
const NO_VALUE = undefined;

function fail(name: string, line: number, message: string): never {
  throw new GoTemplateError(`template: ${name}:${line}: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Lexing the template into text and actions

interface RawAction {
  kind: 'action' | 'comment';
  content: string;
  line: number;
}

const isTrimSpace = (ch: string | undefined) => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';

/** Index of the `}}` closing the action whose content starts at `from`, skipping quoted text. */
function findClose(source: string, from: number, name: string, line: number): number {
  let i = from;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '}' && source[i + 1] === '}') return i;
    if (ch === '"' || ch === "'") {
      i++;
      while (i < source.length && source[i] !== ch) {
        if (source[i] === '\\') i++;
        if (source[i] === '\n') fail(name, line, 'unterminated quoted string');
        i++;
      }
      if (i >= source.length) fail(name, line, 'unterminated quoted string');
    } else if (ch === '`') {
      const end = source.indexOf('`', i + 1);
      if (end < 0) fail(name, line, 'unterminated raw quoted string');
      i = end;
    }
    i++;
  }
  fail(name, line, 'unclosed action');
}

function lexTemplate(source: string, name: string): Array<string | RawAction> {
  const items: Array<string | RawAction> = [];
  let pos = 0;
  let line = 1;
  let trimNext = false;
  const pushText = (text: string) => {
    items.push(trimNext ? text.replace(/^[ \t\r\n]+/, '') : text);
    trimNext = false;
  };
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    if (open < 0) {
      pushText(source.slice(pos));
      break;
    }
    pushText(source.slice(pos, open));
    line += countNewlines(source, pos, open);
    let start = open + 2;
    const trimLeft = source[start] === '-' && isTrimSpace(source[start + 1]);
    if (trimLeft) {
      start += 2;
      const last = items.length - 1;
      if (typeof items[last] === 'string') items[last] = (items[last] as string).replace(/[ \t\r\n]+$/, '');
    }
    let end: number;
    let close: number;
    let kind: RawAction['kind'] = 'action';
    if (source.startsWith('/*', start)) {
      // A comment must end at the delimiter: `*/}}`, or `*/ -}}` to trim what follows.
      kind = 'comment';
      const commentEnd = source.indexOf('*/', start + 2);
      if (commentEnd < 0) fail(name, line, 'unclosed comment');
      end = commentEnd + 2;
      if (source.startsWith('}}', end)) close = end;
      else if (isTrimSpace(source[end]) && source.startsWith('-}}', end + 1)) close = end + 2;
      else fail(name, line, 'comment ends before closing delimiter');
    } else {
      close = findClose(source, start, name, line);
      end = close;
    }
    const trimRight = source[close - 1] === '-' && isTrimSpace(source[close - 2]) && close - 2 >= start;
    if (kind === 'action' && trimRight) end = close - 2;
    items.push({ kind, content: source.slice(start, end), line });
    line += countNewlines(source, open, close + 2);
    trimNext = trimRight;
    pos = close + 2;
  }
  return items;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (text[i] === '\n') count++;
  return count;
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing one action

type Token =
  | { t: 'pipe' }
  | { t: 'open' }
  | { t: 'close' }
  | { t: 'field'; path: string[] }
  | { t: 'ident'; name: string }
  | { t: 'literal'; value: unknown };

const IDENT = /^[\p{L}_][\p{L}\p{N}_]*/u;
const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;

function lexAction(content: string, name: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < content.length) {
    const ch = content[i] as string;
    const rest = content.slice(i);
    if (isTrimSpace(ch)) {
      i++;
    } else if (ch === '|') {
      if (content[i + 1] === '|') fail(name, line, 'unexpected "||" in command');
      tokens.push({ t: 'pipe' });
      i++;
    } else if (ch === '(') {
      tokens.push({ t: 'open' });
      i++;
    } else if (ch === ')') {
      tokens.push({ t: 'close' });
      i++;
    } else if (ch === '"') {
      const { value, length } = readQuoted(content, i, name, line);
      tokens.push({ t: 'literal', value });
      i += length;
    } else if (ch === '`') {
      const end = content.indexOf('`', i + 1);
      if (end < 0) fail(name, line, 'unterminated raw quoted string');
      tokens.push({ t: 'literal', value: content.slice(i + 1, end) });
      i = end + 1;
    } else if (ch === '.' && !/^\.\d/.test(rest)) {
      const path: string[] = [];
      let j = i;
      while (content[j] === '.') {
        const ident = IDENT.exec(content.slice(j + 1));
        if (!ident) {
          if (path.length === 0) break;
          fail(name, line, `bad character after "." in field ${JSON.stringify(`.${path.join('.')}.`)}`);
        }
        path.push(ident[0]);
        j += 1 + ident[0].length;
      }
      tokens.push({ t: 'field', path });
      i = path.length === 0 ? i + 1 : j;
    } else if (ch === '$') {
      fail(name, line, 'variables ($…) are not supported by this Go-template subset');
    } else if (ch === "'") {
      fail(name, line, 'character constants are not supported by this Go-template subset');
    } else if (rest.startsWith(':=') || ch === '=' || ch === ',') {
      fail(
        name,
        line,
        `"${ch === ':' ? ':=' : ch}" (variable declaration or range) is not supported by this Go-template subset`,
      );
    } else {
      const number = NUMBER.exec(rest);
      if (number && (ch !== '+' && ch !== '-' ? true : /\d|\./.test(rest[1] ?? ''))) {
        const text = number[0].replaceAll('_', '');
        const value = /^[+-]?0[xX]/.test(text) ? Number.parseInt(text, 16) : Number(text);
        if (Number.isNaN(value)) fail(name, line, `bad number syntax: ${JSON.stringify(number[0])}`);
        tokens.push({ t: 'literal', value });
        i += number[0].length;
        continue;
      }
      const ident = IDENT.exec(rest);
      if (!ident) fail(name, line, `unexpected ${JSON.stringify(ch)} in command`);
      tokens.push({ t: 'ident', name: ident[0] });
      i += ident[0].length;
    }
  }
  return tokens;
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
  '"': '"',
};

/** A Go interpreted string literal at `start`: its value and its length in the source. */
function readQuoted(content: string, start: number, name: string, line: number) {
  let value = '';
  let i = start + 1;
  while (i < content.length && content[i] !== '"') {
    const ch = content[i] as string;
    if (ch !== '\\') {
      value += ch;
      i++;
      continue;
    }
    const next = content[i + 1] ?? '';
    if (next in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[next];
      i += 2;
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const digits = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = content.slice(i + 2, i + 2 + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex))
        fail(name, line, 'invalid escape in quoted string');
      value +=
        next === 'x'
          ? String.fromCharCode(Number.parseInt(hex, 16))
          : String.fromCodePoint(Number.parseInt(hex, 16));
      i += 2 + digits;
    } else if (/[0-7]/.test(next)) {
      const octal = content.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(octal)) fail(name, line, 'invalid escape in quoted string');
      value += String.fromCharCode(Number.parseInt(octal, 8));
      i += 4;
    } else {
      fail(name, line, `unknown escape sequence "\\${next}" in quoted string`);
    }
  }
  if (i >= content.length) fail(name, line, 'unterminated quoted string');
  return { value, length: i + 1 - start };
}

function isSupportedFunction(name: string): name is FunctionName {
  return (SUPPORTED_FUNCTIONS as readonly string[]).includes(name);
}

class ActionParser {
  private index = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly name: string,
    private readonly line: number,
  ) {}

  done(): boolean {
    return this.index >= this.tokens.length;
  }

  pipeline(inParens: boolean): Pipeline {
    const commands: Command[] = [];
    for (;;) {
      const operands: Operand[] = [];
      while (!this.done()) {
        const token = this.tokens[this.index] as Token;
        if (token.t === 'pipe' || token.t === 'close') break;
        this.index++;
        operands.push(this.operand(token));
      }
      if (operands.length === 0) fail(this.name, this.line, 'missing value for command');
      const first = operands[0] as Operand;
      if (first.kind !== 'function') {
        if (operands.length > 1) fail(this.name, this.line, "can't give argument to non-function");
        if (commands.length > 0) fail(this.name, this.line, "can't give argument to non-function");
        if (first.kind === 'literal' && first.value === null)
          fail(this.name, this.line, 'nil is not a command');
      }
      commands.push({ operands });
      const next = this.tokens[this.index];
      if (next?.t === 'pipe') {
        this.index++;
        continue;
      }
      if (next?.t === 'close') {
        if (!inParens) fail(this.name, this.line, 'unexpected right paren');
        this.index++;
        return { commands, line: this.line };
      }
      if (inParens) fail(this.name, this.line, 'unclosed left paren');
      return { commands, line: this.line };
    }
  }

  private operand(token: Token): Operand {
    switch (token.t) {
      case 'field':
        return { kind: 'field', path: token.path };
      case 'literal':
        return { kind: 'literal', value: token.value };
      case 'open': {
        const pipeline = this.pipeline(true);
        if (this.tokens[this.index]?.t === 'field')
          fail(
            this.name,
            this.line,
            'a field of a parenthesised pipeline is not supported by this Go-template subset',
          );
        return { kind: 'pipeline', pipeline };
      }
      case 'ident': {
        if (token.name === 'true' || token.name === 'false')
          return { kind: 'literal', value: token.name === 'true' };
        if (token.name === 'nil') return { kind: 'literal', value: null };
        if (UNSUPPORTED_KEYWORDS.has(token.name) || ['if', 'else', 'end'].includes(token.name))
          fail(this.name, this.line, `unexpected keyword "${token.name}" in command`);
        if (!isSupportedFunction(token.name))
          fail(
            this.name,
            this.line,
            `function "${token.name}" is not supported by this Go-template subset (supported: ${SUPPORTED_FUNCTIONS.join(', ')})`,
          );
        return { kind: 'function', name: token.name };
      }
      default:
        fail(this.name, this.line, `unexpected "${token.t === 'pipe' ? '|' : ')'}" in command`);
    }
  }
}

type ActionKind =
  | { kind: 'pipeline'; pipeline: Pipeline }
  | { kind: 'if'; condition: Pipeline }
  | { kind: 'else-if'; condition: Pipeline }
  | { kind: 'else' }
  | { kind: 'end' };

function parseAction(content: string, name: string, line: number): ActionKind {
  const tokens = lexAction(content, name, line);
  const first = tokens[0];
  if (!first) fail(name, line, 'missing value for command');
  const parsePipeline = (from: number) => {
    const parser = new ActionParser(tokens.slice(from), name, line);
    const pipeline = parser.pipeline(false);
    if (!parser.done()) fail(name, line, 'unexpected tokens after pipeline');
    return pipeline;
  };
  if (first.t === 'ident') {
    if (UNSUPPORTED_KEYWORDS.has(first.name))
      fail(name, line, `"{{${first.name}}}" is not supported by this Go-template subset (only if/else/end)`);
    if (first.name === 'if') {
      if (tokens.length === 1) fail(name, line, 'missing value for if');
      return { kind: 'if', condition: parsePipeline(1) };
    }
    if (first.name === 'end') {
      if (tokens.length > 1) fail(name, line, 'unexpected tokens after end');
      return { kind: 'end' };
    }
    if (first.name === 'else') {
      if (tokens.length === 1) return { kind: 'else' };
      const second = tokens[1];
      if (second?.t === 'ident' && second.name === 'if') {
        if (tokens.length === 2) fail(name, line, 'missing value for if');
        return { kind: 'else-if', condition: parsePipeline(2) };
      }
      if (second?.t === 'ident' && UNSUPPORTED_KEYWORDS.has(second.name))
        fail(name, line, `"{{else ${second.name}}}" is not supported by this Go-template subset`);
      fail(name, line, 'unexpected tokens after else');
    }
  }
  return { kind: 'pipeline', pipeline: parsePipeline(0) };
}

// ---------------------------------------------------------------------------------------------
// Building the tree

export function parseGoTemplate(source: string, name = 'template'): ParsedGoTemplate {
  const items = lexTemplate(source, name);
  let position = 0;

  // Parses nodes until an else/end at this level; answers what stopped it.
  const parseList = (
    openedAt: number | null,
  ): { nodes: TemplateNode[]; stop: ActionKind | null; line: number } => {
    const nodes: TemplateNode[] = [];
    while (position < items.length) {
      const item = items[position++] as string | RawAction;
      if (typeof item === 'string') {
        if (item !== '') nodes.push({ type: 'text', text: item });
        continue;
      }
      if (item.kind === 'comment') continue;
      const action = parseAction(item.content, name, item.line);
      if (action.kind === 'pipeline') {
        nodes.push({ type: 'action', pipeline: action.pipeline });
      } else if (action.kind === 'if') {
        nodes.push(parseIf(action.condition, item.line));
      } else {
        if (openedAt === null)
          fail(name, item.line, `unexpected {{${action.kind === 'else-if' ? 'else if' : action.kind}}}`);
        return { nodes, stop: action, line: item.line };
      }
    }
    if (openedAt !== null) fail(name, openedAt, 'unexpected EOF: {{if}} without {{end}}');
    return { nodes, stop: null, line: 0 };
  };

  const parseIf = (firstCondition: Pipeline, line: number): TemplateNode => {
    const branches: Array<{ condition: Pipeline; body: TemplateNode[] }> = [];
    let condition = firstCondition;
    for (;;) {
      const { nodes, stop, line: stopLine } = parseList(line);
      branches.push({ condition, body: nodes });
      if (stop?.kind === 'end') return { type: 'if', branches, otherwise: null };
      if (stop?.kind === 'else-if') {
        condition = stop.condition;
        continue;
      }
      // {{else}}: the rest up to {{end}}, which must not be another else.
      const rest = parseList(line);
      if (rest.stop?.kind !== 'end') fail(name, rest.line || stopLine, 'expected {{end}} after {{else}}');
      return { type: 'if', branches, otherwise: rest.nodes };
    }
  };

  return { name, nodes: parseList(null).nodes };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export function renderGoTemplate(source: string | ParsedGoTemplate, data: unknown, name?: string): string {
  const template = typeof source === 'string' ? parseGoTemplate(source, name) : source;
  let out = '';
  const walk = (nodes: TemplateNode[]) => {
    for (const node of nodes) {
      if (node.type === 'text') out += node.text;
      else if (node.type === 'action') out += printValue(evalPipeline(template.name, node.pipeline, data));
      else {
        const branch = node.branches.find((candidate) =>
          isTrue(evalPipeline(template.name, candidate.condition, data)),
        );
        if (branch) walk(branch.body);
        else if (node.otherwise) walk(node.otherwise);
      }
    }
  };
  walk(template.nodes);
  return out;
}

const NONE = Symbol('no piped value');

function evalPipeline(name: string, pipeline: Pipeline, data: unknown): unknown {
  let value: unknown = NONE;
  for (const command of pipeline.commands) {
    value = evalCommand(name, pipeline.line, command, data, value);
    // Go unwraps a nil interface{} between commands into "no value".
    if (value === null) value = NO_VALUE;
  }
  return value;
}

function evalCommand(name: string, line: number, command: Command, data: unknown, piped: unknown): unknown {
  const [first, ...rest] = command.operands as [Operand, ...Operand[]];
  if (first.kind !== 'function') return evalOperand(name, line, first, data);
  const args = rest.map((operand) => evalOperand(name, line, operand, data));
  if (piped !== NONE) args.push(piped);
  return callFunction(name, line, first.name, args);
}

function evalOperand(name: string, line: number, operand: Operand, data: unknown): unknown {
  switch (operand.kind) {
    case 'literal':
      return operand.value;
    case 'field':
      return evalField(name, line, operand.path, data);
    case 'function':
      return callFunction(name, line, operand.name, []);
    case 'pipeline':
      return evalPipeline(name, operand.pipeline, data);
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function evalField(name: string, line: number, path: string[], data: unknown): unknown {
  let current: unknown = data;
  for (const segment of path) {
    // A missing key yields "no value", and a field of "no value" is again "no value" (Go returns
    // the zero value for an invalid receiver); a field of a present nil is an error.
    if (current === NO_VALUE) return NO_VALUE;
    if (current === null) fail(name, line, `nil pointer evaluating interface {}.${segment}`);
    if (!isMap(current)) fail(name, line, `can't evaluate field ${segment} in type ${goTypeName(current)}`);
    current = Object.hasOwn(current, segment) ? current[segment] : NO_VALUE;
  }
  return current;
}

function goTypeName(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int64' : 'float64';
  if (Array.isArray(value)) return '[]interface {}';
  if (value instanceof Date) return 'time.Time';
  if (isMap(value)) return 'map[string]interface {}';
  return typeof value;
}

function callFunction(name: string, line: number, fn: FunctionName, args: unknown[]): unknown {
  const arity = (min: number, max = min) => {
    if (args.length < min || args.length > max) {
      const want =
        max === min ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min} to ${max}`;
      fail(name, line, `wrong number of args for ${fn}: want ${want} got ${args.length}`);
    }
  };
  switch (fn) {
    case 'default': {
      arity(1, Number.POSITIVE_INFINITY);
      const given = args.length > 1 ? args[1] : NO_VALUE;
      return isEmpty(given) ? args[0] : given;
    }
    case 'index': {
      arity(1, Number.POSITIVE_INFINITY);
      let item = args[0];
      for (const key of args.slice(1)) {
        if (item === null || item === NO_VALUE) fail(name, line, 'error calling index: index of untyped nil');
        if (Array.isArray(item)) {
          if (typeof key !== 'number' || !Number.isInteger(key))
            fail(name, line, `error calling index: cannot index slice/array with type ${goTypeName(key)}`);
          if (key < 0 || key >= item.length)
            fail(name, line, `error calling index: index out of range: ${key}`);
          item = item[key];
        } else if (isMap(item)) {
          if (typeof key !== 'string')
            fail(name, line, `error calling index: value has type ${goTypeName(key)}; should be string`);
          // A missing key gives the map's zero value: a nil interface.
          item = Object.hasOwn(item, key) ? item[key] : null;
        } else {
          fail(name, line, `error calling index: can't index item of type ${goTypeName(item)}`);
        }
      }
      return item;
    }
    case 'replace': {
      arity(3);
      args.forEach((arg, position) => {
        if (arg === null || arg === NO_VALUE)
          fail(name, line, `invalid value; expected string (argument ${position + 1} of replace)`);
        if (typeof arg !== 'string')
          fail(
            name,
            line,
            `wrong type for value; expected string; got ${goTypeName(arg)} (argument ${position + 1} of replace)`,
          );
      });
      const [from, to, text] = args as [string, string, string];
      // strings.Replace with an empty `old` inserts `new` between every rune, as Go does.
      if (from === '') return [...text].reduce((acc, ch) => acc + ch + to, to);
      return text.split(from).join(to);
    }
    case 'quote':
      return args
        .filter((arg) => arg !== null && arg !== NO_VALUE)
        .map((arg) => goQuote(stringValue(arg)))
        .join(' ');
    case 'squote':
      return args
        .filter((arg) => arg !== null && arg !== NO_VALUE)
        .map((arg) => `'${stringValue(arg)}'`)
        .join(' ');
    case 'toJson':
      arity(1);
      return goJson(args[0]);
  }
}

/** Sprig's `empty`: nil, zero numbers, false, and empty strings, lists and maps. */
function isEmpty(value: unknown): boolean {
  if (value === null || value === NO_VALUE) return true;
  if (typeof value === 'string' || Array.isArray(value)) return value.length === 0;
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'number') return value === 0;
  if (isMap(value)) return Object.keys(value).length === 0;
  return false;
}

/** Go's truthiness in `if`. */
function isTrue(value: unknown): boolean {
  if (value === null || value === NO_VALUE) return false;
  if (typeof value === 'string' || Array.isArray(value)) return value.length > 0;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  return true;
}

function stringValue(value: unknown): string {
  return typeof value === 'string' ? value : printValue(value);
}

/** fmt's %v of the values a decoded row or Kubernetes object holds. */
function printValue(value: unknown, nested = false): string {
  if (value === null || value === NO_VALUE) return nested ? '<nil>' : '<no value>';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return formatGoNumber(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map((item) => printValue(item, true)).join(' ')}]`;
  if (isMap(value))
    return `map[${Object.keys(value)
      .sort()
      .map((key) => `${key}:${printValue(value[key], true)}`)
      .join(' ')}]`;
  return String(value);
}

/** An integral number as Go prints an int64; any other as %v prints a float64 (%g, shortest). */
function formatGoNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('-', '').replace('.', '').length;
  let precision = 6;
  if (precision > digits && digits >= exponent + 1) precision = digits;
  if (exponent < -4 || exponent >= precision) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const QUOTE_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's %q (strconv.Quote): printable runes as they are, everything else escaped. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const escaped = QUOTE_ESCAPES[ch];
    if (escaped) out += escaped;
    else if (PRINTABLE.test(ch)) out += ch;
    else {
      const code = ch.codePointAt(0) ?? 0;
      if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\U${code.toString(16).padStart(8, '0')}`;
    }
  }
  return `${out}"`;
}

/** Go's encoding/json: sorted map keys, HTML characters and line separators escaped. */
export function goJson(value: unknown): string {
  const sortKeys = (node: unknown): unknown => {
    if (node === NO_VALUE) return null;
    if (Array.isArray(node)) return node.map(sortKeys);
    if (isMap(node)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(node).sort()) sorted[key] = sortKeys(node[key]);
      return sorted;
    }
    return node;
  };
  return (JSON.stringify(sortKeys(value)) ?? 'null')
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

// ---------------------------------------------------------------------------------------------
// Static inspection

/**
 * Every data path the template reads: field chains (`.Row.settings_json.instances` →
 * ['Row', 'settings_json', 'instances']) and `index` calls on a field with literal keys
 * (`index .Resource.metadata.annotations "a/b"` → [..., 'annotations', 'a/b']).
 */
export function referencedPaths(template: string | ParsedGoTemplate, name?: string): string[][] {
  const parsed = typeof template === 'string' ? parseGoTemplate(template, name) : template;
  const paths: string[][] = [];
  const visitPipeline = (pipeline: Pipeline) => {
    for (const command of pipeline.commands) {
      const [first, ...rest] = command.operands as [Operand, ...Operand[]];
      if (first.kind === 'function' && first.name === 'index' && rest[0]?.kind === 'field') {
        const keys: string[] = [];
        for (const operand of rest.slice(1)) {
          if (
            operand.kind !== 'literal' ||
            (typeof operand.value !== 'string' && typeof operand.value !== 'number')
          )
            break;
          keys.push(String(operand.value));
        }
        paths.push([...rest[0].path, ...keys]);
        rest.slice(1).forEach(visitOperand);
      } else {
        command.operands.forEach(visitOperand);
      }
    }
  };
  const visitOperand = (operand: Operand) => {
    if (operand.kind === 'field') paths.push(operand.path);
    else if (operand.kind === 'pipeline') visitPipeline(operand.pipeline);
  };
  const visitNodes = (nodes: TemplateNode[]) => {
    for (const node of nodes) {
      if (node.type === 'action') visitPipeline(node.pipeline);
      else if (node.type === 'if') {
        for (const branch of node.branches) {
          visitPipeline(branch.condition);
          visitNodes(branch.body);
        }
        if (node.otherwise) visitNodes(node.otherwise);
      }
    }
  };
  visitNodes(parsed.nodes);
  return paths;
}
