import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ErrorPage, type ErrorView } from '../views/pages/error-page.tsx';
import { renderPage } from '../views/render-page.tsx';
import type { AppEnv } from './app-env.ts';
import { AppError, notFound, UnauthenticatedError } from './errors.ts';
import { representationFor } from './negotiate.tsx';
import { traceIdOf } from './tracing.ts';

/**
 * Turns any thrown error into an answer: problem+json (RFC 9457) for API clients, an error page or
 * fragment for browsers. Only AppError details reach the user; anything else is logged with its
 * stack and answered with a 500 that says only that something failed, and the request id.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response | Promise<Response> {
  if (error instanceof UnauthenticatedError && representationFor(c) !== 'json') return redirectToSignIn(c);
  const appError = toAppError(error);
  if (appError.status >= 500) {
    c.get('log').error('request failed', { err: error, method: c.req.method, path: c.req.path });
  }
  return sendError(c, appError);
}

export function handleNotFound(c: Context<AppEnv>): Response | Promise<Response> {
  return sendError(
    c,
    notFound(`Nothing is at ${c.req.method} ${c.req.path}. Check the address, or go back to the start page.`),
  );
}

function redirectToSignIn(c: Context<AppEnv>): Response {
  const target = c.req.method === 'GET' ? c.req.path + new URL(c.req.url).search : '/';
  const location = `/auth/login?next=${encodeURIComponent(target)}`;
  if (c.req.header('HX-Request') === 'true') {
    c.header('HX-Redirect', location);
    return c.body(null, 200);
  }
  return c.redirect(location, 303);
}

function toAppError(error: Error): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof UnauthenticatedError) {
    return new AppError(
      401,
      'Unauthorized',
      'Sign in, or send an API token or OIDC access token as a Bearer credential.',
      [],
      {
        'WWW-Authenticate': 'Bearer',
      },
    );
  }
  if (error instanceof HTTPException) {
    return new AppError(
      error.status as AppError['status'],
      error.res?.statusText || 'Error',
      error.message || 'The request could not be handled.',
    );
  }
  return new AppError(
    500,
    'Internal Server Error',
    'Something failed on our side. Try again; if it keeps failing, quote the request id.',
  );
}

function sendError(c: Context<AppEnv>, error: AppError): Response | Promise<Response> {
  const requestId = c.get('requestId') ?? 'unknown';
  // The trace id too, so a screenshot of the error leads to the request's whole trace.
  const traceId = traceIdOf(c);
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  const view: ErrorView = {
    status: error.status,
    title: error.title,
    detail: error.detail,
    requestId,
    ...(traceId ? { traceId } : {}),
    errors: error.errors,
    ...(typeof error.extensions.billing_url === 'string'
      ? { action: { href: error.extensions.billing_url, label: 'Go to billing' } }
      : {}),
  };
  switch (representationFor(c)) {
    case 'json':
      return c.body(
        JSON.stringify({
          type: 'about:blank',
          title: error.title,
          status: error.status,
          detail: error.detail,
          instance: c.req.path,
          requestId,
          ...(traceId ? { traceId } : {}),
          ...error.extensions,
          // `pointer`/`detail` as RFC 9457 writes them, `path`/`message` as the API contract names them.
          ...(error.errors.length > 0
            ? {
                errors: error.errors.map((e) => ({
                  pointer: e.pointer,
                  detail: e.message,
                  path: e.pointer,
                  message: e.message,
                })),
              }
            : {}),
        }),
        error.status,
        { 'Content-Type': 'application/problem+json; charset=utf-8' },
      );
    case 'fragment':
      return c.html(<ErrorPage {...view} />, error.status);
    case 'page':
      return c.html(renderPage(c, error.title, <ErrorPage {...view} />), error.status);
  }
}
