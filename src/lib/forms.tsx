import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { z } from 'zod';
import type { FieldErrors } from '../views/components/form.tsx';
import { renderPage } from '../views/render-page.tsx';
import type { AppEnv } from './app-env.ts';
import { AppError, type FieldError, toJsonPointer, unprocessable } from './errors.ts';
import { representationFor } from './negotiate.tsx';

export type Validation<T> = { ok: true; data: T } | { ok: false; errors: FieldError[] };

export function validate<S extends z.ZodType>(schema: S, input: unknown): Validation<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      pointer: toJsonPointer(issue.path),
      message: issue.message,
    })),
  };
}

/** Field errors keyed by top-level field name, the shape form views take. */
export function fieldErrors(errors: FieldError[]): FieldErrors {
  const byField: FieldErrors = {};
  for (const error of errors) {
    const field = error.pointer.split('/')[1] ?? '';
    byField[field] ??= error.message;
  }
  return byField;
}

/**
 * Answers invalid input: a 422 problem for API clients, the form again (with the errors beside its
 * fields and the values the user typed) for browsers and htmx, so nothing typed is lost.
 */
export function invalidForm(
  c: Context<AppEnv>,
  errors: FieldError[],
  form: Child,
  title: string,
  detail?: string,
): Response | Promise<Response> {
  if (representationFor(c) === 'json') throw unprocessable(errors, detail);
  if (representationFor(c) === 'fragment') return c.html(<>{form}</>, 422);
  return c.html(renderPage(c, title, form), 422);
}

/** After a successful write from a browser: htmx follows HX-Redirect, a plain form a 303. */
export function redirectAfterWrite(c: Context<AppEnv>, location: string): Response {
  if (c.req.header('HX-Request') === 'true') {
    c.header('HX-Redirect', location);
    return c.body(null, 200);
  }
  return c.redirect(location, 303);
}

/**
 * Resolves `next` targets. Any fixed origin works: the app is served at the root of BASE_URL, so a
 * target that stays on this origin stays on BASE_URL's, and the check needs no configuration.
 */
const NEXT_BASE = 'http://next.invalid';
/**
 * Anything a browser may drop or rewrite before it parses a URL (tabs and newlines vanish, so
 * `/\t/evil` becomes `//evil`), backslashes (read as `/`), and every control, format or separator
 * character (bidi overrides, zero-width and Unicode spaces).
 */
const UNSAFE_IN_NEXT = /[\p{C}\p{Z}\s\\]/u;

/**
 * A `next` target that stays on this site, or `fallback`. Only a path is accepted: it must start
 * with one `/`, contain none of UNSAFE_IN_NEXT (raw or percent-decoded in the path), and resolve
 * with the URL parser to this origin. The answer is the parser's serialization (non-ASCII
 * percent-encoded, so it is always a valid header value), never the raw input.
 */
export function safeNext(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || UNSAFE_IN_NEXT.test(next)) return fallback;
  let url: URL;
  try {
    url = new URL(next, NEXT_BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== NEXT_BASE) return fallback;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return fallback;
  }
  // Dot segments can collapse to a second slash (`/a/../..//evil` is `//evil`), and `%2f%2f` would
  // become one for anything that decodes the path before redirecting again.
  if (url.pathname.startsWith('//') || path.startsWith('//') || UNSAFE_IN_NEXT.test(path)) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The text fields of a posted body that a form shows again (what the user typed). */
export function textFieldsOf<N extends string>(
  body: unknown,
  names: readonly N[],
): Partial<Record<N, string>> {
  const record = (body ?? {}) as Record<string, unknown>;
  const values: Partial<Record<N, string>> = {};
  for (const name of names) {
    const value = record[name];
    if (typeof value === 'string') values[name] = value;
  }
  return values;
}

/**
 * Answers a failure the user can fix on the same form (a 401, 409, 429…): the form again with the
 * message, at the error's status and with its headers. API clients, and anything that is not an
 * AppError or is a 5xx, go on to the error handler. `render` runs only when a form is answered.
 */
export async function formFailure(
  c: Context<AppEnv>,
  error: unknown,
  render: (alert: string) => Child | Promise<Child>,
  title: string,
): Promise<Response> {
  if (!(error instanceof AppError) || error.status >= 500 || representationFor(c) === 'json') throw error;
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  const body = await render(error.detail);
  if (representationFor(c) === 'fragment') return c.html(<>{body}</>, error.status);
  return c.html(renderPage(c, title, body), error.status);
}
