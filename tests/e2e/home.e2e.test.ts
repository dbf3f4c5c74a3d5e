import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0);
});

describe('the home page in Chromium', () => {
  it('shows the first-run page with styles and scripts loaded, and no CSP violations', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    await expect(page.locator('h1').textContent()).resolves.toBe('Welcome to ktrlplane');
    // htmx and Alpine ran under the CSP (their globals exist), and Tailwind styled the page.
    expect(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx)).toBe('object');
    expect(await page.evaluate(() => typeof (window as unknown as { Alpine?: unknown }).Alpine)).toBe(
      'object',
    );
    const headerBorder = await page
      .locator('header')
      .evaluate((el) => getComputedStyle(el).borderBottomWidth);
    expect(headerBorder).toBe('1px');
    await page.screenshot({ path: 'test-results/home.png', fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows an HTML 404 page for an unknown address', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${server.url}/no-such-thing`);
    expect(response?.status()).toBe(404);
    await expect(page.locator('h1').textContent()).resolves.toBe('Not Found');
    await page.screenshot({ path: 'test-results/not-found.png', fullPage: true });
  });

  it('follows the dark colour scheme of the system', async () => {
    const context = await browser.newContext({ colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(server.url);
    const background = await page.locator('body').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(background).not.toBe('rgb(248, 250, 252)');
    await page.screenshot({ path: 'test-results/home-dark.png', fullPage: true });
    await context.close();
  });
});
