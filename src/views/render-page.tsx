import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { AppEnv } from '../lib/app-env.ts';
import { Layout, type PageContext } from './layout.tsx';

export function pageContext(c: Context<AppEnv>): PageContext {
  const nav = c.get('nav');
  // The organization in view: the one the route authorized, else the one used last.
  const currentOrgId = c.get('scope')?.orgId ?? nav?.lastOrgId ?? null;
  return {
    nonce: c.get('secureHeadersNonce'),
    assets: c.get('deps').assets,
    requestId: c.get('requestId'),
    nav: nav ? { ...nav, currentOrgId } : undefined,
    // Only on pages of the organization in view, and only when it is past due.
    billingAlert: nav?.pastDue.find((entry) => entry.org_id === c.get('scope')?.orgId),
  };
}

/** The full HTML document for a page body. */
export function renderPage(c: Context<AppEnv>, title: string, body: Child) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <Layout page={pageContext(c)} title={title}>
        {body}
      </Layout>
    </>
  );
}
