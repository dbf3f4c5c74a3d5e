import { mkdir } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

/**
 * Live status in Chromium: the real server on a scratch Postgres database (so its one LISTEN
 * connection is what wakes the pages), the operator played by a raw `UPDATE … SET status`, and
 * the badges, the deployment panel and the timeline changing through htmx's SSE extension without
 * a reload.
 */
const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `ktrlplane_e2e_sse_${Date.now()}`;
const admin = openPostgres(serverUrl, { max: 1 });
let database: ReturnType<typeof openPostgres>;
let server: RunningServer;
/** Short, so a status can be watched turning "stuck"; the statuses of the first test change faster. */
const STUCK_AFTER_SECONDS = 8;
let browser: Browser;

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  database = openPostgres(databaseUrl(serverUrl, name), { max: 2 });
  [server, browser] = await Promise.all([
    startServer({
      PASSWORD_ITERATIONS: '1000',
      DATABASE_URL: databaseUrl(serverUrl, name),
      STUCK_AFTER_SECONDS: String(STUCK_AFTER_SECONDS),
    }),
    launchBrowser(),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await database?.close();
  await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
  await admin.close();
});

/** What db-query-operator does: raw SQL on the row, no ktrlplane code involved. */
async function operatorSets(
  resourceId: string,
  status: string,
  options: { observeGeneration?: boolean } = {},
) {
  await sql`
    UPDATE ktrlplane.resources
       SET status = ${status},
           observed_generation = ${options.observeGeneration ? sql`generation` : sql`observed_generation`}
     WHERE resource_id = ${resourceId}`.execute(database.db);
}

/** Resolves once the page's event stream has answered (its response headers are in). */
function streamConnected(page: Page, path: string) {
  return page.waitForResponse(
    (response) => new URL(response.url()).pathname === path && response.status() === 200,
  );
}

/** A mark on the window that a reload would wipe out. */
async function markPage(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
  return () => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
}

describe('live resource status in Chromium', () => {
  it('updates the badges, the deployment panel and the timeline as the operator writes status, without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'web');
    await database.db
      .insertInto('ktrlplane.resources')
      .values([
        {
          resource_id: 'graph',
          project_id: 'web',
          name: 'Graph',
          type: 'Konnektr.Graph',
          settings_json: {},
        },
        { resource_id: 'flow', project_id: 'web', name: 'Flow', type: 'Konnektr.Flows', settings_json: {} },
      ])
      .execute();

    // The project's resource list: both badges follow the project's stream.
    const listStream = streamConnected(page, '/projects/web/events');
    await page.goto(`${server.url}/projects/web/resources`);
    await listStream;
    const stillSamePage = await markPage(page);
    await page.waitForSelector('#resource-status-graph [data-status=Pending]');
    await operatorSets('graph', 'Progressing');
    await page.waitForSelector('#resource-status-graph [data-status=Progressing]');
    await operatorSets('flow', 'Degraded');
    await page.waitForSelector('#resource-status-flow [data-status=Degraded][data-tone=warning]');
    await operatorSets('graph', 'Healthy');
    await page.waitForSelector('#resource-status-graph [data-status=Healthy][data-tone=healthy]');
    expect(await stillSamePage()).toBe(true);
    await page.screenshot({ path: 'test-results/resource-list-live.png', fullPage: true });

    // The resource page: badge, deployment panel and timeline.
    const detailStream = streamConnected(page, '/projects/web/resources/flow/events');
    await page.goto(`${server.url}/projects/web/resources/flow`);
    await detailStream;
    const stillSameDetail = await markPage(page);
    const entries = page.locator('[data-testid=timeline] li[data-event-id]');
    const before = await entries.count();
    expect(before).toBe(2);
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Degraded]');
    await expect(page.locator('[data-testid=guidance]').textContent()).resolves.toContain(
      'instances are not ready',
    );
    await expect(page.locator('[data-testid=changes]').textContent()).resolves.toContain('Changes pending');
    await page.screenshot({ path: 'test-results/resource-detail-degraded.png', fullPage: true });

    await operatorSets('flow', 'Progressing');
    await page.waitForSelector('#resource-status-flow [data-status=Progressing]');
    await operatorSets('flow', 'Healthy', { observeGeneration: true });
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Healthy][data-changes=applied]');
    await page.waitForSelector('#resource-status-flow [data-status=Healthy]');
    await expect(entries.count()).resolves.toBe(before + 2);
    // Newest first.
    await expect(entries.first().locator('[data-status]').getAttribute('data-status')).resolves.toBe(
      'Healthy',
    );
    await expect(page.locator('[data-testid=changes]').textContent()).resolves.toContain('Applied');
    expect(await stillSameDetail()).toBe(true);
    await page.screenshot({ path: 'test-results/resource-detail-live.png', fullPage: true });
    expect(problems).toEqual([]);
  });

  it('flags a transient status as stuck once it has lasted too long, on the list and the resource page, without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout((STUCK_AFTER_SECONDS + 10) * 1000);
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Bo', 'bo@example.com');
    await createOrganizationAndProject(page, 'bo-org', 'bo-web');
    await database.db
      .insertInto('ktrlplane.resources')
      .values({
        resource_id: 'slow',
        project_id: 'bo-web',
        name: 'Slow',
        type: 'Konnektr.Flows',
        settings_json: {},
        status: 'Deploying',
      })
      .execute();

    await page.goto(`${server.url}/projects/bo-web/resources`);
    const stillSamePage = await markPage(page);
    await page.waitForSelector('#resource-status-slow [data-status=Deploying][data-tone=working]');
    // Nothing is streamed when a status merely lasts: the badge fetches itself again when due.
    await page.waitForSelector('#resource-status-slow [data-status=Deploying][data-tone=warning]');
    await expect(page.locator('#resource-status-slow').textContent()).resolves.toContain('stuck');
    expect(await stillSamePage()).toBe(true);
    await page.screenshot({ path: 'test-results/resource-list-stuck.png', fullPage: true });

    await operatorSets('slow', 'Progressing');
    await page.goto(`${server.url}/projects/bo-web/resources/slow`);
    const stillSameDetail = await markPage(page);
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Progressing][data-stuck=false]');
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Progressing][data-stuck=true]');
    await expect(page.locator('[data-testid=guidance][role=alert]').textContent()).resolves.toContain(
      'Stuck. "Progressing" has lasted more than',
    );
    await page.waitForSelector('#resource-status-slow [data-tone=warning]');
    expect(await stillSameDetail()).toBe(true);
    await page.screenshot({ path: 'test-results/resource-detail-stuck.png', fullPage: true });
    expect(problems).toEqual([]);
  });
});
