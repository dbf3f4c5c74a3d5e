import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** One failed field: a JSON pointer into the input (RFC 6901) and what to fix. */
export interface FieldError {
  pointer: string;
  message: string;
}

/**
 * The one error type routes throw. The error handler turns it into problem+json (RFC 9457) for API
 * clients and an error page or fragment for browsers. `detail` is shown to users, so it must say
 * what went wrong and what to do, and never carry internals.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
    /** Extra members of the problem+json (RFC 9457 extensions), e.g. `billing_url` on a 402. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${status} ${title}: ${detail}`);
  }
}

export const badRequest = (detail: string) => new AppError(400, 'Bad Request', detail);
export const notFound = (detail = 'There is nothing here, or you may not see it.') =>
  new AppError(404, 'Not Found', detail);
export const conflict = (detail: string) => new AppError(409, 'Conflict', detail);
export const payloadTooLarge = (limitBytes: number) =>
  new AppError(413, 'Payload Too Large', `The request body is larger than the limit of ${limitBytes} bytes.`);
export const unsupportedMediaType = (detail: string) => new AppError(415, 'Unsupported Media Type', detail);
export const unprocessable = (errors: FieldError[], detail = 'Some fields are invalid; see errors.') =>
  new AppError(422, 'Unprocessable Content', detail, errors);

/** Converts a path such as ["settings", "instances"] to the JSON pointer "/settings/instances". */
export function toJsonPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * The caller must sign in first. The error handler answers API clients with a 401 and sends
 * browsers to the sign-in page, coming back to where they were.
 */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
}
