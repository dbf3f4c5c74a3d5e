import type { Child } from 'hono/jsx';
import type { AssetManifest } from '../lib/assets.ts';
import { Header, type HeaderNav } from './components/header.tsx';

/** What the layout needs from the request; views never see the database or the context. */
export interface PageContext {
  nonce: string | undefined;
  assets: AssetManifest;
  requestId: string;
  /** Present when someone is signed in. */
  nav?: HeaderNav | undefined;
  /** The organization in view has an unpaid invoice. */
  billingAlert?: { org_id: string; suspended: boolean } | undefined;
}

function PastDueBanner(props: { alert: { org_id: string; suspended: boolean } }) {
  return (
    <p
      role="alert"
      data-testid="past-due-banner"
      class="mb-6 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200"
    >
      {props.alert.suspended
        ? 'Paid resources of this organization are suspended: an invoice is unpaid. '
        : 'An invoice of this organization is unpaid. '}
      <a href={`/organizations/${props.alert.org_id}/billing`} class="font-medium underline">
        Fix the payment
      </a>
    </p>
  );
}

export function Layout(props: { page: PageContext; title: string; children: Child }) {
  const { page } = props;
  return (
    <html lang="en" class="h-full">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        {/* No settle step: it copies the old element's `style` attribute onto the new one with
            setAttribute, which our CSP (no inline styles) refuses and reports on every such swap. */}
        <meta name="htmx-config" content='{"includeIndicatorCSS":false,"defaultSettleDelay":0}' />
        <title>{`${props.title} · ktrlplane`}</title>
        <link rel="icon" type="image/svg+xml" href={page.assets['favicon.svg']} />
        <link rel="stylesheet" href={page.assets['app.css']} />
        <script nonce={page.nonce} src={page.assets['htmx.js']} defer />
        <script nonce={page.nonce} src={page.assets['htmx-sse.js']} defer />
        {/* app.js registers Alpine components on alpine:init, so it runs before alpine.js. */}
        <script nonce={page.nonce} src={page.assets['app.js']} defer />
        <script nonce={page.nonce} src={page.assets['log-tail.js']} defer />
        <script nonce={page.nonce} src={page.assets['alpine.js']} defer />
      </head>
      <body class="flex min-h-full flex-col bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:p-2">
          Skip to content
        </a>
        <Header nav={page.nav} faviconUrl={page.assets['favicon.svg']} />
        <div id="toasts" class="fixed right-4 top-4 z-50 flex flex-col gap-2" aria-live="polite" />
        <main id="main" class="mx-auto w-full max-w-6xl flex-1 px-4 py-8">
          {page.billingAlert && <PastDueBanner alert={page.billingAlert} />}
          {props.children}
        </main>
        <footer class="border-t border-slate-200 py-4 text-center text-xs text-slate-500 dark:border-slate-800">
          ktrlplane · request <code>{page.requestId}</code>
        </footer>
      </body>
    </html>
  );
}
