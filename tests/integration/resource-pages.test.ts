import { describe, expect, it } from 'vitest';
import { submittedFields } from '../../src/views/forms/submitted-fields.ts';
import { as, asJson, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

function encode(fields: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  return params.toString();
}

describe('resource wizard and settings pages', () => {
  const t = useTestApp();

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const created = await t.app.request('/projects/web/resources', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({
        resource_id: 'graph',
        name: 'Graph',
        type: 'Konnektr.Graph',
        sku: 'standard',
        settings_json: {
          eventSinks: {
            kafka: [
              {
                name: 'k',
                brokerList: 'k.example.com:9093',
                topic: 't',
                securityProtocol: 'SASL_SSL',
                saslMechanism: 'PLAIN',
                saslUsername: 'u',
                saslPassword: 'planted-page-secret',
              },
            ],
          },
        },
      }),
    });
    expect(created.status).toBe(201);
    const stored = () =>
      t.database.db
        .selectFrom('ktrlplane.resources')
        .selectAll()
        .where('resource_id', '=', 'graph')
        .executeTakeFirstOrThrow();
    return { ada, stored };
  }

  it('renders the settings form without secret values and saves a change through the form', async () => {
    const { ada, stored } = await setup();
    const page = await t.app.request('/projects/web/resources/graph/settings', { headers: as(ada) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('planted-page-secret');
    expect(html).toContain('name="settings.instances"');
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    fields['settings.instances'] = '4';
    const saved = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(fields),
    });
    expect(saved.status).toBe(303);
    const row = await stored();
    expect(row).toMatchObject({ status: 'Updating', generation: 2 });
    expect(row.settings_json).toMatchObject({ instances: 4 });
    expect(JSON.stringify(row.settings_json)).toContain('planted-page-secret');
  });

  it('answers a stale form with 412 and invalid JSON settings with field errors', async () => {
    const { ada } = await setup();
    const html = await (
      await t.app.request('/projects/web/resources/graph/settings', { headers: as(ada) })
    ).text();
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    await t.app.request('/projects/web/resources/graph', {
      method: 'PATCH',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Changed elsewhere' }),
    });
    const stale = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode({ ...fields, 'settings.instances': '2' }),
    });
    expect(stale.status).toBe(412);
    const json = await t.app.request('/projects/web/resources/graph/settings/json', {
      method: 'POST',
      headers: as(ada, { ...FORM, 'HX-Request': 'true' }),
      body: encode({ generation: '2', settings_json: JSON.stringify({ instances: 9 }) }),
    });
    expect(json.status).toBe(422);
    expect(await json.text()).toContain('<code>/instances</code>');
  });

  it('validates one field inline and answers its fragment', async () => {
    const { ada } = await setup();
    const html = await (
      await t.app.request('/projects/web/resources/graph/settings', { headers: as(ada) })
    ).text();
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    const res = await t.app.request('/projects/web/resources/graph/settings/validate', {
      method: 'POST',
      headers: as(ada, { ...FORM, 'HX-Request': 'true' }),
      body: encode({ ...fields, 'settings.instances': '0', __field: 'settings.instances' }),
    });
    expect(res.status).toBe(200);
    const fragment = await res.text();
    expect(fragment).toContain('aria-invalid="true"');
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('hx-post="/projects/web/resources/graph/settings/validate"');
  });

  it('walks the wizard: type and SKU, configure, review shows the row, then creates', async () => {
    const { ada } = await setup();
    const step1 = await t.app.request('/projects/web/resources/new?type=Konnektr.Flows', {
      headers: as(ada),
    });
    expect(await step1.text()).toContain('Konnektr.Flows');
    const bad = await t.app.request(
      '/projects/web/resources/new/configure?type=Konnektr.Flows&sku=standard&name=',
      { headers: as(ada) },
    );
    expect(bad.status).toBe(422);
    const configure = await t.app.request(
      '/projects/web/resources/new/configure?type=Konnektr.Flows&sku=standard&name=Flow&resource_id=flow&preset=large',
      { headers: as(ada) },
    );
    const html = await configure.text();
    expect(configure.status).toBe(200);
    const form = html.slice(html.indexOf('id="configure-form"'));
    const configured = await t.app.request('/projects/web/resources/new/configure', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(submittedFields(form)),
    });
    // The review is a page of its own (a draft), so reload and back work.
    expect(configured.status).toBe(303);
    const reviewUrl = configured.headers.get('Location') ?? '';
    expect(reviewUrl).toMatch(/^\/projects\/web\/resources\/new\/review\?draft=[\w-]+$/);
    const review = await t.app.request(reviewUrl, { headers: as(ada) });
    expect(review.status).toBe(200);
    const reviewHtml = await review.text();
    expect(reviewHtml).toContain('data-testid="review-row"');
    expect(reviewHtml).toContain('data-testid="review-settings-yaml"');
    expect(reviewHtml).toMatch(/data-pointer="\/replicas" data-kind="changed"/);
    const reload = await t.app.request(reviewUrl, { headers: as(ada) });
    expect(reload.status).toBe(200);
    // Back to the configuration: the draft's values come back.
    const back = await t.app.request(reviewUrl.replace('/review?', '/configure?'), { headers: as(ada) });
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('name="draft"');
    const create = submittedFields(
      reviewHtml.slice(reviewHtml.indexOf('action="/projects/web/resources/new/review"')),
    );
    expect(Object.keys(create)).toEqual(['draft']);
    const created = await t.app.request('/projects/web/resources/new/review', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(create),
    });
    expect(created.status).toBe(303);
    expect(created.headers.get('Location')).toBe('/projects/web/resources/flow');
    // A second click creates nothing more and lands on the same resource; so does the old review URL.
    const again = await t.app.request('/projects/web/resources/new/review', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(create),
    });
    expect(again.headers.get('Location')).toBe('/projects/web/resources/flow');
    const afterwards = await t.app.request(reviewUrl, { headers: as(ada) });
    expect(afterwards.headers.get('Location')).toBe('/projects/web/resources/flow');
    const rows = await t.database.db.selectFrom('ktrlplane.resources').select('resource_id').execute();
    expect(rows.map((r) => r.resource_id).sort()).toEqual(['flow', 'graph']);
    // Someone else's draft id is nobody's business: 404.
    const eve = await signUpUser(t, 'eve@example.com');
    await createOrgFor(t, eve, 'Eve', 'eve-org');
    await createProjectFor(t, eve, 'eve-org', 'Eve', 'eve-web');
    const foreign = await t.app.request(reviewUrl.replace('/projects/web/', '/projects/eve-web/'), {
      headers: as(eve),
    });
    expect(foreign.status).toBe(404);
  });

  it('reviews a settings change as a diff before applying it; secrets stay masked', async () => {
    const { ada, stored } = await setup();
    const html = await (
      await t.app.request('/projects/web/resources/graph/settings', { headers: as(ada) })
    ).text();
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    const posted = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode({
        ...fields,
        intent: 'review',
        'settings.instances': '4',
        'settings.eventSinks.kafka[0].saslPassword': 'brand-new-secret',
      }),
    });
    expect(posted.status).toBe(303);
    const reviewUrl = posted.headers.get('Location') ?? '';
    expect(reviewUrl).toMatch(/^\/projects\/web\/resources\/graph\/settings\/review\?draft=/);
    expect((await stored()).generation).toBe(1);
    const review = await t.app.request(reviewUrl, { headers: as(ada) });
    expect(review.status).toBe(200);
    const page = await review.text();
    expect(page).not.toContain('planted-page-secret');
    expect(page).not.toContain('brand-new-secret');
    expect(page).toMatch(/data-pointer="\/instances" data-kind="changed"/);
    expect(page).toMatch(/data-pointer="\/eventSinks\/kafka\/0\/saslPassword" data-kind="changed"/);
    expect(page).toContain('[REDACTED: new value]');
    // The same review as JSON.
    const json = await t.app.request(reviewUrl, { headers: asJson(ada) });
    const body = (await json.json()) as {
      changes: Array<{ pointer: string; before: unknown; after: unknown }>;
    };
    expect(body.changes).toContainEqual({ pointer: '/instances', kind: 'changed', before: 1, after: 4 });
    expect(JSON.stringify(body)).not.toContain('secret"');
    // Back to editing keeps the edit.
    const back = await t.app.request(reviewUrl.replace('/settings/review?', '/settings?'), {
      headers: as(ada),
    });
    expect(await back.text()).toMatch(/name="settings.instances"[^>]*value="4"/);
    const apply = submittedFields(page.slice(page.indexOf('settings/review"')));
    const applied = await t.app.request('/projects/web/resources/graph/settings/review', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(apply),
    });
    expect(applied.status).toBe(303);
    expect(applied.headers.get('Location')).toBe('/projects/web/resources/graph/settings?saved=1');
    const row = await stored();
    expect(row).toMatchObject({ generation: 2, status: 'Updating' });
    expect(row.settings_json).toMatchObject({ instances: 4 });
    expect(JSON.stringify(row.settings_json)).toContain('brand-new-secret');
    // The draft is used up.
    expect((await t.app.request(reviewUrl, { headers: as(ada) })).status).toBe(404);
  });

  it('refuses to apply a reviewed change once someone else changed the resource (412)', async () => {
    const { ada, stored } = await setup();
    const html = await (
      await t.app.request('/projects/web/resources/graph/settings', { headers: as(ada) })
    ).text();
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    const posted = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode({ ...fields, intent: 'review', 'settings.instances': '2' }),
    });
    const draft = new URL(posted.headers.get('Location') ?? '', 'http://x').searchParams.get('draft') ?? '';
    await t.app.request('/projects/web/resources/graph', {
      method: 'PATCH',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Changed elsewhere' }),
    });
    const applied = await t.app.request('/projects/web/resources/graph/settings/review', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode({ draft }),
    });
    expect(applied.status).toBe(412);
    expect(await applied.text()).toContain('Someone changed this resource');
    expect((await stored()).settings_json).not.toMatchObject({ instances: 2 });
  });
});
