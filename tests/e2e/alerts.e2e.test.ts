import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { type Daemon, startAlertmanager, startPrometheus } from '../helpers/monitoring-daemons.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

/**
 * Issue 9's alerts and resource metrics end to end, in Chromium against the real server (jobs on):
 * a real Prometheus scrapes a small exporter this test serves, with series of the user's resource
 * AND of another tenant's resource; a real Alertmanager and a webhook receiver take the
 * notifications. The user creates channels and a PromQL rule, sees its 24-hour preview, the test
 * raises the exported value, the rule fires (webhook signed, Alertmanager holds the alert), the
 * value drops, the rule resolves (both hear it). The monitoring page charts only the user's series.
 */
const SHOTS = 'test-results';
let server: RunningServer;
let prometheus: Daemon;
let alertmanager: Daemon;
let exporter: Server;
let receiver: Server;
let receiverUrl = '';
let browser: Browser;
const hooks: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
/** What the exporter reports as the user's queue depth (the other tenant's is always 500). */
let queueDepth = 0;
let cpuSeconds = 0;

function exposition(): string {
  cpuSeconds += 0.25;
  const mine = 'project_id="shop",resource_id="db1"';
  const theirs = 'project_id="other",resource_id="secret"';
  return [
    '# TYPE ktrlplane_e2e_queue_depth gauge',
    `ktrlplane_e2e_queue_depth{${mine}} ${queueDepth}`,
    `ktrlplane_e2e_queue_depth{${theirs}} 500`,
    '# TYPE container_memory_working_set_bytes gauge',
    `container_memory_working_set_bytes{${mine}} 123456789`,
    `container_memory_working_set_bytes{${theirs}} 999999999`,
    '# TYPE container_cpu_usage_seconds_total counter',
    `container_cpu_usage_seconds_total{${mine}} ${cpuSeconds}`,
    `container_cpu_usage_seconds_total{${theirs}} ${cpuSeconds * 40}`,
    '# TYPE container_network_receive_bytes_total counter',
    `container_network_receive_bytes_total{${mine}} ${cpuSeconds * 1000}`,
    '# TYPE container_network_transmit_bytes_total counter',
    `container_network_transmit_bytes_total{${mine}} ${cpuSeconds * 500}`,
    '',
  ].join('\n');
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const created = createServer(handler);
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return { server: created, url: `http://127.0.0.1:${(created.address() as AddressInfo).port}` };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 90_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out waiting for ${what}\n${server.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

beforeAll(async () => {
  const exported = await listen((_req, res) => {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4');
    res.end(exposition());
  });
  exporter = exported.server;
  const hook = await listen((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  receiver = hook.server;
  receiverUrl = `${hook.url}/alerts`;
  [prometheus, alertmanager] = await Promise.all([
    startPrometheus({ job: 'exporter', targets: [new URL(exported.url).host] }),
    startAlertmanager(),
  ]);
  server = await startServer({ PROMETHEUS_URL: prometheus.url, JOBS_ENABLED: 'true' });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await Promise.all([prometheus?.stop(), alertmanager?.stop()]);
  exporter?.close();
  receiver?.close();
}, 60_000);

async function amAlerts(): Promise<
  Array<{ labels: Record<string, string>; status: { state: string }; endsAt: string }>
> {
  const res = await fetch(
    `${alertmanager.url}/api/v2/alerts?filter=${encodeURIComponent('source="ktrlplane"')}`,
  );
  return (await res.json()) as Array<{
    labels: Record<string, string>;
    status: { state: string };
    endsAt: string;
  }>;
}

async function ruleState(page: Page): Promise<string> {
  await page.reload();
  return (await page.textContent('[data-testid=rule-state]'))?.trim() ?? '';
}

describe('alerts and resource metrics in Chromium', () => {
  it('creates a rule, previews it, sees it fire and resolve; the webhook and Alertmanager are told', async () => {
    const page = await browser.newPage();
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'shop');
    const created = await page.request.post(`${server.url}/projects/shop/resources`, {
      headers: { Origin: server.url, Accept: 'application/json' },
      data: { resource_id: 'db1', name: 'db1', type: 'Konnektr.Flows', sku: 'free', settings_json: {} },
    });
    expect(created.status()).toBe(201);

    // Channels: a webhook (its secret shown once) and Alertmanager.
    await page.goto(`${server.url}/projects/shop/alerts`);
    await page.fill('#channel-form input[name=name]', 'ops webhook');
    await page.selectOption('#channel-form select[name=kind]', 'webhook');
    await page.fill('#channel-form input[name=target]', receiverUrl);
    await page.click('#channel-form button:has-text("Add channel")');
    const secret = (await page.textContent('[data-testid=signing-secret]'))?.trim() ?? '';
    expect(secret).toMatch(/^whsec_/);
    await page.screenshot({ path: `${SHOTS}/alerts-channel-secret.png`, fullPage: true });
    await page.goto(`${server.url}/projects/shop/alerts`);
    expect(await page.content()).not.toContain(secret);
    await page.fill('#channel-form input[name=name]', 'alertmanager');
    await page.selectOption('#channel-form select[name=kind]', 'alertmanager');
    await page.fill('#channel-form input[name=target]', alertmanager.url);
    await page.click('#channel-form button:has-text("Add channel")');
    await page.waitForSelector('[data-testid=alert-channels] >> text=alertmanager');

    // The rule form: switching the kind re-renders it with the PromQL field; the preview answers.
    await page.click('a:has-text("New rule")');
    await page.waitForURL(/\/alerts\/new$/);
    await page.fill('input[name=name]', 'Queue backlog');
    await page.selectOption('select[name=kind]', 'promql');
    await page.waitForSelector('input[name=query]');
    expect(await page.inputValue('input[name=name]')).toBe('Queue backlog');
    await page.fill('input[name=query]', 'max(ktrlplane_e2e_queue_depth)');
    await page.selectOption('select[name=resource_id]', 'db1');
    await page.fill('input[name=threshold]', '10');
    await page.fill('input[name=window_minutes]', '1');
    await page.fill('input[name=for_minutes]', '0');
    await page.fill('input[name=labels]', 'team=storefront');
    await page.fill('input[name=runbook_url]', 'https://runbooks.example.com/queue');
    await page.check('input[name=channel_ids] >> nth=0');
    await page.check('input[name=channel_ids] >> nth=1');
    await page.selectOption('select[name=severity]', 'critical');
    // The other tenant's series sits at 500 all along: the preview must not count it.
    await page.waitForSelector('[data-testid=preview-firings]:has-text("Would have fired 0 times")');
    await page.screenshot({ path: `${SHOTS}/alerts-rule-form-preview.png`, fullPage: true });
    await page.click('button:has-text("Create rule")');
    await page.waitForURL(/\/projects\/shop\/alerts\/[0-9a-f-]+$/);
    const ruleUrl = page.url();

    // Trigger: the exported value crosses the threshold; the next evaluation (≤ 30 s) fires.
    queueDepth = 42;
    await until('the rule to fire', async () => (await ruleState(page)) === 'firing');
    await page.screenshot({ path: `${SHOTS}/alerts-rule-firing.png`, fullPage: true });

    const firingHook = await until('the firing webhook', async () =>
      hooks.find((hook) => JSON.parse(hook.body).type === 'alert.firing'),
    );
    const [, timestamp, v1] =
      /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(firingHook.headers['x-ktrlplane-signature'])) ?? [];
    expect(v1).toBe(createHmac('sha256', secret).update(`${timestamp}.${firingHook.body}`).digest('hex'));
    expect(JSON.parse(firingHook.body)).toMatchObject({
      status: 'firing',
      value: 42,
      project_id: 'shop',
      rule: { name: 'Queue backlog', severity: 'critical', labels: { team: 'storefront' } },
    });
    const active = await until('Alertmanager to hold the alert', async () => {
      const alerts = await amAlerts();
      return alerts.find(
        (alert) => alert.labels.alertname === 'Queue backlog' && alert.status.state === 'active',
      );
    });
    expect(active.labels).toMatchObject({
      severity: 'critical',
      project_id: 'shop',
      organization_id: 'acme',
      team: 'storefront',
    });

    // Resolve: the value drops; the rule resolves, the webhook hears it, Alertmanager lets go.
    queueDepth = 0;
    await until('the rule to resolve', async () => (await ruleState(page)) === 'ok');
    const resolvedHook = await until('the resolved webhook', async () =>
      hooks.find((hook) => JSON.parse(hook.body).type === 'alert.resolved'),
    );
    expect(JSON.parse(resolvedHook.body)).toMatchObject({ status: 'resolved', value: 0 });
    await until('Alertmanager to resolve the alert', async () => {
      const alerts = await amAlerts();
      return !alerts.some(
        (alert) => alert.labels.alertname === 'Queue backlog' && alert.status.state === 'active',
      );
    });

    // The rule page shows the history and the delivery log.
    await page.goto(ruleUrl);
    const history = await page.textContent('[data-testid=alert-history]');
    expect(history).toContain('firing');
    expect(history).toContain('resolved');
    await until('every delivery to be logged as delivered', async () => {
      await page.reload();
      const log = (await page.textContent('[data-testid=delivery-log]')) ?? '';
      return (log.match(/delivered/g) ?? []).length >= 4 && !log.includes('pending');
    });
    await page.screenshot({ path: `${SHOTS}/alerts-rule-resolved.png`, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it("charts the resource's metrics from Prometheus, never another tenant's", async () => {
    const page = await browser.newPage();
    const problems = watchForProblems(page);
    await page.goto(`${server.url}/auth/login`);
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'a long passphrase');
    await page.click('button:has-text("Sign in")');
    await page.waitForURL((url) => !url.pathname.startsWith('/auth'));

    const json = async (query = '') => {
      const res = await page.request.get(
        `${server.url}/projects/shop/resources/db1/monitoring?range=1h${query}`,
        {
          headers: { Accept: 'application/json' },
        },
      );
      return {
        status: res.status(),
        body: (await res.json()) as {
          charts: Array<{
            key: string;
            query: string;
            series: Array<{ points: Array<{ v: number | null }> }>;
          }>;
        },
      };
    };
    const memory = await until('memory samples', async () => {
      const { body } = await json();
      const chart = body.charts.find((c) => c.key === 'memory');
      return chart?.series[0]?.points.some((p) => p.v !== null) ? body : undefined;
    });
    const values = memory.charts.flatMap((chart) => chart.series.flatMap((s) => s.points.map((p) => p.v)));
    expect(values).toContain(123456789);
    expect(values).not.toContain(999999999);
    expect(memory.charts.find((c) => c.key === 'memory')?.query).toBe(
      'sum(container_memory_working_set_bytes{project_id="shop", resource_id="db1"})',
    );
    // A custom query reads only this resource's series, whatever it asks for.
    const custom = await json(`&query=${encodeURIComponent('ktrlplane_e2e_queue_depth')}`);
    const customChart = custom.body.charts.find((c) => c.key === 'custom');
    expect(customChart?.series).toHaveLength(1);
    expect(customChart?.series[0]?.points.some((p) => p.v === 500)).toBe(false);
    expect(
      (await json(`&query=${encodeURIComponent('ktrlplane_e2e_queue_depth{project_id="other"}')}`)).status,
    ).toBe(422);

    await page.goto(`${server.url}/projects/shop/resources/db1/monitoring?range=1h`);
    await page.waitForSelector('[data-testid=resource-charts] svg[role=img]');
    expect(await page.locator('[data-testid=resource-charts] svg[role=img]').count()).toBe(4);
    await page.screenshot({ path: `${SHOTS}/monitoring-resource.png`, fullPage: true });
    await page.goto(`${server.url}/projects/shop/monitoring?range=1h`);
    await page.waitForSelector('[data-testid=control-plane-charts] svg[role=img]');
    await page.screenshot({ path: `${SHOTS}/monitoring-project.png`, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
