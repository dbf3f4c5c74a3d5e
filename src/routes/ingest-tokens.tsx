import { type Context, Hono } from 'hono';
import { listResourcesInProject } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { requireAccess } from '../lib/auth-middleware.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, textFieldsOf, validate } from '../lib/forms.tsx';
import { readBody } from '../lib/input.ts';
import { representationFor } from '../lib/negotiate.tsx';
import { createIngestTokenInput } from '../schemas/logs.ts';
import {
  createIngestToken,
  listIngestTokensOf,
  revokeIngestTokenOf,
} from '../services/logs/ingest-tokens.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { IngestTokensSection, type IngestTokensSectionView } from '../views/pages/ingest-tokens.tsx';
import { ProjectSettingsPage } from '../views/pages/project-pages.tsx';
import { renderPage } from '../views/render-page.tsx';
import { settingsView } from './projects.tsx';

/**
 * A project's log ingest tokens: list, create (the secret is in that answer only), revoke. Managing
 * them needs write access on the project (they are part of its settings page, which a browser
 * reaches at /projects/:projectId/settings; these routes answer the section as a fragment).
 */
export const ingestTokensRoutes = new Hono<AppEnv>();

const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;

export async function ingestTokensView(
  c: Context<AppEnv>,
  extra: Partial<IngestTokensSectionView> = {},
): Promise<IngestTokensSectionView> {
  const { db, config } = c.get('deps');
  const scope = projectScope(c);
  return {
    projectId: scope.id,
    // Where shippers send: the configured public URL (a server started on port 0 only knows its own).
    baseUrl: (/:0\/?$/.test(config.BASE_URL) ? new URL(c.req.url).origin : config.BASE_URL).replace(
      /\/$/,
      '',
    ),
    tokens: await listIngestTokensOf(db, scope),
    resourceIds: (await listResourcesInProject(db, scope)).map((resource) => resource.resource_id),
    ...extra,
  };
}

const settingsUrl = (c: Context<AppEnv>) => `/projects/${projectScope(c).id}/settings`;

ingestTokensRoutes.get(
  '/projects/:projectId/ingest-tokens',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    switch (representationFor(c)) {
      case 'json':
        return c.json({ tokens: await listIngestTokensOf(c.get('deps').db, projectScope(c)) });
      case 'fragment':
        return c.html(<IngestTokensSection {...(await ingestTokensView(c))} />);
      case 'page':
        return c.redirect(`${settingsUrl(c)}#ingest-tokens`, 303);
    }
  },
);

ingestTokensRoutes.post(
  '/projects/:projectId/ingest-tokens',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const body = await readBody(c);
    const parsed = validate(createIngestTokenInput, body);
    if (!parsed.ok) {
      const view = await ingestTokensView(c, {
        values: textFieldsOf(body, ['name']),
        errors: fieldErrors(parsed.errors),
      });
      return invalidForm(c, parsed.errors, IngestTokensSection(view), 'Settings');
    }
    const created = await createIngestToken(
      db,
      projectScope(c),
      parsed.data,
      c.get('auditActor'),
      clock.now(),
    );
    const section = await ingestTokensView(c, { created });
    // The secret can only be shown in this answer, so it is rendered here rather than redirected to.
    switch (representationFor(c)) {
      case 'json':
        return c.json(created, 201);
      case 'fragment':
        return c.html(<IngestTokensSection {...section} />, 201);
      case 'page': {
        const view = await settingsView(c, { ingestTokens: section });
        return c.html(renderPage(c, `${view.project.name} settings`, ProjectSettingsPage(view)), 201);
      }
    }
  },
);

async function revoke(c: Context<AppEnv>) {
  const { db, clock } = c.get('deps');
  const token = await revokeIngestTokenOf(
    db,
    projectScope(c),
    c.req.param('ingestTokenId') ?? '',
    c.get('auditActor'),
    clock.now(),
  );
  switch (representationFor(c)) {
    case 'json':
      return c.json(token);
    case 'fragment':
      return c.html(<IngestTokensSection {...(await ingestTokensView(c))} />);
    case 'page':
      return redirectAfterWrite(c, settingsUrl(c));
  }
}

ingestTokensRoutes.post(
  '/projects/:projectId/ingest-tokens/:ingestTokenId/revoke',
  requireAccess('write', 'project', 'projectId'),
  revoke,
);
ingestTokensRoutes.delete(
  '/projects/:projectId/ingest-tokens/:ingestTokenId',
  requireAccess('write', 'project', 'projectId'),
  revoke,
);
