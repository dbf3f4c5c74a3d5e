import { type Context, Hono } from 'hono';
import { getOrganizationName } from '../db/organizations.repository.ts';
import { getProject, listProjectsForUser } from '../db/projects.repository.ts';
import { listResourcesInProject } from '../db/resources.repository.ts';
import { rememberLastUsed } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess, requireUser } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, validate } from '../lib/forms.tsx';
import { readBody, readBodyOrQuery } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { confirmDeleteInput, updateProjectInput } from '../schemas/tenancy.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { changeProject, removeProject } from '../services/tenancy.ts';
import {
  deleteProjectForm,
  EditProjectForm,
  ProjectPage,
  ProjectSettingsPage,
  type ProjectSettingsView,
  ProjectsPage,
} from '../views/pages/project-pages.tsx';
import { ingestTokensView } from './ingest-tokens.tsx';

/** Projects: every readable project, one project's overview and settings, rename and delete. */
export const projectsRoutes = new Hono<AppEnv>();

const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;

/** The settings page's data (also rendered by routes/ingest-tokens.tsx after a create). */
export async function settingsView(
  c: Context<AppEnv>,
  extra: Partial<ProjectSettingsView> = {},
): Promise<ProjectSettingsView> {
  const { db } = c.get('deps');
  const scope = projectScope(c);
  const [project, organizationName, ingestTokens] = await Promise.all([
    getProject(db, scope),
    getOrganizationName(db, scope),
    ingestTokensView(c),
  ]);
  return { project, organizationName, permissions: [...scope.actions], ingestTokens, ...extra };
}

projectsRoutes.get('/projects', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const projects = await listProjectsForUser(db, currentPrincipal(c), clock.now());
  if (representationFor(c) === 'json') return c.json(projects);
  return respond(c, { projects }, ProjectsPage, { title: 'Projects' });
});

projectsRoutes.get('/projects/:projectId', requireAccess('read', 'project', 'projectId'), async (c) => {
  const { db } = c.get('deps');
  const scope = projectScope(c);
  const [project, organizationName, resources] = await Promise.all([
    getProject(db, scope),
    getOrganizationName(db, scope),
    listResourcesInProject(db, scope),
  ]);
  await rememberLastUsed(db, currentPrincipal(c).userId, {
    last_org_id: scope.orgId,
    last_project_id: project.project_id,
  });
  if (representationFor(c) === 'json') return c.json({ ...project, permissions: [...scope.actions] });
  return respond(c, { project, organizationName, resources, permissions: [...scope.actions] }, ProjectPage, {
    title: project.name,
  });
});

projectsRoutes.get(
  '/projects/:projectId/settings',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const view = await settingsView(c);
    if (representationFor(c) === 'json') return c.json({ ...view.project, permissions: view.permissions });
    return respond(c, view, ProjectSettingsPage, { title: `${view.project.name} settings` });
  },
);

projectsRoutes.patch('/projects/:projectId', requireAccess('write', 'project', 'projectId'), async (c) => {
  const { db, clock } = c.get('deps');
  const scope = projectScope(c);
  const body = await readBody(c);
  const parsed = validate(updateProjectInput, body);
  if (!parsed.ok) {
    const view = await settingsView(c, { editErrors: fieldErrors(parsed.errors) });
    const typed = { ...view.project, ...(body as Record<string, string>) };
    const form =
      representationFor(c) === 'fragment'
        ? EditProjectForm({ project: typed, errors: view.editErrors })
        : ProjectSettingsPage({ ...view, project: typed });
    return invalidForm(c, parsed.errors, form, 'Settings');
  }
  const project = await changeProject(db, scope, parsed.data, c.get('auditActor'), clock.now());
  if (representationFor(c) === 'json') return c.json(project);
  if (representationFor(c) === 'fragment')
    return c.html(<EditProjectForm project={await getProject(db, scope)} saved />);
  return redirectAfterWrite(c, `/projects/${project.project_id}/settings`);
});

projectsRoutes.delete('/projects/:projectId', requireAccess('delete', 'project', 'projectId'), async (c) => {
  const { db, clock } = c.get('deps');
  const scope = projectScope(c);
  const parsed = validate(confirmDeleteInput, await readBodyOrQuery(c));
  try {
    await removeProject(db, scope, parsed.ok ? parsed.data.confirm : '', c.get('auditActor'), clock.now());
  } catch (error) {
    if (error instanceof AppError && error.status === 422 && representationFor(c) !== 'json') {
      const view = await settingsView(c, { deleteErrors: fieldErrors(error.errors) });
      const body =
        representationFor(c) === 'fragment'
          ? deleteProjectForm(view.project, view.deleteErrors)
          : ProjectSettingsPage(view);
      return respond(c, null, () => body, { title: 'Settings', status: 422 });
    }
    throw error;
  }
  if (representationFor(c) === 'json') return c.body(null, 204);
  return redirectAfterWrite(c, `/organizations/${scope.orgId}`);
});
