import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../router.ts';
import { decodeForm } from '../wire.ts';

/** The small HTML kit of the hosted pages (checkout, portal, invoice): escaping, layout, forms. */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML content and attribute values. */
export function esc(value: string | number | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · stripe-local</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
  header { color: #635bff; font-weight: 600; margin-bottom: 1.5rem; }
  table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
  th, td { text-align: left; padding: .4rem .3rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
  td.amount, th.amount { text-align: right; white-space: nowrap; }
  .total td { font-weight: 600; border-bottom: none; }
  .error { background: #fdecea; color: #9b1c1c; padding: .6rem .8rem; border-radius: .3rem; }
  .notice { background: #e8f5e9; color: #1b5e20; padding: .6rem .8rem; border-radius: .3rem; }
  .muted { color: #6b7280; font-size: .9rem; }
  form.inline { display: inline; }
  button { background: #635bff; color: white; border: 0; border-radius: .3rem; padding: .55rem 1.1rem; font-size: 1rem; cursor: pointer; }
  button.secondary { background: #e5e7eb; color: #111827; }
  input, select { font-size: 1rem; padding: .4rem; }
  section { border: 1px solid #e3e3e3; border-radius: .4rem; padding: .8rem 1rem; margin: 1rem 0; }
</style>
</head>
<body>
<header>stripe-local · test mode</header>
${body}
</body>
</html>`;
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

/** The fields of a posted `application/x-www-form-urlencoded` form (flat). */
export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const decoded = decodeForm(await readBody(req));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(decoded)) {
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}
