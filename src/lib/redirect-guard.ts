import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { badRequest } from './errors.ts';

/**
 * No redirect target with a control character leaves the app. Such a target comes from a request
 * (`next=/%0a…`): set as a header it made the runtime's Headers throw (a 500), and where a runtime
 * let it through it would split the response or let a browser drop the character and read another
 * origin (`/\t/evil.example`). Guarded where every redirect passes — c.redirect and the
 * Location / HX-Redirect / HX-Location headers — so no route can forget it; such a request is the
 * client's error, 400. Which same-site targets are acceptable at all is forms.tsx's `safeNext`.
 */
/** C0 controls and DEL, by code (a regex of control characters is easy to misread). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
const REDIRECT_HEADERS = new Set(['location', 'hx-redirect', 'hx-location']);

function refuse(): never {
  throw badRequest('The redirect target contains a control character.');
}

export function redirectGuard(): MiddlewareHandler<AppEnv> {
  return async function guardRedirects(c, next) {
    const redirect = c.redirect.bind(c);
    c.redirect = ((location: string | URL, status?: Parameters<typeof redirect>[1]) => {
      if (hasControl(String(location))) refuse();
      return redirect(location, status);
    }) as typeof c.redirect;
    const header = c.header.bind(c);
    c.header = ((name: string, value: string | undefined, options?: { append?: boolean }) => {
      if (value !== undefined && REDIRECT_HEADERS.has(name.toLowerCase()) && hasControl(value)) refuse();
      return header(name, value, options);
    }) as typeof c.header;
    await next();
  };
}
