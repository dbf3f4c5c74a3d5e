import { describe, expect, it } from 'vitest';
import {
  GoTemplateError,
  goQuote,
  parseGoTemplate,
  referencedPaths,
  renderGoTemplate,
} from '../../scripts/operator-simulator/go-template.ts';

/**
 * The Go-template subset the operator simulator renders manifests with. Expected outputs are what
 * Go's text/template with Sprig prints for the same template and data (worked out from Go's
 * documented semantics; Go itself does not run here).
 */

const data = {
  Row: {
    resource_id: 'graph-1',
    generation: 3,
    settings_json: {
      instances: 2,
      ratio: 0.5,
      eventRoutes: [{ name: 'all', filters: [] }],
      database: { storageSize: '10Gi', backupEnabled: false },
      nothing: null,
      empty: '',
    },
    message: "it's <ok> & done",
  },
  Resource: {
    metadata: { name: 'graph-1', annotations: { 'ktrlplane.io/generation': '3' } },
    status: { conditions: [{ type: 'Ready', status: 'True', message: 'fine' }] },
  },
};

const render = (template: string) => renderGoTemplate(template, data);
const fails = (template: string) => () => render(template);

describe('field paths', () => {
  it('read nested map keys and print them as Go does', () => {
    expect(render('{{ .Row.resource_id }}/{{ .Row.settings_json.instances }}')).toBe('graph-1/2');
    expect(render('{{ .Row.settings_json.database.backupEnabled }}')).toBe('false');
    expect(render('{{ .Row.settings_json.ratio }}')).toBe('0.5');
  });

  it('print a missing key as <no value>, also through further fields', () => {
    expect(render('{{ .Row.missing }}')).toBe('<no value>');
    expect(render('{{ .Row.missing.deeper.still }}')).toBe('<no value>');
    expect(render('{{ .Row.settings_json.nothing }}')).toBe('<no value>');
  });

  it('print lists and maps in fmt %v form', () => {
    expect(render('{{ .Row.settings_json.eventRoutes }}')).toBe('[map[filters:[] name:all]]');
    expect(render('{{ .Row.settings_json.database }}')).toBe('map[backupEnabled:false storageSize:10Gi]');
  });

  it('refuse a field of a JSON null or of a scalar', () => {
    expect(fails('{{ .Row.settings_json.nothing.x }}')).toThrow(/nil pointer evaluating interface \{\}\.x/);
    expect(fails('{{ .Row.resource_id.x }}')).toThrow(/can't evaluate field x in type string/);
  });

  it('print the whole data for a lone dot', () => {
    expect(renderGoTemplate('{{ . }}', { a: 1 })).toBe('map[a:1]');
  });
});

describe('functions and pipelines', () => {
  it('default replaces nil, missing and empty values, not others', () => {
    expect(render('{{ .Row.missing | default "d" }}')).toBe('d');
    expect(render('{{ .Row.settings_json.nothing | default "d" }}')).toBe('d');
    expect(render('{{ .Row.settings_json.empty | default "d" }}')).toBe('d');
    expect(render('{{ .Row.settings_json.database.backupEnabled | default true }}')).toBe('true');
    expect(render('{{ .Row.settings_json.instances | default 1 }}')).toBe('2');
    expect(render('{{ default "d" .Row.resource_id }}')).toBe('graph-1');
  });

  it('index reads map keys that are not identifiers and list items', () => {
    expect(render('{{ index .Resource.metadata.annotations "ktrlplane.io/generation" }}')).toBe('3');
    expect(render('{{ index .Resource.status.conditions 0 "message" }}')).toBe('fine');
    expect(render('{{ index .Resource.metadata.annotations "absent" | default "none" }}')).toBe('none');
    expect(fails('{{ index .Row.missing "a" }}')).toThrow(/index of untyped nil/);
    expect(fails('{{ index .Resource.status.conditions 1 }}')).toThrow(/index out of range: 1/);
    expect(fails('{{ index .Resource.status.conditions "a" }}')).toThrow(
      /cannot index slice\/array with type string/,
    );
  });

  it('replace works on strings only, as Sprig declares it', () => {
    expect(render(`{{ .Row.message | replace "'" "''" }}`)).toBe("it''s <ok> & done");
    expect(render('{{ replace "" "-" "ab" }}')).toBe('-a-b-');
    expect(fails('{{ .Row.generation | replace "1" "2" }}')).toThrow(/expected string; got int64/);
    expect(fails('{{ .Row.missing | replace "a" "b" }}')).toThrow(/invalid value; expected string/);
  });

  it('quote is Go %q of the value, squote wraps in single quotes; nil arguments are skipped', () => {
    expect(render('{{ .Row.generation | quote }}')).toBe('"3"');
    expect(render('{{ quote .Row.resource_id .Row.missing .Row.generation }}')).toBe('"graph-1" "3"');
    expect(render('{{ .Row.message | squote }}')).toBe("'it's <ok> & done'");
    expect(render('{{ .Row.missing | quote }}')).toBe('');
    expect(goQuote('a"b\\c\nd\te\u0001\u00e9\u2028\u{1F600}')).toBe('"a\\"b\\\\c\\nd\\te\\x01é\\u2028😀"');
  });

  it('toJson sorts keys and escapes HTML characters, like encoding/json', () => {
    expect(render('{{ .Row.settings_json.database | toJson }}')).toBe(
      '{"backupEnabled":false,"storageSize":"10Gi"}',
    );
    expect(render('{{ .Row.message | toJson }}')).toBe('"it\'s \\u003cok\\u003e \\u0026 done"');
    expect(render('{{ .Row.missing | toJson }}')).toBe('null');
  });

  it('pass each result to the next command as its last argument', () => {
    expect(render('{{ .Row.missing | default "x\'y" | replace "\'" "\'\'" | quote }}')).toBe(`"x''y"`);
    expect(render('{{ quote (index .Resource.metadata.annotations "ktrlplane.io/generation") }}')).toBe(
      '"3"',
    );
  });

  it('refuse functions outside the subset, naming the supported ones', () => {
    expect(fails('{{ .Row.resource_id | upper }}')).toThrow(
      /function "upper" is not supported by this Go-template subset \(supported: default, index, quote, replace, squote, toJson\)/,
    );
    expect(fails('{{ if eq .Row.generation 3 }}x{{ end }}')).toThrow(/function "eq" is not supported/);
    expect(() => parseGoTemplate('{{ toYaml .Row }}')).toThrow(GoTemplateError);
  });

  it('refuse arguments to a non-function and wrong argument counts', () => {
    expect(fails('{{ .Row.resource_id | .Row.generation }}')).toThrow(/can't give argument to non-function/);
    expect(fails('{{ replace "a" "b" }}')).toThrow(/wrong number of args for replace: want 3 got 2/);
    expect(fails('{{ toJson }}')).toThrow(/wrong number of args for toJson/);
  });
});

describe('literals', () => {
  it('read Go string, raw string, number, boolean and nil literals', () => {
    expect(render('{{ "a\\tb\\x41\\u00e9\\101" }}')).toBe('a\tbAéA');
    expect(render('{{ `raw \\n` }}')).toBe('raw \\n');
    expect(render('{{ 42 }} {{ -1.5 }} {{ 1e3 }} {{ 0x1F }}')).toBe('42 -1.5 1000 31');
    expect(render('{{ true }} {{ false | default "f" }} {{ default "n" nil }}')).toBe('true f n');
  });

  it('refuse unknown escapes and nil as a command', () => {
    expect(fails('{{ "\\q" }}')).toThrow(/unknown escape sequence/);
    expect(fails('{{ nil }}')).toThrow(/nil is not a command/);
  });
});

describe('if / else', () => {
  it('chooses by Go truthiness', () => {
    const pick = (field: string) => render(`{{ if ${field} }}yes{{ else }}no{{ end }}`);
    expect(pick('.Row.resource_id')).toBe('yes');
    expect(pick('.Row.missing')).toBe('no');
    expect(pick('.Row.settings_json.nothing')).toBe('no');
    expect(pick('.Row.settings_json.empty')).toBe('no');
    expect(pick('.Row.settings_json.database.backupEnabled')).toBe('no');
    expect(pick('.Row.settings_json.eventRoutes')).toBe('yes');
    expect(pick('0')).toBe('no');
    expect(() => pick('.Row.settings_json.eventRoutes.x')).toThrow(
      /can't evaluate field x in type \[\]interface \{\}/,
    );
  });

  it('supports else if chains and nesting', () => {
    const template =
      '{{ if .Row.missing }}a{{ else if .Row.settings_json.empty }}b{{ else if .Row.generation }}{{ if .Row.missing }}c{{ else }}d{{ end }}{{ end }}';
    expect(render(template)).toBe('d');
    expect(render('{{ if .Row.missing }}a{{ end }}')).toBe('');
  });

  it('reports unbalanced blocks with their line', () => {
    expect(fails('line one\n{{ if .Row.x }}\nno end')).toThrow(/template: template:2: unexpected EOF/);
    expect(fails('{{ end }}')).toThrow(/unexpected \{\{end\}\}/);
    expect(fails('{{ else }}')).toThrow(/unexpected \{\{else\}\}/);
    expect(fails('{{ if .a }}{{ else }}{{ else }}{{ end }}')).toThrow(
      /expected \{\{end\}\} after \{\{else\}\}/,
    );
    expect(fails('{{ if }}{{ end }}')).toThrow(/missing value for if/);
  });
});

describe('whitespace and comments', () => {
  it('trims white space, newlines included, beside {{- and -}}', () => {
    expect(render('a  \n {{- .Row.generation -}} \n\t b')).toBe('a3b');
    expect(render('a {{- .Row.generation }} b')).toBe('a3 b');
    expect(render('a {{ .Row.generation -}} b')).toBe('a 3b');
  });

  it('does not take a minus sign for a trim marker', () => {
    expect(render('{{-3}}')).toBe('-3');
    expect(render('{{ 3 }}-{{ 4 }}')).toBe('3-4');
  });

  it('drops comments, trimmed or not', () => {
    expect(render('a{{/* note */}}b')).toBe('ab');
    expect(render('a \n{{- /* multi\nline */ -}}\n b')).toBe('ab');
    expect(fails('{{/* note */ x }}')).toThrow(/comment ends before closing delimiter/);
  });

  it('finds the closing delimiter past quoted braces', () => {
    expect(render('{{ "}}" }}!')).toBe('}}!');
  });
});

describe('what the subset refuses', () => {
  it.each([
    ['{{ range .Row.settings_json.eventRoutes }}x{{ end }}', /"\{\{range\}\}" is not supported/],
    ['{{ with .Row }}x{{ end }}', /"\{\{with\}\}" is not supported/],
    ['{{ template "x" }}', /"\{\{template\}\}" is not supported/],
    ['{{ $x := 1 }}', /variables \(\$…\) are not supported/],
    ['{{ .Row.resource_id', /unclosed action/],
    ['{{ "open }}', /unterminated quoted string/],
    [
      '{{ (index .Resource.status.conditions 0).message }}',
      /field of a parenthesised pipeline is not supported/,
    ],
  ])('%s', (template, message) => {
    expect(fails(template)).toThrow(message);
  });
});

describe('referencedPaths', () => {
  it('lists field chains and index paths, in conditions and arguments too', () => {
    const paths = referencedPaths(
      '{{ .Row.a.b }}{{ index .Row "c" "d" }}{{ if .Row.e }}{{ .Row.f | default .Row.g }}{{ end }}{{ quote (index .Resource.x 0) }}',
    );
    expect(paths).toEqual([
      ['Row', 'a', 'b'],
      ['Row', 'c', 'd'],
      ['Row', 'e'],
      ['Row', 'f'],
      ['Row', 'g'],
      ['Resource', 'x', '0'],
    ]);
  });
});
