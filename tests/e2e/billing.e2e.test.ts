import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeCatalogue } from '../../src/services/billing/catalogue.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { createOrganizationAndProject, signUpInBrowser, watchForProblems } from '../helpers/browser-flows.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';
import { type StripeLocal, startStripeLocal } from '../stripe-local/index.ts';

/**
 * Billing in Chromium against the real server and the local Stripe server (in this process):
 * a standard SKU is refused with a way to the billing page, the user subscribes through the
 * local Stripe's checkout page, the success page turns from "Activating…" to active by itself
 * once the webhooks have landed, the standard resource is created, and the subscription is set
 * to end with the period.
 */

let stripe: StripeLocal;
let server: RunningServer;
let browser: Browser;

/**
 * Checkout's success and cancel URLs are built from BASE_URL, so the server must know its own
 * address before it starts: a free port chosen here, not PORT=0.
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  // Stripe first, without a webhook endpoint: the server's URL is known only once it runs.
  stripe = await startStripeLocal(stripeCatalogue());
  const port = await freePort();
  [server, browser] = await Promise.all([
    startServer({
      PASSWORD_ITERATIONS: '1000',
      PORT: String(port),
      BASE_URL: `http://localhost:${port}`,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      // Billing is on (a Stripe key is set), so this must not matter; free makes sure it does not help.
      PLAN_WITHOUT_BILLING: 'free',
    }),
    launchBrowser(),
  ]);
  await stripe.control.setWebhookEndpoint(`${server.url}/webhooks/stripe`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await stripe?.stop();
});

/** The wizard up to its review step for a standard-SKU graph database; answers the review URL. */
async function reviewStandardResource(page: Page): Promise<string> {
  await page.goto(`${server.url}/projects/web/resources/new`);
  await page.check('input[name=type][value="Konnektr.Graph"]');
  await page.check('input[name=sku][value=standard]');
  await page.fill('input[name=name]', 'Graph');
  await page.fill('input[name=resource_id]', 'graph');
  await page.click('button:has-text("Continue")');
  await page.waitForURL(/\/resources\/new\/configure\?/);
  await page.click('#configure-form button:has-text("Review")');
  await page.waitForURL(/\/resources\/new\/review\?draft=/);
  return page.url();
}

describe('billing in Chromium with the local Stripe', () => {
  it('refuses a standard SKU on Free, subscribes through Checkout, activates live, creates it, cancels at period end', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    const problems = watchForProblems(page);
    await signUpInBrowser(page, server.url, 'Ada', 'ada@example.com');
    await createOrganizationAndProject(page, 'acme', 'web');

    // On Free, the wizard's review already says the standard SKU needs a subscription, and
    // creating anyway answers 402 with the same message.
    const reviewUrl = await reviewStandardResource(page);
    const alert = page.locator('[role=alert]');
    await expect(alert.textContent()).resolves.toMatch(/needs the standard plan/i);
    const refusedByWizard = page.waitForResponse(
      (response) =>
        response.request().method() === 'POST' && response.url().endsWith('/resources/new/review'),
    );
    await page.click('button:has-text("Create resource")');
    expect((await refusedByWizard).status()).toBe(402);
    await expect(alert.textContent()).resolves.toContain('Subscribe on the billing page');
    await page.screenshot({ path: 'test-results/billing-wizard-402.png', fullPage: true });

    // The JSON API from the page (the session cookie, the page's Origin): a problem with the way out.
    const problem = await page.evaluate(async () => {
      const response = await fetch('/projects/web/resources', {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({
          resource_id: 'graph',
          name: 'Graph',
          type: 'Konnektr.Graph',
          sku: 'standard',
        }),
      });
      return {
        status: response.status,
        type: response.headers.get('Content-Type'),
        body: await response.json(),
      };
    });
    expect(problem.status).toBe(402);
    expect(problem.type).toContain('application/problem+json');
    expect(problem.body).toMatchObject({
      needed_plan: 'standard',
      billing_url: '/organizations/acme/billing',
    });

    // A plain form post of the same create gets the error page with a "Go to billing" button.
    await page.evaluate(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/projects/web/resources';
      const fields = { resource_id: 'graph', name: 'Graph', type: 'Konnektr.Graph', sku: 'standard' };
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    });
    const goToBilling = page.locator('[role=alert] a:has-text("Go to billing")');
    await goToBilling.waitFor();
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain('Error 402');
    await page.screenshot({ path: 'test-results/billing-402.png', fullPage: true });
    await goToBilling.click();
    await page.waitForURL(/\/organizations\/acme\/billing$/);
    await expect(page.locator('[data-testid=current-plan]').textContent()).resolves.toBe('Free');
    await expect(page.locator('[data-testid=subscription-status]').textContent()).resolves.toBe('none');
    await page.screenshot({ path: 'test-results/billing-free.png', fullPage: true });

    // Subscribe: the form posts to ktrlplane, which redirects to the local Stripe's checkout page.
    await page.click('button:has-text("Subscribe to Standard")');
    await page.waitForURL((url) => url.href.startsWith(`${stripe.url}/c/pay/cs_`));
    // The customer ktrlplane made for the organization, with the signed-in user's email.
    expect(await page.inputValue('input[type=email]')).toBe('ada@example.com');
    await expect(page.locator('tr.total').textContent()).resolves.toContain('$49.00');
    await page.screenshot({ path: 'test-results/billing-checkout.png', fullPage: true });

    // Webhooks held back, so the success page is seen waiting for them.
    await stripe.control.pauseWebhooks();
    await page.click('button:has-text("Pay and subscribe")');
    await page.waitForURL(/\/organizations\/acme\/billing\/success\?session_id=cs_/);
    const activation = page.locator('[data-testid=activation]');
    await expect(activation.textContent()).resolves.toContain('Activating…');
    await page.screenshot({ path: 'test-results/billing-activating.png', fullPage: true });

    // Released: the polling fragment turns active without the page being loaded again. A mark on
    // the window tells: a reload would drop it (htmx's history.replaceState on its first swap is a
    // same-document navigation, so counting navigations would not).
    await page.evaluate(() => {
      (window as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true;
    });
    await stripe.control.resumeWebhooks();
    await page.waitForSelector('[data-testid=activation]:has-text("Your Standard plan is active")');
    expect(
      await page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    ).toBe(true);
    await page.screenshot({ path: 'test-results/billing-activated.png', fullPage: true });

    // The billing page: Standard, active, renewing, with the first invoice (paid at checkout).
    await page.click('[data-testid=activation] a:has-text("Back to billing")');
    await page.waitForURL(/\/organizations\/acme\/billing$/);
    await expect(page.locator('[data-testid=current-plan]').textContent()).resolves.toBe('Standard');
    await expect(page.locator('[data-testid=subscription-status]').textContent()).resolves.toBe('active');
    await expect(page.locator('[data-testid=renews]').textContent()).resolves.toBe('yes');
    const invoices = page.locator('[data-testid=invoices] tbody tr');
    await expect(invoices.count()).resolves.toBe(1);
    const invoice = (await invoices.first().textContent()) ?? '';
    expect(invoice).toContain('paid');
    expect(invoice).toContain('$49.00');
    await page.screenshot({ path: 'test-results/billing-active.png', fullPage: true });

    // The same review now passes and creates the resource.
    await page.goto(reviewUrl);
    await expect(page.locator('[role=alert]').count()).resolves.toBe(0);
    await page.click('button:has-text("Create resource")');
    await page.waitForURL(/\/projects\/web\/resources\/graph$/);
    await expect(page.locator('main').textContent()).resolves.toContain('standard');
    await page.screenshot({ path: 'test-results/billing-resource.png', fullPage: true });

    // Cancel at period end: the subscription stays active and says when it ends.
    await page.goto(`${server.url}/organizations/acme/billing`);
    await page.click('button:has-text("Cancel at period end")');
    await page.waitForURL(/\/organizations\/acme\/billing$/);
    await expect(page.locator('[data-testid=renews]').textContent()).resolves.toMatch(
      /^no — ends \d{4}-\d{2}-\d{2}$/,
    );
    await expect(page.locator('[data-testid=current-plan]').textContent()).resolves.toBe('Standard');
    await expect(page.locator('[data-testid=subscription-status]').textContent()).resolves.toBe('active');
    await page.locator('button:has-text("Keep the subscription")').waitFor();
    await page.screenshot({ path: 'test-results/billing-cancelled.png', fullPage: true });

    await stripe.control.webhooksIdle();
    const deliveries = await stripe.control.deliveries();
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.filter((delivery) => delivery.status !== 200)).toEqual([]);
    expect(problems).toEqual([]);
  }, 90_000);
});
