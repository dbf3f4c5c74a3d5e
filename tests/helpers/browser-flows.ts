import type { Page } from 'playwright-core';

/** Steps many browser tests share: sign up, then an organization and a project with chosen ids. */
export async function signUpInBrowser(
  page: Page,
  baseUrl: string,
  name: string,
  email: string,
): Promise<void> {
  await page.goto(`${baseUrl}/auth/signup`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'a long passphrase');
  await page.click('button:has-text("Create account")');
  await finishSignUpInBrowser(page, baseUrl, email);
}

/**
 * After "Create account": sign-up answers "check your inbox" without signing in (a taken address
 * must look the same), so the browser signs in with the new password and lands on /organizations.
 */
export async function finishSignUpInBrowser(
  page: Page,
  baseUrl: string,
  email: string,
  password = 'a long passphrase',
): Promise<void> {
  await page.waitForURL(/\/auth\/signup\/check-email$/);
  await page.goto(`${baseUrl}/auth/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('main button:has-text("Sign in")');
  await page.waitForURL(/\/organizations$/);
}

export async function createOrganizationAndProject(
  page: Page,
  orgId: string,
  projectId: string,
): Promise<void> {
  await page.fill('#create-organization input[name=name]', orgId);
  await page.fill('#create-organization input[name=org_id]', orgId);
  await page.click('button:has-text("Create organization")');
  await page.waitForURL(new RegExp(`/organizations/${orgId}$`));
  await page.fill('#create-project input[name=name]', projectId);
  await page.fill('#create-project input[name=project_id]', projectId);
  await page.click('button:has-text("Create project")');
  await page.waitForURL(new RegExp(`/projects/${projectId}$`));
}

/** Console errors except the 4xx network lines Chromium logs for expected validation answers. */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}
