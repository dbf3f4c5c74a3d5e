import type { FlatFields } from '../../lib/form-data.ts';

/**
 * What a browser would submit for a rendered form: the successful controls of the HTML, in order,
 * as `c.req.parseBody({ all: true })` hands them to a route. For tests and benchmarks that post a
 * form the engine rendered (it reads only the markup Hono's JSX writes, not arbitrary HTML).
 *
 * Follows the HTML rules that matter here: disabled controls and buttons are skipped (unless a
 * button is the submitter), checkboxes and radios count only when checked, a select without a
 * selected option submits its first one, a textarea drops one leading newline, text-like inputs
 * lose line breaks, url/email inputs are trimmed, a number input that is not a valid number is
 * empty. `<noscript>` content is ignored (the browser has JavaScript).
 */
export function submittedFields(html: string, submitter?: { name: string; value: string }): FlatFields {
  const fields: Array<[string, string]> = [];
  const source = html.replace(/<noscript>[\s\S]*?<\/noscript>/g, '');
  const tag = /<(input|select|textarea|option|\/select)\b([^>]*?)\/?>/g;
  let select: {
    name: string | null;
    disabled: boolean;
    options: Array<{ value: string; selected: boolean }>;
  } | null = null;
  for (let match = tag.exec(source); match; match = tag.exec(source)) {
    const kind = match[1];
    const attrs = attributes(match[2] ?? '');
    if (kind === 'input') {
      const name = attrs.get('name');
      const type = (attrs.get('type') ?? 'text').toLowerCase();
      if (!name || attrs.has('disabled')) continue;
      if (type === 'submit' || type === 'button' || type === 'reset' || type === 'image' || type === 'file')
        continue;
      if ((type === 'checkbox' || type === 'radio') && !attrs.has('checked')) continue;
      fields.push([
        name,
        sanitize(type, attrs.get('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')),
      ]);
    } else if (kind === 'textarea') {
      const close = source.indexOf('</textarea>', tag.lastIndex);
      const text = decodeEntities(source.slice(tag.lastIndex, close === -1 ? undefined : close)).replace(
        /^\r?\n/,
        '',
      );
      const name = attrs.get('name');
      if (name && !attrs.has('disabled')) fields.push([name, text.replace(/\r\n?/g, '\n')]);
    } else if (kind === 'select') {
      select = { name: attrs.get('name') ?? null, disabled: attrs.has('disabled'), options: [] };
    } else if (kind === 'option' && select) {
      const close = source.indexOf('</option>', tag.lastIndex);
      const label = decodeEntities(source.slice(tag.lastIndex, close === -1 ? undefined : close));
      select.options.push({ value: attrs.get('value') ?? label.trim(), selected: attrs.has('selected') });
    } else if (kind === '/select' && select) {
      const chosen = select.options.findLast((o) => o.selected) ?? select.options[0];
      if (select.name && !select.disabled && chosen) fields.push([select.name, chosen.value]);
      select = null;
    }
  }
  if (submitter) fields.push([submitter.name, submitter.value]);
  const out: FlatFields = {};
  for (const [name, value] of fields) {
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else out[name] = [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return out;
}

function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const match of text.matchAll(/([^\s="'/>]+)(?:="([^"]*)")?/g)) {
    out.set((match[1] ?? '').toLowerCase(), decodeEntities(match[2] ?? ''));
  }
  return out;
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) => {
    switch (entity) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      default:
        return "'";
    }
  });
}

const VALID_FLOAT = /^-?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?$/;

function sanitize(type: string, value: string): string {
  switch (type) {
    case 'hidden':
      return value;
    case 'number':
      return VALID_FLOAT.test(value) ? value : '';
    case 'url':
    case 'email':
      return value.replace(/[\r\n]/g, '').trim();
    default:
      return value.replace(/[\r\n]/g, '');
  }
}
