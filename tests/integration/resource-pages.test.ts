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
        type: 'Konnektr.DigitalTwins',
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
    const review = await t.app.request('/projects/web/resources/new/configure', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(submittedFields(form)),
    });
    expect(review.status).toBe(200);
    const reviewHtml = await review.text();
    expect(reviewHtml).toContain('data-testid="review-row"');
    const create = submittedFields(reviewHtml.slice(reviewHtml.indexOf('action="/projects/web/resources"')));
    const created = await t.app.request('/projects/web/resources', {
      method: 'POST',
      headers: as(ada, FORM),
      body: encode(create),
    });
    expect(created.status).toBe(303);
    expect(created.headers.get('Location')).toBe('/projects/web/resources/flow');
  });
});
