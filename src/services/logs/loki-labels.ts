/**
 * A Loki stream's labels as its protobuf push sends them: one string in Prometheus label-selector
 * syntax, `{job="varlogs", resource_id="api"}`. Values are double-quoted with Go escapes (`\"`,
 * `\\`, `\n`, `\t`, `\r`); names are Prometheus label names. Returns null when the text is not such
 * a selector, so the caller can say which stream was wrong.
 */

const LABEL = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*/y;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };

function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, (_, ch: string) => ESCAPES[ch] ?? `\\${ch}`);
}

export function parseLokiLabels(text: string): Record<string, string> | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return null;
  const inner = trimmed.slice(1, -1);
  const labels: Record<string, string> = {};
  if (inner.trim() === '') return labels;
  let at = 0;
  for (;;) {
    LABEL.lastIndex = at;
    const match = LABEL.exec(inner);
    if (!match?.[1] || match[2] === undefined) return null;
    labels[match[1]] = unescapeValue(match[2]);
    at = LABEL.lastIndex;
    if (at === inner.length) return labels;
    if (inner[at] !== ',') return null;
    at += 1;
    // A trailing comma before the brace is accepted, as Prometheus does.
    if (inner.slice(at).trim() === '') return labels;
  }
}
