import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError, badRequest, toJsonPointer, unprocessable, unsupportedMediaType } from './errors.ts';

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

/**
 * Reads a write's body: JSON from API clients, form fields from browsers. One parser, so the same
 * Zod schema validates both. A malformed body is a 400 and an unsupported type a 415, each saying
 * what to send instead.
 */
export async function readBody(c: Context): Promise<unknown> {
  const contentType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType === 'application/json' || contentType.endsWith('+json')) {
    const text = await c.req.text();
    if (text.trim() === '') throw badRequest('The request body is empty; send a JSON object.');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw badRequest(`The request body is not valid JSON (${(error as Error).message}).`);
    }
  }
  if (FORM_TYPES.includes(contentType)) {
    return c.req.parseBody({ all: true });
  }
  throw unsupportedMediaType(
    `Content-Type ${contentType || '(none)'} is not accepted; send application/json or a form (application/x-www-form-urlencoded, multipart/form-data).`,
  );
}

/** Validates input with a Zod schema; failures become a 422 listing each field as a JSON pointer. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw unprocessable(
    result.error.issues.map((issue) => ({ pointer: toJsonPointer(issue.path), message: issue.message })),
  );
}

/** Reads an id from the path; an id that cannot exist is answered like an unknown one (404). */
export function pathId(c: Context, name: string, schema: z.ZodType<string>, noun: string): string {
  const value = c.req.param(name) ?? '';
  if (!schema.safeParse(value).success) {
    throw new AppError(
      404,
      'Not Found',
      `No ${noun} has the id "${value.slice(0, 80)}": ids are lowercase letters, digits and hyphens, starting with a letter.`,
    );
  }
  return value;
}

/**
 * Input of a request that may carry it in the body or the query string: DELETE from htmx puts
 * form fields in the query (like GET), API clients send a JSON body. Body fields win.
 */
export async function readBodyOrQuery(c: Context): Promise<Record<string, unknown>> {
  const query = c.req.query();
  const hasBody = Boolean(c.req.header('Content-Type')) && c.req.header('Content-Length') !== '0';
  const body = hasBody ? await readBody(c) : {};
  return {
    ...query,
    ...(typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}),
  };
}
