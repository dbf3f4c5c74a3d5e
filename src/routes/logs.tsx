import { type Context, Hono } from 'hono';
import { getProject, getProjectName } from '../db/projects.repository.ts';
import { getResource } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, validate } from '../lib/forms.tsx';
import { parseInput, readBody } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { type LogSearchQuery, logContextQuery, logSearchQuery, savedSearchInput } from '../schemas/logs.ts';
import { LogQuerySyntaxError } from '../services/logs/query.ts';
import {
  changeSavedSearch,
  createSavedSearch,
  getSavedSearch,
  listSavedSearches,
  removeSavedSearch,
} from '../services/logs/saved-searches.ts';
import {
  allMatchingLogs,
  type LogEntryJson,
  logContext,
  resolveTimeRange,
  searchLogs,
} from '../services/logs/search.ts';
import { type AuthorizedScope, authorize } from '../services/rbac.ts';
import { LogTailPage } from '../views/pages/log-tail-page.tsx';
import {
  LogContextPanel,
  LogPageRows,
  LogsPage,
  type LogsPageView,
  type LogsPlace,
  logsBase,
  SavedSearchesSection,
} from '../views/pages/logs-page.tsx';

/**
 * Log search (HTML and JSON) of a resource — GET /projects/:projectId/resources/:resourceId/logs —
 * and of a whole project — GET /projects/:projectId/logs — with `q`, `range` (15m, 1h, 24h, 7d) or
 * `from`/`to`, `limit`, `cursor`; `format=ndjson|csv` (or Accept: application/x-ndjson, text/csv)
 * downloads every match. `/logs/context?line=<cursor>` shows what surrounds a line, `/logs/tail`
 * is the live tail page (its stream is the resource's or project's SSE stream with `logs=1`).
 * Saved searches: /projects/:projectId/saved-searches (read to list, write to change).
 * Permission: read on the resource (or project); a foreign id is a 404 like any other.
 */
export const logsRoutes = new Hono<AppEnv>();

type LogScope = AuthorizedScope<'project'> | AuthorizedScope<'resource'>;
const MAX_DOWNLOAD_LINES = 100_000;

async function placeOf(c: Context<AppEnv>, scope: LogScope): Promise<LogsPlace> {
  const { db } = c.get('deps');
  if (scope.type === 'resource') {
    const [resource, projectName] = await Promise.all([getResource(db, scope), getProjectName(db, scope)]);
    return {
      kind: 'resource',
      projectId: resource.project_id,
      projectName,
      resourceId: resource.resource_id,
      resourceName: resource.name,
      permissions: [...scope.actions],
    };
  }
  const project = await getProject(db, scope);
  return {
    kind: 'project',
    projectId: project.project_id,
    projectName: project.name,
    permissions: [...scope.actions],
  };
}

/**
 * The project scope for saved searches: the page's own, or (on a resource page) the caller's
 * access to its project, which a resource-only role does not give (then: no saved searches).
 */
async function projectScopeOf(
  c: Context<AppEnv>,
  scope: LogScope,
  action: 'read' | 'write',
): Promise<AuthorizedScope<'project'> | null> {
  if (scope.type === 'project') return action === 'read' || scope.actions.has(action) ? scope : null;
  const { db, clock } = c.get('deps');
  try {
    return await authorize(db, currentPrincipal(c), action, 'project', scope.projectId ?? '', clock.now());
  } catch (error) {
    if (error instanceof AppError && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}

async function savedSearchesFor(c: Context<AppEnv>, scope: LogScope) {
  const projectScope = await projectScopeOf(c, scope, 'read');
  const writable = await projectScopeOf(c, scope, 'write');
  const savedSearches = projectScope
    ? await listSavedSearches(
        c.get('deps').db,
        projectScope,
        scope.type === 'resource' ? scope.id : undefined,
      )
    : [];
  return { savedSearches, canWrite: writable !== null };
}

function downloadFormat(c: Context<AppEnv>, query: LogSearchQuery): 'ndjson' | 'csv' | null {
  if (query.format === 'ndjson' || query.format === 'csv') return query.format;
  const accept = c.req.header('Accept') ?? '';
  if (accept.includes('application/x-ndjson')) return 'ndjson';
  if (accept.includes('text/csv')) return 'csv';
  return null;
}

/** A CSV cell: quoted, and never read as a formula by a spreadsheet. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}

function csvLine(entry: LogEntryJson): string {
  return `${[
    entry.ts.toISOString(),
    entry.kind,
    entry.resource_id,
    entry.level,
    entry.message,
    JSON.stringify(entry.attributes),
  ]
    .map(csvCell)
    .join(',')}\r\n`;
}

function download(
  c: Context<AppEnv>,
  scope: LogScope,
  query: LogSearchQuery,
  format: 'ndjson' | 'csv',
): Response {
  const { db, clock } = c.get('deps');
  const now = clock.now();
  // Checked before the response starts: a malformed query is a 422, not a broken download.
  resolveTimeRange(query, now);
  const pages = allMatchingLogs(db, scope, query, now, MAX_DOWNLOAD_LINES);
  const encoder = new TextEncoder();
  let header = format === 'csv';
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (header) {
          header = false;
          controller.enqueue(encoder.encode('time,kind,resource_id,level,message,attributes\r\n'));
          return;
        }
        const next = await pages.next();
        if (next.done) {
          controller.close();
          return;
        }
        const text = next.value
          .map((entry) => (format === 'csv' ? csvLine(entry) : `${JSON.stringify(entry)}\n`))
          .join('');
        controller.enqueue(encoder.encode(text));
      } catch (error) {
        c.get('log').error('log download failed', { err: error });
        controller.error(error);
      }
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
  const name = `logs-${scope.id}-${now.toISOString().slice(0, 19).replaceAll(':', '')}.${format}`;
  return new Response(body, {
    headers: {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="${name}"`,
      'Cache-Control': 'no-store',
      Vary: 'Accept, HX-Request',
    },
  });
}

async function searchPage(c: Context<AppEnv>, scope: LogScope): Promise<Response> {
  const { db, clock } = c.get('deps');
  const query = parseInput(logSearchQuery, c.req.query());
  const representation = representationFor(c);
  const format = downloadFormat(c, query);
  if (format) {
    // Parse first so a malformed query answers 422 before any byte is sent.
    await searchLogs(db, scope, { ...query, limit: 1 }, clock.now());
    return download(c, scope, query, format);
  }
  if (representation === 'json') return c.json(await searchLogs(db, scope, query, clock.now()));
  const place = await placeOf(c, scope);
  const base = logsBase(place);
  let view: LogsPageView;
  try {
    const result = await searchLogs(db, scope, query, clock.now());
    if (representation === 'fragment' && c.req.query('part') === 'rows') {
      return c.html(<LogPageRows result={result} base={base} showResource={place.kind === 'project'} />);
    }
    view = { place, result, ...(await savedSearchesFor(c, scope)) };
  } catch (error) {
    if (!(error instanceof LogQuerySyntaxError)) throw error;
    // The page again, with the query marked where it breaks.
    const window = resolveTimeRange(query, clock.now());
    view = {
      place,
      result: { q: query.q, ...window, entries: [], next_cursor: null },
      ...(await savedSearchesFor(c, scope)),
      queryError: { message: error.detail, position: error.position },
    };
    return respond(c, view, LogsPage, { title: 'Logs', status: 422 });
  }
  return respond(c, view, LogsPage, {
    title: place.kind === 'resource' ? `Logs of ${place.resourceName}` : `Logs of ${place.projectName}`,
  });
}

async function contextOf(c: Context<AppEnv>, scope: LogScope): Promise<Response> {
  const { db } = c.get('deps');
  const query = parseInput(logContextQuery, c.req.query());
  const context = await logContext(db, scope, query.line, query.size);
  if (representationFor(c) === 'json') return c.json(context);
  const place = await placeOf(c, scope);
  const panel = (
    <LogContextPanel context={context} base={logsBase(place)} showResource={place.kind === 'project'} />
  );
  return respond(c, context, () => panel, { title: 'Log context' });
}

async function tailPage(c: Context<AppEnv>, scope: LogScope): Promise<Response> {
  const query = parseInput(logSearchQuery, c.req.query());
  const place = await placeOf(c, scope);
  let queryError: string | undefined;
  try {
    // The stream would refuse it too; say so on the page instead of a stream that never starts.
    await searchLogs(c.get('deps').db, scope, { ...query, limit: 1 }, c.get('deps').clock.now());
  } catch (error) {
    if (!(error instanceof LogQuerySyntaxError)) throw error;
    queryError = error.detail;
  }
  const view = { place, q: query.q, queryError };
  if (representationFor(c) === 'json') {
    const events =
      place.kind === 'resource'
        ? `/projects/${place.projectId}/resources/${place.resourceId}/events`
        : `/projects/${place.projectId}/events`;
    return c.json(
      { stream: `${events}?logs=1&q=${encodeURIComponent(query.q)}`, q: query.q },
      queryError ? 422 : 200,
    );
  }
  return respond(c, view, LogTailPage, { title: 'Live tail', status: queryError ? 422 : 200 });
}

const resourceRead = requireAccess('read', 'resource', 'resourceId');
const projectRead = requireAccess('read', 'project', 'projectId');
const resourceScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'resource'>;
const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;

logsRoutes.get('/projects/:projectId/resources/:resourceId/logs', resourceRead, (c) =>
  searchPage(c, resourceScope(c)),
);
logsRoutes.get('/projects/:projectId/resources/:resourceId/logs/context', resourceRead, (c) =>
  contextOf(c, resourceScope(c)),
);
logsRoutes.get('/projects/:projectId/resources/:resourceId/logs/tail', resourceRead, (c) =>
  tailPage(c, resourceScope(c)),
);
logsRoutes.get('/projects/:projectId/logs', projectRead, (c) => searchPage(c, projectScope(c)));
logsRoutes.get('/projects/:projectId/logs/context', projectRead, (c) => contextOf(c, projectScope(c)));
logsRoutes.get('/projects/:projectId/logs/tail', projectRead, (c) => tailPage(c, projectScope(c)));

// ---- saved searches ---------------------------------------------------------------------------

/** The saved-searches section for the page the browser is on (its resource, query and range). */
async function savedSearchesSection(
  c: Context<AppEnv>,
  values: { q: string; range: string; resource_id?: string | undefined },
  errors?: Record<string, string>,
) {
  const { db, clock } = c.get('deps');
  const scope = projectScope(c);
  const resourceId = values.resource_id || undefined;
  const place: LogsPlace = {
    kind: resourceId ? 'resource' : 'project',
    projectId: scope.id,
    projectName: '',
    resourceId,
    permissions: [...scope.actions],
  };
  const range = ['15m', '1h', '24h', '7d'].includes(values.range) ? (values.range as '1h') : '1h';
  const window = resolveTimeRange({ range }, clock.now());
  return (
    <SavedSearchesSection
      place={place}
      result={{ q: values.q, ...window }}
      savedSearches={await listSavedSearches(db, scope, resourceId)}
      canWrite={scope.actions.has('write')}
      errors={errors}
    />
  );
}

const projectWrite = requireAccess('write', 'project', 'projectId');

logsRoutes.get('/projects/:projectId/saved-searches', projectRead, async (c) => {
  const searches = await listSavedSearches(c.get('deps').db, projectScope(c));
  if (representationFor(c) === 'json') return c.json({ saved_searches: searches });
  return c.redirect(`/projects/${projectScope(c).id}/logs`, 303);
});

logsRoutes.get('/projects/:projectId/saved-searches/:searchId', projectRead, async (c) => {
  const search = await getSavedSearch(c.get('deps').db, projectScope(c), c.req.param('searchId'));
  if (representationFor(c) === 'json') return c.json(search);
  const base = search.resource_id
    ? `/projects/${search.project_id}/resources/${search.resource_id}/logs`
    : `/projects/${search.project_id}/logs`;
  return c.redirect(`${base}?${new URLSearchParams({ q: search.query, range: search.time_range })}`, 303);
});

logsRoutes.post('/projects/:projectId/saved-searches', projectWrite, async (c) => {
  const { db, clock } = c.get('deps');
  const body = (await readBody(c)) as Record<string, unknown>;
  const values = {
    q: typeof body.query === 'string' ? body.query : '',
    range: typeof body.time_range === 'string' ? body.time_range : '1h',
    resource_id: typeof body.resource_id === 'string' ? body.resource_id : undefined,
  };
  const parsed = validate(savedSearchInput, body);
  if (!parsed.ok)
    return invalidForm(
      c,
      parsed.errors,
      await savedSearchesSection(c, values, fieldErrors(parsed.errors)),
      'Logs',
    );
  let created: Awaited<ReturnType<typeof createSavedSearch>>;
  try {
    created = await createSavedSearch(
      db,
      projectScope(c),
      parsed.data,
      currentPrincipal(c).userId,
      clock.now(),
    );
  } catch (error) {
    if (
      error instanceof AppError &&
      (error.status === 409 || error.status === 422) &&
      representationFor(c) !== 'json'
    ) {
      const errors = error.errors.length > 0 ? fieldErrors(error.errors) : { name: error.detail };
      return c.html(await savedSearchesSection(c, values, errors), error.status);
    }
    throw error;
  }
  switch (representationFor(c)) {
    case 'json':
      return c.json(created, 201);
    case 'fragment':
      return c.html(await savedSearchesSection(c, values), 201);
    case 'page':
      return redirectAfterWrite(c, `/projects/${projectScope(c).id}/saved-searches/${created.search_id}`);
  }
});

logsRoutes.patch('/projects/:projectId/saved-searches/:searchId', projectWrite, async (c) => {
  const { db, clock } = c.get('deps');
  const input = parseInput(savedSearchInput, await readBody(c));
  return c.json(await changeSavedSearch(db, projectScope(c), c.req.param('searchId'), input, clock.now()));
});

logsRoutes.delete('/projects/:projectId/saved-searches/:searchId', projectWrite, async (c) => {
  await removeSavedSearch(c.get('deps').db, projectScope(c), c.req.param('searchId'));
  switch (representationFor(c)) {
    case 'json':
      return c.body(null, 204);
    case 'fragment':
      return c.html(
        await savedSearchesSection(c, {
          q: c.req.query('q') ?? '',
          range: c.req.query('range') ?? '1h',
          resource_id: c.req.query('resource_id'),
        }),
      );
    case 'page':
      return redirectAfterWrite(c, `/projects/${projectScope(c).id}/logs`);
  }
});
