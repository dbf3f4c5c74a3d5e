import { mkdir } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { finishSignUpInBrowser } from '../helpers/browser-flows.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  await mkdir('test-results', { recursive: true });
  // Low PBKDF2 cost keeps sign-ups quick; the cost itself is covered by the integration tests.
  [server, browser] = await Promise.all([startServer({ PASSWORD_ITERATIONS: '1000' }), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.setDefaultTimeout(8000);
  page.on('console', (message) => {
    // Chromium logs every 4xx as a console error; the 422s of form validation are expected.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

async function signUp(page: Page, name: string, email: string) {
  await page.goto(`${server.url}/auth/signup`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'a long passphrase');
  await page.click('button:has-text("Create account")');
  await finishSignUpInBrowser(page, server.url, email);
}

describe('identity and tenancy in Chromium', () => {
  it('signs up, shows form errors in place, creates organizations and a project, and switches organizations', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchForProblems(page);

    // A too-short password is refused beside the field, keeping what was typed.
    await page.goto(`${server.url}/auth/signup`);
    await page.fill('input[name=name]', 'Ada');
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'short');
    await page.click('button:has-text("Create account")');
    await page.waitForSelector('text=use at least 10 characters');
    expect(await page.inputValue('input[name=email]')).toBe('ada@example.com');
    await page.screenshot({ path: 'test-results/signup-errors.png', fullPage: true });

    await page.fill('input[name=password]', 'a long passphrase');
    await page.click('button:has-text("Create account")');
    await finishSignUpInBrowser(page, server.url, 'ada@example.com');

    await page.fill('#create-organization input[name=name]', 'Acme Robotics');
    await page.click('button:has-text("Create organization")');
    await page.waitForURL(/\/organizations\/acme-robotics-[a-z0-9]{4}$/);
    const acmeUrl = page.url();

    await page.fill('#create-project input[name=name]', 'Production');
    await page.click('button:has-text("Create project")');
    await page.waitForURL(/\/projects\/production-[a-z0-9]{4}$/);
    await expect(page.locator('h1').textContent()).resolves.toBe('Production');
    await page.screenshot({ path: 'test-results/project.png', fullPage: true });

    // A second organization, then switch back through the header switcher.
    await page.goto(`${server.url}/organizations`);
    await page.fill('#create-organization input[name=name]', 'Beta Labs');
    await page.click('button:has-text("Create organization")');
    await page.waitForURL(/\/organizations\/beta-labs-/);
    await page.click('[data-testid=org-switcher] summary');
    await page.screenshot({ path: 'test-results/org-switcher.png', fullPage: true });
    await page.click('[data-testid=org-switcher] a:has-text("Acme Robotics")');
    await page.waitForURL(acmeUrl);
    await expect(page.locator('[data-testid=org-switcher] summary').textContent()).resolves.toContain(
      'Acme Robotics',
    );
    await expect(page.locator('table').textContent()).resolves.toContain('Production');

    // The start page remembers where we were.
    await page.goto(server.url);
    await page.waitForURL(acmeUrl);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('renames and deletes an organization through htmx forms', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchForProblems(page);
    await signUp(page, 'Carol', 'carol@example.com');
    await page.waitForURL(/\/organizations$/);
    await page.fill('#create-organization input[name=name]', 'Temporary');
    await page.fill('#create-organization input[name=org_id]', 'temporary');
    await page.click('button:has-text("Create organization")');
    await page.waitForURL(/\/organizations\/temporary$/);
    await page.click('a:has-text("Settings")');
    await page.fill('#rename-organization input[name=name]', 'Temporary Two');
    await page.click('#rename-organization button');
    await page.waitForSelector('#rename-organization [role=status]');
    await page.fill('#delete-organization input[name=confirm]', 'wrong');
    await page.click('#delete-organization button');
    await page.waitForSelector('#delete-organization #field-confirm-error');
    await page.fill('#delete-organization input[name=confirm]', 'Temporary Two');
    await page.click('#delete-organization button');
    await page.waitForURL(/\/organizations$/);
    await expect(page.locator('main').textContent()).resolves.not.toContain('Temporary Two');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('invites a second person by email; the link leads through sign-up into the organization', async () => {
    // On PostgreSQL, so the test can read the invitation email from the outbox as a mail server would.
    const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `ktrlplane_e2e_${Date.now()}`;
    const admin = openPostgres(serverUrl, { max: 1, onIdleClientError: () => {} });
    await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
    const pgServer = await startServer({
      PASSWORD_ITERATIONS: '1000',
      DATABASE_URL: databaseUrl(serverUrl, name),
    });
    const database = openPostgres(databaseUrl(serverUrl, name), { max: 1, onIdleClientError: () => {} });
    const ownerContext = await browser.newContext();
    const inviteeContext = await browser.newContext();
    try {
      const owner = await ownerContext.newPage();
      const problems = watchForProblems(owner);
      await owner.goto(`${pgServer.url}/auth/signup`);
      await owner.fill('input[name=name]', 'Ada');
      await owner.fill('input[name=email]', 'ada@example.com');
      await owner.fill('input[name=password]', 'a long passphrase');
      await owner.click('button:has-text("Create account")');
      await finishSignUpInBrowser(owner, pgServer.url, 'ada@example.com');
      await owner.fill('#create-organization input[name=name]', 'Acme');
      await owner.fill('#create-organization input[name=org_id]', 'acme');
      await owner.click('button:has-text("Create organization")');
      await owner.waitForURL(/\/organizations\/acme$/);
      await owner.click('nav[aria-label=Sections] a:has-text("Access")');
      await owner.waitForURL(/\/organizations\/acme\/access$/);
      await owner.fill('#grant-email', 'carol@example.com');
      await owner.selectOption('#grant-access select[name=role_id]', ROLE.viewer);
      await owner.click('#grant-access button:has-text("Grant access")');
      await owner.waitForSelector('text=carol@example.com');
      await owner.screenshot({ path: 'test-results/access-invited.png', fullPage: true });
      expect(problems).toEqual([]);

      const mail = await database.db
        .selectFrom('ktrlplane.mail_outbox')
        .select(['to_address', 'body_text'])
        .where('to_address', '=', 'carol@example.com')
        .executeTakeFirstOrThrow();
      expect(mail.to_address).toBe('carol@example.com');
      const link = /https?:\/\/\S+\/invitations\/[A-Za-z0-9_-]+/.exec(mail.body_text)?.[0];
      expect(link).toBeTruthy();

      const invitee = await inviteeContext.newPage();
      const inviteeProblems = watchForProblems(invitee);
      await invitee.goto(`${pgServer.url}${new URL(link ?? '').pathname}`);
      await invitee.screenshot({ path: 'test-results/invitation.png', fullPage: true });
      await invitee.click('main a:has-text("Sign up")');
      await invitee.waitForURL(/\/auth\/signup\?/);
      expect(await invitee.inputValue('input[name=email]')).toBe('carol@example.com');
      await invitee.fill('input[name=name]', 'Carol');
      await invitee.fill('input[name=password]', 'another long passphrase');
      await invitee.click('button:has-text("Create account")');
      await invitee.waitForURL(/\/organizations\/acme$/);
      await expect(invitee.locator('h1').textContent()).resolves.toBe('Acme');
      // A Viewer sees the organization but not the forms that change it.
      expect(await invitee.locator('#create-project').count()).toBe(0);
      expect(inviteeProblems).toEqual([]);
    } finally {
      await ownerContext.close();
      await inviteeContext.close();
      await pgServer.stop();
      await database.close();
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
      await admin.close();
    }
  });
});
