import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiTokenFor, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Generated inputs through the JSON API: valid Flows settings are accepted and come back from a
 * GET exactly as sent; deliberately broken bodies and settings are answered 4xx, never 500.
 * numRuns: 150 creates and 1,500 dry runs, a few seconds on PGlite.
 */
const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
const validFlows = fc.record({
  replicas: fc.integer({ min: 1, max: 5 }),
  memoryLimit: fc.constantFrom('128Mi', '256Mi', '512Mi', '1Gi', '4Gi', '16Gi'),
  cpuLimit: fc.constantFrom('100m', '250m', '500m', '1', '2', '8'),
  environment: fc.dictionary(envName, fc.string({ maxLength: 40 }), { maxKeys: 5 }),
});
const anyJson = fc.jsonValue({ maxDepth: 3 });
const brokenFlows = fc.oneof(
  validFlows.map((settings) => ({ ...settings, replicas: 0 })),
  validFlows.map((settings) => ({ ...settings, memoryLimit: '17Gi' })),
  validFlows.map((settings) => ({ ...settings, environment: { '1BAD': 'x' } })),
  validFlows.map((settings) => ({ ...settings, extra: true })),
  fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 }),
  anyJson,
);

describe('resources API under generated input', () => {
  const t = useTestApp();

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    return apiTokenFor(t, ada);
  }

  it('accepts valid settings and returns them unchanged', async () => {
    const token = await setup();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(validFlows, async (settings) => {
        n += 1;
        const id = `flow-${n}`;
        const created = await t.app.request('/api/v1/projects/web/resources', {
          method: 'POST',
          headers: bearer(token),
          body: JSON.stringify({
            resource_id: id,
            name: id,
            type: 'Konnektr.Flows',
            sku: 'standard',
            settings_json: settings,
          }),
        });
        expect(created.status).toBe(201);
        const read = await (
          await t.app.request(`/api/v1/projects/web/resources/${id}`, { headers: bearer(token) })
        ).json();
        expect(read.settings_json).toEqual(settings);
        // Out of the way again, so 150 runs stay within the plan's resource limit.
        await t.database.db.deleteFrom('ktrlplane.resources').where('resource_id', '=', id).execute();
      }),
      { numRuns: 150 },
    );
  });

  it('answers broken bodies and settings with 4xx (never 500) in a dry run, and writes nothing', async () => {
    const token = await setup();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          brokenFlows.map((settings) => ({
            name: 'x',
            type: 'Konnektr.Flows',
            sku: 'standard',
            settings_json: settings,
          })),
          fc.record(
            { name: anyJson, type: anyJson, sku: anyJson, settings_json: anyJson },
            { requiredKeys: [] },
          ),
          anyJson,
        ),
        async (body) => {
          const res = await t.app.request('/api/v1/projects/web/resources?dryRun=true', {
            method: 'POST',
            headers: bearer(token),
            body: JSON.stringify(body),
          });
          // Some generated bodies happen to be valid (an empty object gets every default): 200.
          expect([200, 400, 404, 409, 413, 415, 422], JSON.stringify(body)).toContain(res.status);
        },
      ),
      { numRuns: 1500 },
    );
    const rows = await t.database.db.selectFrom('ktrlplane.resources').selectAll().execute();
    expect(rows).toEqual([]);
  });
});
