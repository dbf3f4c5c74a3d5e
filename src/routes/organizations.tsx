import { type Context, Hono } from 'hono';
import { getOrganization, listOrganizationsForUser } from '../db/organizations.repository.ts';
import { listProjectsInOrganization } from '../db/projects.repository.ts';
import { rememberLastUsed } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess, requireUser } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import {
  fieldErrors,
  formFailure,
  invalidForm,
  redirectAfterWrite,
  textFieldsOf,
  validate,
} from '../lib/forms.tsx';
import { readBody, readBodyOrQuery } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import {
  confirmDeleteInput,
  createOrganizationInput,
  createProjectInput,
  updateOrganizationInput,
} from '../schemas/tenancy.ts';
import { billingPolicyOf } from '../services/billing/policy.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import {
  createOrganization,
  createProject,
  removeOrganization,
  renameOrganization,
} from '../services/tenancy.ts';
import {
  CreateOrganizationForm,
  CreateProjectForm,
  deleteOrganizationForm,
  OrganizationPage,
  OrganizationSettingsPage,
  OrganizationsPage,
  RenameOrganizationForm,
} from '../views/pages/organization-pages.tsx';

/** Organizations: list, create, read, rename, delete, and the projects inside one. */
export const organizationsRoutes = new Hono<AppEnv>();

const orgScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'organization'>;

async function organizationView(c: Context<AppEnv>) {
  const { db } = c.get('deps');
  const scope = orgScope(c);
  const [organization, projects] = await Promise.all([
    getOrganization(db, scope),
    listProjectsInOrganization(db, scope),
  ]);
  return { organization, projects, permissions: [...scope.actions] };
}

organizationsRoutes.get('/organizations', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const organizations = await listOrganizationsForUser(db, currentPrincipal(c), clock.now());
  // JSON lists are bare arrays with column names, as the existing API returned them.
  if (representationFor(c) === 'json') return c.json(organizations);
  return respond(c, { organizations }, OrganizationsPage, { title: 'Organizations' });
});

organizationsRoutes.post('/organizations', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const principal = currentPrincipal(c);
  const body = await readBody(c);
  const values = textFieldsOf(body, ['name', 'org_id']);
  const parsed = validate(createOrganizationInput, body);
  const organizationsPage = async (form: { errors?: Record<string, string>; alert?: string }) =>
    OrganizationsPage({
      organizations: await listOrganizationsForUser(db, principal, clock.now()),
      form: { values, ...form },
    });
  if (!parsed.ok) {
    const errors = fieldErrors(parsed.errors);
    const form =
      representationFor(c) === 'fragment'
        ? CreateOrganizationForm({ values, errors })
        : await organizationsPage({ errors });
    return invalidForm(c, parsed.errors, form, 'Organizations');
  }
  try {
    const org = await createOrganization(db, principal, parsed.data, c.get('auditActor'), clock.now());
    if (representationFor(c) === 'json') return c.json(org, 201);
    return redirectAfterWrite(c, `/organizations/${org.org_id}`);
  } catch (error) {
    return formFailure(
      c,
      error,
      (alert) =>
        representationFor(c) === 'fragment'
          ? CreateOrganizationForm({ values, alert })
          : organizationsPage({ alert }),
      'Organizations',
    );
  }
});

organizationsRoutes.get(
  '/organizations/:orgId',
  requireAccess('read', 'organization', 'orgId'),
  async (c) => {
    const { db } = c.get('deps');
    const view = await organizationView(c);
    // `/` reopens what was looked at last: this organization, not a project seen before it.
    await rememberLastUsed(db, currentPrincipal(c).userId, {
      last_org_id: view.organization.org_id,
      last_project_id: null,
    });
    if (representationFor(c) === 'json')
      return c.json({ ...view.organization, permissions: view.permissions });
    return respond(c, view, OrganizationPage, { title: view.organization.name });
  },
);

organizationsRoutes.get(
  '/organizations/:orgId/settings',
  requireAccess('write', 'organization', 'orgId'),
  async (c) => {
    const { db } = c.get('deps');
    const scope = orgScope(c);
    const organization = await getOrganization(db, scope);
    if (representationFor(c) === 'json') return c.json({ ...organization, permissions: [...scope.actions] });
    return respond(c, { organization, permissions: [...scope.actions] }, OrganizationSettingsPage, {
      title: `${organization.name} settings`,
    });
  },
);

organizationsRoutes.patch(
  '/organizations/:orgId',
  requireAccess('write', 'organization', 'orgId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = orgScope(c);
    const body = await readBody(c);
    const parsed = validate(updateOrganizationInput, body);
    if (!parsed.ok) {
      const organization = { ...(await getOrganization(db, scope)), ...textFieldsOf(body, ['name']) };
      const renameErrors = fieldErrors(parsed.errors);
      const form =
        representationFor(c) === 'fragment'
          ? RenameOrganizationForm({ organization, errors: renameErrors })
          : OrganizationSettingsPage({ organization, permissions: [...scope.actions], renameErrors });
      return invalidForm(c, parsed.errors, form, 'Settings');
    }
    const organization = await renameOrganization(db, scope, parsed.data, c.get('auditActor'), clock.now());
    if (representationFor(c) === 'json') return c.json(organization);
    if (representationFor(c) === 'fragment')
      return c.html(<RenameOrganizationForm organization={organization} saved />);
    return redirectAfterWrite(c, `/organizations/${organization.org_id}/settings`);
  },
);

organizationsRoutes.delete(
  '/organizations/:orgId',
  requireAccess('delete', 'organization', 'orgId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = orgScope(c);
    const input = await readBodyOrQuery(c);
    const parsed = validate(confirmDeleteInput, input);
    try {
      await removeOrganization(
        db,
        scope,
        parsed.ok ? parsed.data.confirm : '',
        c.get('auditActor'),
        clock.now(),
      );
    } catch (error) {
      if (error instanceof AppError && error.status === 422 && representationFor(c) !== 'json') {
        const organization = await getOrganization(db, scope);
        const deleteErrors = fieldErrors(error.errors);
        const body =
          representationFor(c) === 'fragment'
            ? deleteOrganizationForm(organization, deleteErrors)
            : OrganizationSettingsPage({ organization, permissions: [...scope.actions], deleteErrors });
        return respond(c, null, () => body, { title: 'Settings', status: 422 });
      }
      throw error;
    }
    if (representationFor(c) === 'json') return c.body(null, 204);
    return redirectAfterWrite(c, '/organizations');
  },
);

organizationsRoutes.get(
  '/organizations/:orgId/projects',
  requireAccess('read', 'organization', 'orgId'),
  async (c) => {
    const view = await organizationView(c);
    if (representationFor(c) === 'json') return c.json(view.projects);
    return respond(c, view, OrganizationPage, { title: view.organization.name });
  },
);

organizationsRoutes.post(
  '/organizations/:orgId/projects',
  requireAccess('write', 'organization', 'orgId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = orgScope(c);
    const body = await readBody(c);
    const values = textFieldsOf(body, ['name', 'project_id', 'description']);
    const parsed = validate(createProjectInput, body);
    const orgPage = async (projectForm: { errors?: Record<string, string>; alert?: string }) =>
      OrganizationPage({ ...(await organizationView(c)), projectForm: { values, ...projectForm } });
    if (!parsed.ok) {
      const errors = fieldErrors(parsed.errors);
      const form =
        representationFor(c) === 'fragment'
          ? CreateProjectForm({ orgId: scope.orgId, values, errors })
          : await orgPage({ errors });
      return invalidForm(c, parsed.errors, form, 'New project');
    }
    try {
      const project = await createProject(
        db,
        scope,
        currentPrincipal(c),
        parsed.data,
        c.get('auditActor'),
        clock.now(),
        billingPolicyOf(c.get('deps')),
      );
      if (representationFor(c) === 'json') return c.json(project, 201);
      return redirectAfterWrite(c, `/projects/${project.project_id}`);
    } catch (error) {
      return formFailure(
        c,
        error,
        (alert) =>
          representationFor(c) === 'fragment'
            ? CreateProjectForm({ orgId: scope.orgId, values, alert })
            : orgPage({ alert }),
        'New project',
      );
    }
  },
);
