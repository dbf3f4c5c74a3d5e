import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

/**
 * The billing dashboard in Chromium against the real server: the page shows the same numbers as
 * the JSON of the same route (cost so far, projection, usage per metric, cost per resource, the
 * usage CSV), the charts answer hover with their values, and the bell counts a quota notification.
 *
 * Usage is written straight into the server's database (ktrlplane.usage_hourly, as the rollup
 * writes it), so the server runs on Postgres — TEST_DATABASE_URL, or the local one — in a database
 * of its own, dropped afterwards.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = `ktrlplane_e2e_billing_${randomBytes(4).toString('hex')}`;
const databaseUrl = (() => {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();

let server: RunningServer;
let browser: Browser;
let db: pg.Client;

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  [server, browser] = await Promise.all([
    startServer({ PASSWORD_ITERATIONS: '1000', DATABASE_URL: databaseUrl }),
    launchBrowser(),
  ]);
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
}, 90_000);

afterAll(async () => {
  await db?.end();
  await browser?.close();
  await server?.stop();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.end();
});

/** This month so far: two resources' runtime and storage every day, API calls on day 1. */
async function seedUsage(orgId: string, userId: string) {
  const now = new Date();
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  await db.query(
    `INSERT INTO ktrlplane.resources (resource_id, project_id, name, type, sku, settings_json, created_at)
     VALUES ('twin', 'web', 'Twin graph', 'Konnektr.Graph', 'standard', '{"instances":3}', $1),
            ('flow', 'web', 'Nightly flow', 'Konnektr.Flows', 'free', '{"replicas":1}', $1)`,
    [new Date(monthStart)],
  );
  const rows: Array<[string, string, string | null, Date, number]> = [];
  for (let t = monthStart; t < now.getTime() - 3_600_000; t += 6 * 3_600_000) {
    const hour = new Date(t);
    rows.push(['instance_hours', 'twin', 'Konnektr.Graph', hour, 18]);
    rows.push(['instance_hours', 'flow', 'Konnektr.Flows', hour, 6]);
    rows.push(['storage_gb_hours', 'twin', 'Konnektr.Graph', hour, 600]);
  }
  rows.push(['api_calls', '', null, new Date(monthStart + 3_600_000), 1_250_000]);
  rows.push(['peak_connections', 'twin', 'Konnektr.Graph', new Date(now.getTime() - 2 * 3_600_000), 120]);
  for (const [metric, resourceId, type, hour, quantity] of rows) {
    await db.query(
      `INSERT INTO ktrlplane.usage_hourly
         (scope_type, scope_id, metric, resource_id, hour, org_id, project_id, resource_type, quantity, updated_at)
       VALUES ('organization', $1, $2, $3, $4, $1, $5, $6, $7, now())`,
      [orgId, metric, resourceId, hour, resourceId ? 'web' : '', type, quantity],
    );
  }
  await db.query(
    `INSERT INTO ktrlplane.notifications (user_id, org_id, kind, title, body, link, dedupe_key, created_at)
     VALUES ($1, $2, 'usage.quota', 'api calls: 50% of this period''s quota used', 'Half of the quota is used.',
             '/organizations/acme/billing', 'e2e-quota', now())`,
    [userId, orgId],
  );
}

const text = async (page: Page, testId: string) =>
  ((await page.locator(`[data-testid="${testId}"]`).first().textContent()) ?? '').trim();

describe('billing dashboard in Chromium', () => {
  it('shows the numbers of the JSON API, charts with hover values, and the quota notification', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'web');
    const user = await db.query<{ user_id: string }>(
      `SELECT user_id FROM ktrlplane.users WHERE email = 'ada@example.com'`,
    );
    await seedUsage('acme', user.rows[0]?.user_id ?? '');

    const api = await page.request.get(`${server.url}/organizations/acme/billing`, {
      headers: { Accept: 'application/json' },
    });
    expect(api.status()).toBe(200);
    const { dashboard } = (await api.json()) as {
      dashboard: {
        currency: string;
        cost: {
          total: number;
          projected_total: number;
          by_resource: Array<{ resource_id: string | null; amount: number }>;
        };
        usage: Array<{ metric: string; quantity: number; unit: string }>;
        insights: Array<{ kind: string; monthly_savings: number }>;
      };
    };
    const money = (cents: number) =>
      new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency: dashboard.currency.toUpperCase(),
      }).format(cents / 100);
    expect(dashboard.cost.total).toBeGreaterThan(4900);

    await page.goto(`${server.url}/organizations/acme/billing`);
    expect(await text(page, 'cost-so-far')).toBe(money(dashboard.cost.total));
    expect(await text(page, 'projected-total')).toBe(money(dashboard.cost.projected_total));
    for (const row of dashboard.cost.by_resource) {
      const cell = page.locator(`[data-testid="cost-resource-${row.resource_id ?? 'account'}"] td`).last();
      expect((await cell.textContent())?.trim()).toBe(money(row.amount));
    }
    const quantity = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
    for (const usage of dashboard.usage) {
      expect(await text(page, `usage-${usage.metric}-quantity`)).toContain(quantity.format(usage.quantity));
    }
    expect(dashboard.insights.map((i) => i.kind)).toContain('over_provisioned');
    expect(await page.locator('[data-testid="insight-over_provisioned"]').textContent()).toContain(
      money(dashboard.insights.find((i) => i.kind === 'over_provisioned')?.monthly_savings ?? 0),
    );

    // The bell counts the quota notification.
    expect(await text(page, 'notification-count')).toBe('1');

    // Hover the cumulative cost chart: the tooltip shows a date and the cost at that day.
    const chart = page.locator('[data-testid="chart-cumulative-cost"] svg[role=img]');
    await chart.scrollIntoViewIfNeeded();
    const box = await chart.boundingBox();
    if (!box) throw new Error('the cost chart is not visible');
    await page.mouse.move(box.x + box.width * 0.12, box.y + box.height / 2);
    const tooltip = page.locator('[data-testid="chart-cumulative-cost"] [role=status]');
    await expect.poll(() => tooltip.isVisible()).toBe(true);
    expect(await tooltip.textContent()).toMatch(/Cost so far\s*\$[\d,]+\.\d\d/);
    await page.screenshot({ path: 'test-results/billing-dashboard-hover.png', fullPage: false });
    await page.screenshot({ path: 'test-results/billing-dashboard.png', fullPage: true });

    // The CSV link downloads the same usage the JSON lists.
    const csv = await page.request.get(
      `${server.url}/organizations/acme/billing/usage?format=csv&metric=api_calls`,
    );
    expect((await csv.text()).split('\r\n')[1]).toMatch(/,api_calls,call,,,,1250000$/);

    // The notification page and marking it read drop the count.
    await page.goto(`${server.url}/notifications`);
    await page.click('[data-testid="notification"] button:has-text("Mark read")');
    await expect.poll(() => page.locator('[data-testid="notification-count"]').count()).toBe(0);
    expect(await page.locator('#notifications-summary').textContent()).toBe('Nothing unread.');
    expect(await page.locator('[data-testid="notification"]').getAttribute('data-unread')).toBe('false');
    await page.screenshot({ path: 'test-results/notifications.png', fullPage: true });
    expect(problems).toEqual([]);
  }, 90_000);
});
