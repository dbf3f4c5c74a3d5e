import { mkdir } from 'node:fs/promises';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { sql } from 'kysely';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

/**
 * Resource logs in Chromium against the real server on a scratch Postgres database: an ingest
 * token made on the project's settings page, lines shipped by the official OpenTelemetry JS logs
 * exporter (OTLP/HTTP JSON, gzip), a filtered search with context, then the live tail receiving
 * new lines, paused (by the button and by scrolling up) and resumed.
 */
const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `ktrlplane_e2e_logs_${Date.now()}`;
const admin = openPostgres(serverUrl, { max: 1 });
let database: ReturnType<typeof openPostgres>;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  database = openPostgres(databaseUrl(serverUrl, name), { max: 2 });
  [server, browser] = await Promise.all([
    startServer({ PASSWORD_ITERATIONS: '1000', DATABASE_URL: databaseUrl(serverUrl, name) }),
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

/** A shipper: the OTel SDK's logger with the OTLP/HTTP exporter, as an application would use it. */
function shipper(token: string) {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ resource_id: 'api', 'service.name': 'checkout' }),
    processors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({
          url: `${server.url}/v1/logs`,
          headers: { Authorization: `Bearer ${token}` },
          compression: 'gzip' as never,
        }),
      }),
    ],
  });
  const logger = provider.getLogger('checkout');
  return {
    async send(lines: Array<{ level: 'INFO' | 'ERROR'; body: string; status?: number }>) {
      for (const line of lines) {
        logger.emit({
          severityNumber: line.level === 'ERROR' ? 17 : 9,
          severityText: line.level,
          body: line.body,
          attributes: line.status ? { 'http.status': line.status } : {},
        });
      }
      await provider.forceFlush();
    },
    shutdown: () => provider.shutdown(),
  };
}

describe('resource logs in Chromium', () => {
  it('ships logs with the OTLP exporter, searches them with a filter, and tails new lines with pause and resume', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'web');
    await database.db
      .insertInto('ktrlplane.resources')
      .values({
        resource_id: 'api',
        project_id: 'web',
        name: 'Checkout API',
        type: 'Konnektr.Flows',
        settings_json: {},
      })
      .execute();

    // An ingest token from the project's settings page, shown once.
    await page.goto(`${server.url}/projects/web/settings`);
    await page.fill('#ingest-tokens input[name=name]', 'otel-collector');
    await page.click('#ingest-tokens button:has-text("Create ingest token")');
    const secretField = page.locator('#new-token-secret');
    await secretField.waitFor();
    const token = await secretField.inputValue();
    expect(token).toMatch(/^kpi_/);
    await page.screenshot({ path: 'test-results/logs-ingest-token.png', fullPage: true });
    // The shipper configurations name this server's endpoint and scroll inside their box.
    await page.click('#shipper-otel-collector summary');
    const collector = page.locator('#shipper-otel-collector pre');
    await expect(collector.textContent()).resolves.toContain(`endpoint: "${server.url}"`);
    await page.click('#shipper-alloy summary');
    await expect(page.locator('#shipper-alloy pre').textContent()).resolves.toContain(
      `"${server.url}/loki/api/v1/push"`,
    );
    const sectionWidth = await page.locator('#ingest-tokens').evaluate((el) => el.clientWidth);
    await expect(collector.evaluate((el) => el.getBoundingClientRect().width)).resolves.toBeLessThanOrEqual(
      sectionWidth,
    );
    await page.locator('#shipper-configs').screenshot({ path: 'test-results/logs-shipper-configs.png' });

    const ship = shipper(token);
    try {
      await ship.send([
        { level: 'INFO', body: 'checkout started for cart 17' },
        { level: 'ERROR', body: 'checkout failed: payment gateway timeout', status: 504 },
        { level: 'INFO', body: 'health check ok' },
        { level: 'ERROR', body: 'checkout failed: card declined', status: 402 },
        { level: 'ERROR', body: 'cache unavailable', status: 503 },
      ]);

      // Search with a filter.
      await page.goto(`${server.url}/projects/web/resources/api/logs`);
      await page.fill('#log-query', 'level:error checkout attr.http.status:>=500');
      await page.selectOption('#log-range', '15m');
      await page.click('form[aria-label="Search log lines"] button:has-text("Search")');
      await page.waitForURL(/q=level%3Aerror/);
      const rows = page.locator('#log-rows tr[data-log-kind=log]');
      await expect(rows.count()).resolves.toBe(1);
      await expect(rows.first().textContent()).resolves.toContain('payment gateway timeout');
      await rows.first().locator('button:has-text("Show context")').click();
      await page.waitForSelector('#log-rows td[id^=ctx-] table');
      await expect(page.locator('#log-rows td[id^=ctx-]').first().textContent()).resolves.toContain(
        'checkout started for cart 17',
      );
      await page.screenshot({ path: 'test-results/logs-search.png', fullPage: true });

      // The project's search spans its resources, with a resource column; save the search.
      await page.goto(`${server.url}/projects/web/logs?q=${encodeURIComponent('level:error')}&range=15m`);
      await expect(page.locator('#log-rows tr[data-log-kind=log]').count()).resolves.toBe(3);
      await page.fill('#saved-searches input[name=name]', 'Errors');
      await page.click('#saved-searches button:has-text("Save search")');
      await page.waitForSelector('#saved-searches a:has-text("Errors")');
      await page.screenshot({ path: 'test-results/logs-project-search.png', fullPage: true });
      await page.goto(`${server.url}/projects/web/resources/api/logs`);

      // A malformed query says where it breaks.
      await page.fill('#log-query', 'level:loud');
      await page.click('form[aria-label="Search log lines"] button:has-text("Search")');
      await page.waitForSelector('#log-query-error');
      await expect(page.locator('#log-query-error').textContent()).resolves.toContain('position 6');

      // Live tail of errors.
      await page.goto(
        `${server.url}/projects/web/resources/api/logs/tail?q=${encodeURIComponent('level:error')}`,
      );
      await page.waitForSelector('#tail-state:has-text("Live")');
      await ship.send([
        { level: 'ERROR', body: 'tail: first new error' },
        { level: 'INFO', body: 'tail: not shown (info)' },
      ]);
      await page.waitForSelector('#tail-lines li:has-text("tail: first new error")');
      await expect(page.locator('#tail-lines').textContent()).resolves.not.toContain('not shown');
      await page.screenshot({ path: 'test-results/logs-tail-live.png', fullPage: true });

      // Pause: new lines wait, visibly; resume shows them.
      await page.click('#tail-toggle');
      await page.waitForSelector('#tail-state:has-text("Paused")');
      await ship.send([{ level: 'ERROR', body: 'tail: arrived while paused' }]);
      await page.waitForSelector('#tail-waiting:has-text("1")');
      await expect(page.locator('#tail-lines').textContent()).resolves.not.toContain('arrived while paused');
      await page.screenshot({ path: 'test-results/logs-tail-paused.png', fullPage: true });
      await page.click('#tail-toggle');
      await page.waitForSelector('#tail-state:has-text("Live")');
      await page.waitForSelector('#tail-lines li:has-text("tail: arrived while paused")');

      // Scrolling up pauses too; back at the bottom it follows again.
      await ship.send(
        Array.from({ length: 80 }, (_, i) => ({ level: 'ERROR' as const, body: `tail: burst ${i}` })),
      );
      await page.waitForSelector('#tail-lines li:has-text("tail: burst 79")');
      await page.evaluate(() => {
        const list = document.getElementById('tail-lines') as HTMLElement;
        list.scrollTop = 0;
        list.dispatchEvent(new Event('scroll'));
      });
      await page.waitForSelector('#tail-state:has-text("Paused — scrolled up")');
      await page.screenshot({ path: 'test-results/logs-tail-scrolled-up.png', fullPage: true });
      await page.evaluate(() => {
        const list = document.getElementById('tail-lines') as HTMLElement;
        list.scrollTop = list.scrollHeight;
        list.dispatchEvent(new Event('scroll'));
      });
      await page.waitForSelector('#tail-state:has-text("Live")');
      expect(problems).toEqual([]);
    } finally {
      await ship.shutdown();
    }
  });
});
