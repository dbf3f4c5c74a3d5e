import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.ts';

describe('GET /', () => {
  const t = useTestApp();

  it('shows the first-run page while there are no users', async () => {
    const res = await t.app.request('/', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Welcome to ktrlplane');
    expect(html).toContain('Create the first account');
    expect(html).toContain(t.deps.assets['htmx.js']);
    expect(html).toContain(t.deps.assets['app.css']);
  });

  it('tells a JSON client the same', async () => {
    const res = await t.app.request('/', { headers: { Accept: 'application/json' } });
    expect(await res.json()).toEqual({ firstRun: true, database: t.deps.dbKind, signedIn: false });
  });

  it('stops showing the first-run page once a user exists', async () => {
    await sql`INSERT INTO ktrlplane.users (user_id, email) VALUES ('u1', 'u1@example.com')`.execute(
      t.database.db,
    );
    const res = await t.app.request('/', { headers: { Accept: 'application/json' } });
    expect((await res.json()).firstRun).toBe(false);
  });

  it('serves the fragment without the layout to htmx', async () => {
    const res = await t.app.request('/', { headers: { 'HX-Request': 'true' } });
    const html = await res.text();
    expect(html).toContain('Welcome to ktrlplane');
    expect(html).not.toContain('<html');
  });
});
