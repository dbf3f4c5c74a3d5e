import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { renderPage } from '../views/render-page.tsx';
import type { AppEnv } from './app-env.ts';

export type Representation = 'json' | 'fragment' | 'page';

/**
 * One URL, three representations (DESIGN.md §3): everything under /api/v1 and any request that
 * asks for JSON gets JSON; an htmx request gets the fragment; a browser gets the full page.
 */
export function representationFor(c: Context): Representation {
  if (isApiPath(c.req.path)) return 'json';
  const accept = c.req.header('Accept') ?? '';
  if (/application\/(problem\+)?json/.test(accept) && !accept.includes('text/html')) return 'json';
  if (c.req.header('HX-Request') === 'true') return 'fragment';
  return 'page';
}

export function isApiPath(path: string): boolean {
  return path === '/api/v1' || path.startsWith('/api/v1/');
}

export interface RespondOptions {
  title: string;
  status?: ContentfulStatusCode;
}

/** Sends `data` as JSON, or renders `view(data)` as a fragment or inside the layout. */
export function respond<T>(c: Context<AppEnv>, data: T, view: (data: T) => Child, options: RespondOptions) {
  const status = options.status ?? 200;
  switch (representationFor(c)) {
    case 'json':
      return c.json(data as object, status);
    case 'fragment':
      return c.html(<>{view(data)}</>, status);
    case 'page':
      return c.html(renderPage(c, options.title, view(data)), status);
  }
}
