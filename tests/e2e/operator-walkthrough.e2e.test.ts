import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorSimulator } from '../../scripts/operator-simulator/simulator.ts';
import { loadConfig } from '../../src/config.ts';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { finishDeploymentsJob } from '../../src/jobs/finish-deployments.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { OPERATOR_MANIFESTS_DIR } from '../helpers/operator.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

/**
 * Issue 5's walkthrough in Chromium, with the operator simulator running the manifests of
 * deploy/operator against the server's Postgres database: create a resource in the browser and
 * watch its badge go Creating → Progressing → Healthy without a reload (and its row appear in a
 * second tab's resource list), change its settings and watch "changes pending" become "applied",
 * undeploy and deploy again, delete it and watch its row leave the list.
 *
 * What differs from production: the manifests' queries and templates are used as written, but
 * their intervals are shortened (pollInterval 1m → 2s, changePollInterval 10s → 1s) so the test
 * takes seconds, and the finish-deployments job (every minute on the server, whose scheduler is
 * off in browser tests) is run by the test once the operator's grace period has passed.
 */
const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `ktrlplane_e2e_walk_${Date.now()}`;
const admin = openPostgres(serverUrl, { max: 1 });
const GRACE_SECONDS = 1;
let database: ReturnType<typeof openPostgres>;
let server: RunningServer;
let browser: Browser;
let simulator: OperatorSimulator;
let manifestsDir: string;

async function fastManifests(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ktrlplane-manifests-'));
  for (const file of await readdir(OPERATOR_MANIFESTS_DIR)) {
    if (!file.endsWith('.yaml')) continue;
    const text = await readFile(join(OPERATOR_MANIFESTS_DIR, file), 'utf8');
    const fast = text
      .replaceAll('pollInterval: "1m"', 'pollInterval: "2s"')
      .replaceAll('changePollInterval: "10s"', 'changePollInterval: "1s"');
    await writeFile(join(dir, file), fast);
  }
  return dir;
}

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  database = openPostgres(databaseUrl(serverUrl, name), { max: 3 });
  manifestsDir = await fastManifests();
  [server, browser] = await Promise.all([
    startServer({
      PASSWORD_ITERATIONS: '1000',
      DATABASE_URL: databaseUrl(serverUrl, name),
      OPERATOR_GRACE_SECONDS: String(GRACE_SECONDS),
    }),
    launchBrowser(),
  ]);
  // The server has migrated the database by now; the simulator reads the tables it made.
  simulator = new OperatorSimulator({ db: database.db, manifestsDir, readyAfterMs: 2500, tickMs: 250 });
  await simulator.start();
}, 60_000);

afterAll(async () => {
  await simulator?.stop();
  await browser?.close();
  await server?.stop();
  await database?.close();
  await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
  await admin.close();
  if (manifestsDir) await rm(manifestsDir, { recursive: true, force: true });
});

/** What the server's scheduler would do at its next minute: finish undeploys and deletes. */
async function finishDeployments() {
  await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 200));
  const config = loadConfig({
    DATABASE_URL: databaseUrl(serverUrl, name),
    OPERATOR_GRACE_SECONDS: String(GRACE_SECONDS),
  });
  const logger = createLogger({ level: 'warn', format: 'json' }, { component: 'e2e' });
  await runJob({ db: database.db, clock: systemClock, logger, config }, finishDeploymentsJob, 'test');
}

/**
 * Records every status the badge of `resourceId` shows, in order, from the moment the page starts
 * loading; a reload would reset it, so it also proves there was none.
 */
async function recordBadge(page: Page, resourceId: string) {
  await page.addInitScript((id: string) => {
    const seen: string[] = [];
    (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
    const look = () => {
      const status = document
        .querySelector(`#resource-status-${id} [data-status]`)
        ?.getAttribute('data-status');
      if (status && seen[seen.length - 1] !== status) seen.push(status);
    };
    new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
  }, resourceId);
}

const seenStatuses = (page: Page) =>
  page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);

function streamConnected(page: Page, path: string) {
  return page.waitForResponse(
    (response) => new URL(response.url()).pathname === path && response.status() === 200,
  );
}

describe('the deployment walkthrough with the operator simulator', () => {
  it('creates, watches, changes, undeploys, redeploys and deletes a resource, live', async () => {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'web');

    // A second tab on the project's resource list, open before the resource exists.
    const list = await context.newPage();
    list.setDefaultTimeout(20_000);
    const listProblems = watchForProblems(list);
    const listStream = streamConnected(list, '/projects/web/events');
    await list.goto(`${server.url}/projects/web/resources`);
    await listStream;
    await list.waitForSelector('[data-testid=no-resources]:visible');
    await list.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    // Create it through the wizard.
    await recordBadge(page, 'flow');
    await page.goto(`${server.url}/projects/web/resources/new`);
    await page.check('input[name=type][value="Konnektr.Flows"]');
    await page.check('input[name=sku][value=free]');
    await page.fill('input[name=name]', 'Flow');
    await page.fill('input[name=resource_id]', 'flow');
    await page.click('button:has-text("Continue")');
    await page.waitForURL(/\/resources\/new\/configure\?/);
    await page.click('#configure-form button:has-text("Review")');
    await page.waitForURL(/\/resources\/new\/review\?draft=/);
    await page.click('button:has-text("Create resource")');
    await page.waitForURL(/\/projects\/web\/resources\/flow$/);
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Healthy][data-changes=applied]');
    const created = await seenStatuses(page);
    expect(created[0]).toBe('Creating');
    expect(created).toContain('Progressing');
    expect(created[created.length - 1]).toBe('Healthy');
    await page.screenshot({ path: 'test-results/walkthrough-created.png', fullPage: true });

    // The other tab got the new row and followed it to Healthy without a reload.
    await list.waitForSelector('#resource-row-flow #resource-status-flow [data-status=Healthy]');
    await list.waitForSelector('[data-testid=no-resources]', { state: 'hidden' });
    expect(await list.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    await list.screenshot({ path: 'test-results/walkthrough-list-live.png', fullPage: true });

    // Change a setting: "changes pending" until the operator has rolled it out, then "applied".
    await page.click('nav[aria-label=Sections] a:has-text("Settings")');
    await page.waitForURL(/\/resources\/flow\/settings$/);
    await page.fill('[name="settings.memoryLimit"]', '768Mi');
    await page.click('#settings-form button:has-text("Review changes")');
    await page.waitForURL(/\/settings\/review\?draft=/);
    await page.click('button:has-text("Apply changes")');
    await page.waitForURL(/\/settings\?saved=1$/);
    await page.click('nav[aria-label=Sections] a:has-text("Overview")');
    await page.waitForURL(/\/resources\/flow$/);
    await page.waitForSelector('[data-testid=deployment-panel][data-changes=pending]');
    await expect(page.locator('[data-testid=changes]').textContent()).resolves.toContain(
      'Changes pending (version 2',
    );
    await page.screenshot({ path: 'test-results/walkthrough-pending.png', fullPage: true });
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Healthy][data-changes=applied]');
    await expect(page.locator('[data-testid=changes]').textContent()).resolves.toContain(
      'Applied (version 2)',
    );

    // Undeploy: the row leaves the operator's query; the settings stay.
    await page.click('nav[aria-label=Sections] a:has-text("Deployment")');
    await page.click('button:has-text("Undeploy")');
    await page.waitForSelector('[data-testid=deployment-summary]:has-text("Undeploying")');
    await page.click('nav[aria-label=Sections] a:has-text("Overview")');
    await page.waitForURL(/\/resources\/flow$/);
    await finishDeployments();
    await page.waitForSelector('#resource-status-flow [data-status=Undeployed]');
    await page.screenshot({ path: 'test-results/walkthrough-undeployed.png', fullPage: true });

    // Deploy again: back to Healthy, with the changed setting still there.
    await page.click('nav[aria-label=Sections] a:has-text("Deployment")');
    await page.click('button:has-text("Deploy")');
    await page.click('nav[aria-label=Sections] a:has-text("Overview")');
    await page.waitForURL(/\/resources\/flow$/);
    await page.waitForSelector('[data-testid=deployment-panel][data-status=Healthy][data-changes=applied]');
    await expect(page.locator('main').textContent()).resolves.toContain('768Mi');
    await list.waitForSelector('#resource-status-flow [data-status=Healthy]');

    // Delete: Deleting until the operator has had time to prune it, then the row leaves the list.
    await page.fill('#delete-resource input[name=confirm]', 'Flow');
    await page.click('#delete-resource button:has-text("Delete resource")');
    await page.waitForURL(/\/projects\/web\/resources$/);
    await list.waitForSelector('#resource-status-flow [data-status=Deleting]');
    await finishDeployments();
    await list.waitForSelector('#resource-row-flow', { state: 'detached' });
    await list.waitForSelector('[data-testid=no-resources]:visible');
    expect(await list.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    expect(problems).toEqual([]);
    expect(listProblems).toEqual([]);
    await context.close();
  });
});
