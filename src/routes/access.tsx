import { type Context, Hono } from 'hono';
import type { TenantScopeType } from '../db/scopes.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess } from '../lib/auth-middleware.ts';
import { AppError, notFound, unprocessable } from '../lib/errors.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, textFieldsOf, validate } from '../lib/forms.tsx';
import { readBody } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { candidateQuery, changeAssignmentInput, grantAccessInput } from '../schemas/access.ts';
import {
  type AccessOverview,
  accessOverview,
  assignmentRow,
  changeAssignment,
  grantAccess,
  grantCandidates,
  invitationRow,
  revokeAssignment,
} from '../services/access.ts';
import { inviterOf, resendInvitation, revokeInvitation } from '../services/invitations.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import {
  AccessPage,
  type AccessPageView,
  AssignmentRow,
  CandidateList,
  CandidateOptions,
  GrantForm,
  type GrantFormState,
  InvitationRow,
} from '../views/pages/access-page.tsx';

/**
 * Role assignments at each scope (`…/access` below an organization, a project or a resource):
 * list (read), grant, change, revoke, invitations and member search (manage_access). Every route
 * checks the scope of its path with requireAccess, and every change touches only assignments and
 * invitations of exactly that scope, so an id from another scope answers 404.
 */
export const accessRoutes = new Hono<AppEnv>();

const scopes: Array<{ type: TenantScopeType; path: string; param: string }> = [
  { type: 'organization', path: '/organizations/:orgId', param: 'orgId' },
  { type: 'project', path: '/projects/:projectId', param: 'projectId' },
  { type: 'resource', path: '/projects/:projectId/resources/:resourceId', param: 'resourceId' },
];

function basePath(scope: AuthorizedScope): string {
  switch (scope.type) {
    case 'organization':
      return `/organizations/${scope.id}`;
    case 'project':
      return `/projects/${scope.id}`;
    case 'resource':
      return `/projects/${scope.projectId}/resources/${scope.id}`;
  }
}

/** Assignment and invitation ids are UUIDs; anything else cannot exist (404, like an unknown one). */
function recordId(c: Context<AppEnv>, name: string, noun: string): string {
  const value = c.req.param(name) ?? '';
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw notFound(`No ${noun} has this id on this ${c.get('scope').type}.`);
  }
  return value.toLowerCase();
}

async function pageView(c: Context<AppEnv>, form?: GrantFormState): Promise<AccessPageView> {
  const { db, clock } = c.get('deps');
  const scope = c.get('scope');
  const overview: AccessOverview = await accessOverview(db, scope, clock.now());
  return {
    ...overview,
    basePath: basePath(scope),
    permissions: [...scope.actions],
    ...(form ? { form } : {}),
  };
}

const title = (view: AccessPageView) => `Access · ${view.scope.name}`;

/** A failed grant from a browser: the form again (fragment) or the whole page, with what went wrong. */
async function grantFormAgain(c: Context<AppEnv>, state: GrantFormState, status: AppError['status']) {
  const view = await pageView(c, state);
  const body =
    representationFor(c) === 'fragment' ? (
      <GrantForm basePath={view.basePath} roles={view.roles} state={state} />
    ) : (
      <AccessPage {...view} />
    );
  return respond(c, null, () => body, { title: title(view), status });
}

for (const { type, path, param } of scopes) {
  const read = [requireAccess('read', type, param)] as const;
  const manage = [requireAccess('manage_access', type, param)] as const;

  accessRoutes.get(`${path}/access`, ...read, async (c) => {
    const view = await pageView(c);
    if (representationFor(c) === 'json') {
      const { basePath: _base, permissions: _permissions, ...overview } = view;
      return c.json(overview);
    }
    return respond(c, view, AccessPage, { title: title(view) });
  });

  accessRoutes.post(`${path}/access`, ...manage, async (c) => {
    const deps = c.get('deps');
    const scope = c.get('scope');
    const body = await readBody(c);
    const values = textFieldsOf(body, ['email', 'role_id', 'expires_at']);
    const parsed = validate(grantAccessInput, body);
    if (!parsed.ok) {
      const errors = fieldErrors(parsed.errors);
      const view = await pageView(c, { values, errors });
      const form =
        representationFor(c) === 'fragment' ? (
          <GrantForm basePath={view.basePath} roles={view.roles} state={{ values, errors }} />
        ) : (
          <AccessPage {...view} />
        );
      return invalidForm(c, parsed.errors, form, title(view));
    }
    let result: Awaited<ReturnType<typeof grantAccess>>;
    try {
      result = await grantAccess(deps, scope, currentPrincipal(c), parsed.data, c.get('auditActor'));
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500 || representationFor(c) === 'json') throw error;
      const state: GrantFormState =
        error.errors.length > 0
          ? { values, errors: fieldErrors(error.errors) }
          : { values, alert: error.detail };
      return grantFormAgain(c, state, error.status);
    }
    if (representationFor(c) === 'json') {
      return result.kind === 'assignment'
        ? c.json({ assignment: result.assignment }, 201)
        : c.json({ invitation: result.invitation }, 201);
    }
    return redirectAfterWrite(c, `${basePath(scope)}/access`);
  });

  accessRoutes.get(`${path}/access/candidates`, ...manage, async (c) => {
    const { db } = c.get('deps');
    const { q } = parseQuery(c);
    const candidates = await grantCandidates(db, c.get('scope'), currentPrincipal(c).userId, q);
    if (representationFor(c) === 'fragment') return c.html(<CandidateOptions candidates={candidates} />);
    return respond(c, { candidates }, CandidateList, { title: 'People' });
  });

  accessRoutes.patch(`${path}/access/:assignmentId`, ...manage, async (c) => {
    const deps = c.get('deps');
    const scope = c.get('scope');
    const assignmentId = recordId(c, 'assignmentId', 'role assignment');
    try {
      const parsed = validate(changeAssignmentInput, await readBody(c));
      if (!parsed.ok) throw unprocessable(parsed.errors);
      const assignment = await changeAssignment(deps, scope, assignmentId, parsed.data, c.get('auditActor'));
      switch (representationFor(c)) {
        case 'json':
          return c.json({ assignment });
        case 'fragment':
          return rowAgain(c, assignmentId, 200);
        case 'page':
          return redirectAfterWrite(c, `${basePath(scope)}/access`);
      }
    } catch (error) {
      if (error instanceof AppError && error.status < 500 && representationFor(c) === 'fragment') {
        const message =
          error.errors.length > 0 ? error.errors.map((e) => e.message).join('; ') : error.detail;
        return rowAgain(c, assignmentId, error.status, message, error);
      }
      throw error;
    }
  });

  accessRoutes.delete(`${path}/access/:assignmentId`, ...manage, async (c) => {
    const deps = c.get('deps');
    const scope = c.get('scope');
    const assignmentId = recordId(c, 'assignmentId', 'role assignment');
    try {
      await revokeAssignment(deps, scope, assignmentId, c.get('auditActor'));
    } catch (error) {
      if (error instanceof AppError && error.status < 500 && representationFor(c) === 'fragment') {
        return rowAgain(c, assignmentId, error.status, error.detail, error);
      }
      throw error;
    }
    switch (representationFor(c)) {
      case 'json':
        return c.body(null, 204);
      case 'fragment':
        // An empty 200 swaps the row away.
        return c.html('');
      case 'page':
        return redirectAfterWrite(c, `${basePath(scope)}/access`);
    }
  });

  accessRoutes.post(`${path}/access/invitations/:invitationId/resend`, ...manage, async (c) => {
    const { db, config, clock } = c.get('deps');
    const scope = c.get('scope');
    const invitationId = recordId(c, 'invitationId', 'invitation');
    const principal = currentPrincipal(c);
    const now = clock.now();
    await resendInvitation(db, scope, invitationId, {
      baseUrl: config.BASE_URL,
      inviter: inviterOf(principal),
      actor: c.get('auditActor'),
      now,
      mailsPerHour: config.MAILS_PER_PROJECT_PER_HOUR,
    });
    const invitation = await invitationRow(db, scope, invitationId, now);
    if (!invitation) throw notFound('The invitation was revoked or accepted meanwhile.');
    switch (representationFor(c)) {
      case 'json':
        return c.json({ invitation });
      case 'fragment':
        return c.html(
          <InvitationRow
            invitation={invitation}
            basePath={basePath(scope)}
            canManage
            notice="Sent again with a new link; the previous link no longer works."
          />,
        );
      case 'page':
        return redirectAfterWrite(c, `${basePath(scope)}/access`);
    }
  });

  accessRoutes.delete(`${path}/access/invitations/:invitationId`, ...manage, async (c) => {
    const { db, clock } = c.get('deps');
    const scope = c.get('scope');
    const invitationId = recordId(c, 'invitationId', 'invitation');
    await revokeInvitation(db, scope, invitationId, c.get('auditActor'), clock.now());
    switch (representationFor(c)) {
      case 'json':
        return c.body(null, 204);
      case 'fragment':
        return c.html('');
      case 'page':
        return redirectAfterWrite(c, `${basePath(scope)}/access`);
    }
  });
}

function parseQuery(c: Context<AppEnv>): { q: string } {
  // The grant form's email field asks for suggestions with its own name (`email`).
  const parsed = validate(candidateQuery, { q: c.req.query('q') ?? c.req.query('email') ?? '' });
  if (!parsed.ok) throw unprocessable(parsed.errors);
  return parsed.data;
}

/** The row of an assignment again, after a change or with the reason a change was refused. */
async function rowAgain(
  c: Context<AppEnv>,
  assignmentId: string,
  status: AppError['status'],
  error?: string,
  cause?: AppError,
) {
  const { db, clock } = c.get('deps');
  const scope = c.get('scope');
  const row = await assignmentRow(db, scope, assignmentId, clock.now());
  if (!row) throw cause ?? notFound(`No role assignment has this id on this ${scope.type}.`);
  return c.html(
    <AssignmentRow
      assignment={row.assignment}
      roles={row.roles}
      basePath={basePath(scope)}
      canManage={scope.actions.has('manage_access')}
      error={error}
    />,
    status,
  );
}
