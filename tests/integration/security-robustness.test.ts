import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

/**
 * Finding 10 of issue 15: what a signed-in tenant could do to make the server answer 500 or spend
 * its resources (and its mail reputation) without bound.
 */

async function project(t: TestContext) {
  const ada = await signUpUser(t, 'ada@example.com');
  await createOrgFor(t, ada, 'Acme', 'acme');
  await createProjectFor(t, ada, 'acme', 'Web', 'web');
  await createResourceRow(t, 'web', 'db1');
  return ada;
}

const TAIL = '/projects/web/resources/db1/events?logs=1';

/** Opens `count` log-tail streams at once; answers the responses (open bodies stay open). */
async function openStreams(t: TestContext, headers: Record<string, string>, count: number) {
  return Promise.all(Array.from({ length: count }, () => t.app.request(TAIL, { headers })));
}

async function closeAll(responses: Response[]) {
  for (const res of responses) if (!res.bodyUsed) await res.body?.cancel();
}

describe('live streams are capped per user', () => {
  const t = useTestApp({ SSE_STREAMS_PER_USER: '10' });

  it('answers 429 with Retry-After to the 11th of 40 concurrent log tails, and frees a slot when one closes', async () => {
    const ada = await project(t);
    const headers = asJson(ada, { Accept: 'text/event-stream' });
    const responses = await openStreams(t, headers, 40);
    const open = responses.filter((res) => res.status === 200);
    const refused = responses.filter((res) => res.status === 429);
    expect(open).toHaveLength(10);
    expect(refused).toHaveLength(30);
    expect(refused[0]?.headers.get('Retry-After')).toBe('30');
    expect(await refused[0]?.text()).toContain('live streams open');
    await closeAll(refused);

    // One stream ends: its slot comes back (once the stream's own cleanup has run).
    await open[0]?.body?.cancel();
    let again: Response | undefined;
    for (let attempt = 0; attempt < 40; attempt++) {
      again = await t.app.request(TAIL, { headers });
      if (again.status === 200) break;
      await again.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(again?.status).toBe(200);
    const eleventh = await t.app.request(TAIL, { headers });
    expect(eleventh.status).toBe(429);
    await eleventh.body?.cancel();
    await again?.body?.cancel();
    await closeAll(open.slice(1));
  });
});

describe('live streams are capped per process', () => {
  const t = useTestApp({ SSE_STREAMS_PER_USER: '10', SSE_STREAMS_PER_PROCESS: '4' });

  it('refuses another user once the process holds its maximum', async () => {
    const ada = await project(t);
    const bob = await signUpUser(t, 'bob@example.com');
    await grant(t, bob, ROLE.viewer, 'project', 'web');
    const adas = await openStreams(t, asJson(ada, { Accept: 'text/event-stream' }), 4);
    expect(adas.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    const bobs = await t.app.request(TAIL, { headers: asJson(bob, { Accept: 'text/event-stream' }) });
    expect(bobs.status).toBe(429);
    expect(bobs.headers.get('Retry-After')).toBe('30');
    expect(await bobs.text()).toContain('as many live streams as it can');
    await closeAll(adas);
  });
});

describe('bad input answers 4xx, never 500', () => {
  const t = useTestApp();

  it('a PromQL string with a \\x or other Go escape: decoded, or 422 at the query when invalid', async () => {
    const ada = await project(t);
    const token = await apiTokenFor(t, ada);
    const monitoring = (query: string, headers = bearer(token)) =>
      t.app.request(
        `${headers.Authorization ? '/api/v1' : ''}/projects/web/resources/db1/monitoring?query=${encodeURIComponent(query)}`,
        { headers },
      );
    for (const valid of ['up{job="\\x41"}', 'up{job="\\101\\u00e9\\U0001F600\\n"}', "up{job='\\x41'}"]) {
      const res = await monitoring(valid);
      expect(res.status, `${valid}: ${await res.clone().text()}`).toBe(200);
    }
    for (const invalid of ['up{job="\\xZZ"}', 'up{job="\\x4"}', 'up{job="\\q"}', 'up{job="\\400"}']) {
      const res = await monitoring(invalid);
      expect(res.status, invalid).toBe(422);
      const problem = (await res.json()) as { errors: Array<{ pointer: string; message: string }> };
      expect(problem.errors[0]?.pointer).toBe('/query');
      expect(problem.errors[0]?.message).toContain('invalid escape');
    }
    // The page answers the same 4xx rather than failing.
    const page = await monitoring('up{job="\\xZZ"}', as(ada, { Accept: 'text/html' }));
    expect(page.status).toBe(422);
  });

  it('a redirect target with a control character never reaches a Location header', async () => {
    const ada = await project(t);
    for (const next of [
      '/%0aSet-Cookie:%20x=1',
      '/%0d%0aLocation:%20https://evil.example',
      '/a%00b',
      '/%7f',
    ]) {
      const signedIn = await t.app.request(`/auth/login?next=${next}`, {
        headers: as(ada, { Accept: 'text/html' }),
      });
      // safeNext refuses the target and sends the user home; the redirect guard behind it would
      // answer 400 if a control character still got through.
      expect(signedIn.status, next).toBe(303);
      expect(signedIn.headers.get('Location')).toBe('/');
    }
    const login = await t.app.request('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ORIGIN, 'HX-Request': 'true' },
      body: JSON.stringify({ email: ada.email, password: ada.password, next: '/\r\nX-Injected: 1' }),
    });
    expect(login.status).toBeLessThan(500);
    expect(login.headers.get('HX-Redirect')).toBe('/');
    // A clean target still redirects.
    const clean = await t.app.request('/auth/login?next=/projects/web', {
      headers: as(ada, { Accept: 'text/html' }),
    });
    expect(clean.status).toBe(303);
    expect(clean.headers.get('Location')).toBe('/projects/web');
  });
});

describe('mail to addresses a tenant types is rate-limited per project', () => {
  const t = useTestApp({ MAILS_PER_PROJECT_PER_HOUR: '3' });

  const outbox = () => t.database.db.selectFrom('ktrlplane.mail_outbox').select('to_address').execute();

  it('sends 3 invitations an hour, then answers 429 with Retry-After and sends nothing', async () => {
    const ada = await project(t);
    const invite = (email: string) =>
      t.app.request('/projects/web/access', {
        method: 'POST',
        headers: asJson(ada),
        body: JSON.stringify({ email, role_id: ROLE.viewer }),
      });
    for (const n of [1, 2, 3]) expect((await invite(`person${n}@example.com`)).status).toBe(201);
    const refused = await invite('person4@example.com');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(
      /No invitation was sent: this project has sent its 3 emails for this hour/,
    );
    expect(await outbox()).toHaveLength(3);
    const invitations = await t.database.db.selectFrom('ktrlplane.invitations').select('email').execute();
    expect(invitations.map((row) => row.email).sort()).toEqual([
      'person1@example.com',
      'person2@example.com',
      'person3@example.com',
    ]);
    // The next hour has a fresh allowance.
    t.clock.advance(3_600_000);
    expect((await invite('person4@example.com')).status).toBe(201);
  });

  it('adds 3 email alert channels an hour, then answers 429 in JSON and on the form', async () => {
    const ada = await project(t);
    const token = await apiTokenFor(t, ada);
    const add = (n: number) =>
      t.app.request('/api/v1/projects/web/alert-channels', {
        method: 'POST',
        headers: bearer(token),
        body: JSON.stringify({ name: `mail ${n}`, kind: 'email', target: `victim${n}@example.com` }),
      });
    for (const n of [1, 2, 3]) expect((await add(n)).status).toBe(201);
    const refused = await add(4);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Retry-After')).not.toBeNull();
    expect(((await refused.json()) as { detail: string }).detail).toContain(
      'The email channel was not added',
    );
    const form = await t.app.request('/projects/web/alert-channels', {
      method: 'POST',
      headers: as(ada, { 'Content-Type': 'application/json', Accept: 'text/html' }),
      body: JSON.stringify({ name: 'mail 5', kind: 'email', target: 'victim5@example.com' }),
    });
    expect(form.status).toBe(429);
    expect(await form.text()).toContain('has sent its 3 emails for this hour');
    expect(await t.database.db.selectFrom('ktrlplane.alert_channels').select('name').execute()).toHaveLength(
      3,
    );
  });
});
