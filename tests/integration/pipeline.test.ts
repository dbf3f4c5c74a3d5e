import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../src/app.ts';
import type { AppEnv } from '../../src/lib/app-env.ts';
import { dnsLabel } from '../../src/lib/ids.ts';
import { parseInput, pathId, readBody } from '../../src/lib/input.ts';
import { useTestApp } from '../helpers/test-app.ts';

const BROWSER = {
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  Origin: 'http://localhost',
};
const JSON_ACCEPT = { Accept: 'application/json', Origin: 'http://localhost' };

describe('request pipeline', () => {
  const t = useTestApp({ BODY_LIMIT_BYTES: '2048' });

  // Routes composed into the real app, so every check below goes through the real middleware.
  const probeRoutes = new Hono<AppEnv>()
    .post('/probe/:id', async (c) => {
      const id = pathId(c, 'id', dnsLabel, 'probe');
      const schema = z.object({
        name: z.string().min(1, 'enter a name'),
        size: z.coerce.number().int().max(6),
      });
      const input = parseInput(schema, await readBody(c));
      return c.json({ id, ...input }, 201);
    })
    .get('/boom', () => {
      throw new Error('connection to db failed: password=hunter2');
    });
  const probe = () => createApp(t.deps, { extraRoutes: [probeRoutes] });

  describe('unknown routes', () => {
    it('answers an API client with a problem+json 404 carrying the request id', async () => {
      const res = await t.app.request('/no-such-thing', { headers: JSON_ACCEPT });
      expect(res.status).toBe(404);
      expect(res.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
      const body = await res.json();
      expect(body).toMatchObject({ status: 404, title: 'Not Found', instance: '/no-such-thing' });
      expect(body.requestId).toBe(res.headers.get('X-Request-Id'));
      expect(body.detail).toContain('/no-such-thing');
    });

    it('answers a browser with an HTML 404 page in the layout', async () => {
      const res = await t.app.request('/no-such-thing', { headers: BROWSER });
      expect(res.status).toBe(404);
      expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toMatch(/^<!DOCTYPE html>/);
      expect(html).toContain('Not Found');
      expect(html).toContain('Go to the start page');
    });

    it('answers htmx with the error fragment only', async () => {
      const res = await t.app.request('/no-such-thing', { headers: { ...BROWSER, 'HX-Request': 'true' } });
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).not.toContain('<html');
      expect(html).toContain('role="alert"');
    });

    it('always answers JSON under /api/v1, whatever Accept says', async () => {
      const res = await t.app.request('/api/v1/nothing', { headers: BROWSER });
      expect(res.status).toBe(404);
      expect(res.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
    });
  });

  describe('headers', () => {
    it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
      const echoed = await t.app.request('/health', { headers: { 'X-Request-Id': 'abc-123' } });
      expect(echoed.headers.get('X-Request-Id')).toBe('abc-123');
      const replaced = await t.app.request('/health', { headers: { 'X-Request-Id': 'bad id <script>' } });
      expect(replaced.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('sends Vary, HSTS, a CSP whose nonce is the one on the page scripts, and no framing', async () => {
      const res = await t.app.request('/', { headers: BROWSER });
      expect(res.headers.get('Vary')).toBe('Accept, HX-Request');
      expect(res.headers.get('Strict-Transport-Security')).toBe('max-age=31536000; includeSubDomains');
      const csp = res.headers.get('Content-Security-Policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      const html = await res.text();
      expect(html).toContain(`nonce="${nonce}"`);
      expect(html).not.toContain('unsafe-inline');
    });
  });

  describe('bad input', () => {
    it('rejects malformed JSON with a 400 that says so', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...JSON_ACCEPT },
        body: '{"name": ',
      });
      expect(res.status).toBe(400);
      expect((await res.json()).detail).toMatch(/not valid JSON/);
    });

    it('rejects an empty JSON body with a 400', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...JSON_ACCEPT },
        body: '',
      });
      expect(res.status).toBe(400);
    });

    it('rejects a wrong content type with a 415 naming the accepted ones', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', ...JSON_ACCEPT },
        body: 'name=x',
      });
      expect(res.status).toBe(415);
      expect((await res.json()).detail).toContain('application/json');
    });

    it('rejects an oversized body with a 413 before reading it', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...JSON_ACCEPT },
        body: JSON.stringify({ name: 'x'.repeat(5000), size: 1 }),
      });
      expect(res.status).toBe(413);
      expect((await res.json()).detail).toContain('2048 bytes');
    });

    it('answers invalid fields with a 422 listing JSON pointers', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...JSON_ACCEPT },
        body: JSON.stringify({ name: '', size: 9 }),
      });
      expect(res.status).toBe(422);
      const body = await res.json();
      expect(body.errors).toEqual([
        { pointer: '/name', detail: 'enter a name', path: '/name', message: 'enter a name' },
        {
          pointer: '/size',
          detail: expect.stringContaining('6'),
          path: '/size',
          message: expect.stringContaining('6'),
        },
      ]);
    });

    it('accepts the same input as a browser form', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...JSON_ACCEPT },
        body: 'name=web&size=3',
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ id: 'ok', name: 'web', size: 3 });
    });

    it('answers an id that cannot exist with a 404 that explains ids', async () => {
      const res = await probe().request('/probe/Bad_Id', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...JSON_ACCEPT },
        body: '{}',
      });
      expect(res.status).toBe(404);
      expect((await res.json()).detail).toContain('lowercase letters');
    });

    it('renders field errors on the HTML error page for a browser', async () => {
      const res = await probe().request('/probe/ok', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...BROWSER },
        body: 'name=&size=1',
      });
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('<code>/name</code>');
      expect(html).toContain('enter a name');
    });
  });

  describe('access log', () => {
    it('writes one line per request with the route template, status and duration, and no credentials', async () => {
      const res = await probe().request('/probe/Bad_Id', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...JSON_ACCEPT,
          Cookie: 'session=secret-cookie-value',
        },
        body: '{}',
      });
      const lines = t.logs.filter((line) => line.msg === 'request');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        method: 'POST',
        route: '/probe/:id',
        status: res.status,
        request_id: res.headers.get('X-Request-Id'),
      });
      expect(typeof lines[0]?.duration_ms).toBe('number');
      // Without an exporting SDK the request still has a trace id, the same in the log and the error.
      expect(lines[0]?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect((await res.json()).traceId).toBe(lines[0]?.trace_id);
      expect(JSON.stringify(t.logs)).not.toContain('secret-cookie-value');
    });
  });

  describe('failures', () => {
    it('answers an unexpected error with a 500 that leaks nothing and logs the stack', async () => {
      const res = await probe().request('/boom', { headers: JSON_ACCEPT });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('connection to db');
      const body = JSON.parse(text);
      expect(body.requestId).toBe(res.headers.get('X-Request-Id'));
      const logged = t.logs.find((line) => line.msg === 'request failed');
      expect(logged?.request_id).toBe(body.requestId);
      expect(JSON.stringify(logged)).toContain('stack');
    });

    it('shows browsers an error page with the request id for a 500', async () => {
      const res = await probe().request('/boom', { headers: BROWSER });
      expect(res.status).toBe(500);
      const html = await res.text();
      expect(html).toContain(res.headers.get('X-Request-Id') ?? 'missing');
      expect(html).not.toContain('hunter2');
    });
  });
});
