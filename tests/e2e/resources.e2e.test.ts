import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  [server, browser] = await Promise.all([startServer({ PASSWORD_ITERATIONS: '1000' }), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('resources in Chromium', () => {
  it('creates a graph database with two sinks and a route through the wizard, then changes and renames it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'web');

    // Step 1: type, SKU, name and id.
    await page.goto(`${server.url}/projects/web/resources/new`);
    await page.check('input[name=type][value="Konnektr.Graph"]');
    await page.check('input[name=sku][value=standard]');
    await page.fill('input[name=name]', 'Graph');
    await page.fill('input[name=resource_id]', 'graph');
    await page.click('button:has-text("Continue")');
    await page.waitForURL(/\/resources\/new\/configure\?/);

    // Step 2: the generated form. Two sinks and a route.
    await page.click('button:has-text("+ Add Kafka sink")');
    await page.fill('[name="settings.eventSinks.kafka[0].name"]', 'kafka-out');
    await page.fill('[name="settings.eventSinks.kafka[0].brokerList"]', 'kafka-0.example.com:9093');
    await page.fill('[name="settings.eventSinks.kafka[0].topic"]', 'twins');
    await page.check('[name="settings.eventSinks.kafka[0].securityProtocol"][value=PLAINTEXT]');
    await page.check('[name="settings.eventSinks.kafka[0].saslMechanism"][value=PLAIN]');
    await page.click('button:has-text("+ Add MQTT sink")');
    await page.fill('[name="settings.eventSinks.mqtt[0].name"]', 'mqtt-out');
    await page.fill('[name="settings.eventSinks.mqtt[0].broker"]', 'mqtt.example.com');
    await page.fill('[name="settings.eventSinks.mqtt[0].topic"]', 'twins');
    await page.fill('[name="settings.eventSinks.mqtt[0].clientId"]', 'graph');
    await page.check('[name="settings.eventSinks.mqtt[0].protocolVersion"][value="3.1.1"]');
    await page.click('button:has-text("+ Add Event route")');
    await page.fill('[name="settings.eventRoutes[0].name"]', 'everything');
    await page.check('[name="settings.eventRoutes[0].eventFormat"][value=EventNotification]');

    // A route naming a sink that does not exist gets an inline error next to that field.
    const sinkName = '[name="settings.eventRoutes[0].sinkName"]';
    await page.fill(sinkName, 'missing-sink');
    await page.locator(sinkName).blur();
    await page.waitForSelector(`${sinkName}[aria-invalid=true]`);
    await page.screenshot({ path: 'test-results/wizard-inline-error.png', fullPage: true });
    await page.fill(sinkName, 'kafka-out');
    await page.locator(sinkName).blur();
    await page.waitForSelector(`${sinkName}:not([aria-invalid=true])`);

    // Step 3: review shows the settings and the operator's row; then create.
    await page.click('#configure-form button:has-text("Review")');
    await page.waitForURL(/\/resources\/new\/review\?draft=/);
    await page.waitForSelector('[data-testid=review-row]');
    // The review is a page of its own: reload keeps it; the diff lists what differs from the defaults.
    await page.reload();
    await expect(
      page.locator('[data-testid=settings-diff] tr[data-pointer="/eventRoutes/0"]').count(),
    ).resolves.toBe(1);
    await page.click('label:has-text("JSON")');
    await page.waitForSelector('[data-testid=review-settings]:visible');
    const reviewed = JSON.parse((await page.locator('[data-testid=review-settings]').textContent()) ?? '{}');
    expect(reviewed.eventSinks.kafka[0].name).toBe('kafka-out');
    expect(reviewed.eventRoutes[0].sinkName).toBe('kafka-out');
    const row = JSON.parse((await page.locator('[data-testid=review-row]').textContent()) ?? '{}');
    expect(row).toMatchObject({
      resource_id: 'graph',
      project_id: 'web',
      type: 'Konnektr.Graph',
      sku: 'standard',
      status: 'Creating',
    });
    await page.screenshot({ path: 'test-results/wizard-review.png', fullPage: true });
    await page.click('button:has-text("Create resource")');
    await page.waitForURL(/\/projects\/web\/resources\/graph$/);
    await expect(page.locator('main').textContent()).resolves.toContain('Creating');

    // Later: change the instances in the settings editor.
    await page.click('nav[aria-label=Sections] a:has-text("Settings")');
    await page.waitForURL(/\/resources\/graph\/settings$/);
    await page.fill('[name="settings.instances"]', '3');
    await page.click('#settings-form button:has-text("Review changes")');
    await page.waitForURL(/\/settings\/review\?draft=/);
    const change = page.locator('[data-testid=settings-diff] tr[data-pointer="/instances"]');
    await expect(change.textContent()).resolves.toMatch(/changed\s*13/);
    await page.screenshot({ path: 'test-results/settings-review.png', fullPage: true });
    await page.click('button:has-text("Apply changes")');
    await page.waitForURL(/\/settings\?saved=1$/);
    expect(await page.inputValue('[name="settings.instances"]')).toBe('3');
    expect(await page.inputValue('[name="settings.eventSinks.kafka[0].name"]')).toBe('kafka-out');
    await page.screenshot({ path: 'test-results/resource-settings.png', fullPage: true });

    // Rename: the settings stay exactly as they were.
    await page.goto(`${server.url}/projects/web/resources/graph`);
    const before = await page.locator('pre').first().textContent();
    await page.fill('#rename-resource input[name=name]', 'Graph database');
    await page.click('#rename-resource button');
    await page.waitForSelector('h1:has-text("Graph database")');
    expect(await page.locator('pre').first().textContent()).toBe(before);
    expect(problems).toEqual([]);
  });
});
