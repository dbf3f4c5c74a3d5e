import type { Kysely } from 'kysely';
import {
  deleteOrganization,
  getOrganization,
  insertOrganization,
  organizationIdExists,
  updateOrganization,
} from '../db/organizations.repository.ts';
import {
  deleteProject,
  getProject,
  insertProject,
  projectIdExists,
  updateProject,
} from '../db/projects.repository.ts';
import { grantRole } from '../db/role-assignments.repository.ts';
import type { Database, Organization, Project } from '../db/types.ts';
import { randomSuffix } from '../lib/crypto.ts';
import { conflict, unprocessable } from '../lib/errors.ts';
import { ROLE } from '../lib/roles.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { enforceProjectLimit } from './billing/enforcement.ts';
import type { BillingPolicy } from './billing/policy.ts';
import type { Principal } from './principal.ts';
import type { AuthorizedScope } from './rbac.ts';
import { requireUnscopedCredential } from './token-limits.ts';

/**
 * An id made from a name: a DNS label (the id becomes a Kubernetes name) with a short random
 * suffix so two "Production" projects do not collide. Editable at creation, immutable afterwards.
 */
export function idFromName(name: string, fallbackPrefix: string): string {
  let base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  if (!base) base = fallbackPrefix;
  return `${base}-${randomSuffix(4)}`;
}

async function pickId(
  wanted: string | undefined,
  name: string,
  prefix: string,
  exists: (id: string) => Promise<boolean>,
  field: string,
) {
  if (wanted) {
    if (await exists(wanted))
      throw conflict(
        `The id "${wanted}" is taken; choose another, or leave ${field} empty to get one made from the name.`,
      );
    return wanted;
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const id = idFromName(name, prefix);
    if (!(await exists(id))) return id;
  }
  throw conflict('Could not find a free id; enter one.');
}

/** What the creator of a project holds on it (production's project creation assigns the same). */
const CREATOR_ROLES = [ROLE.owner, ROLE.dataOwner];

/**
 * Creates an organization owned by `creator`. A new organization lies outside every scope an API
 * token can be limited to, so only a read-write token without a scope may create one (403).
 */
export async function createOrganization(
  db: Kysely<Database>,
  creator: Principal,
  input: { name: string; org_id?: string | undefined },
  actor: AuditActor,
  now: Date,
): Promise<Organization> {
  requireUnscopedCredential(creator, 'create organizations');
  const orgId = await pickId(input.org_id, input.name, 'org', (id) => organizationIdExists(db, id), 'org_id');
  return db.transaction().execute(async (trx) => {
    const org = await insertOrganization(trx, creator, { org_id: orgId, name: input.name }, now);
    await recordAudit(
      trx,
      actor,
      {
        action: 'organization.created',
        targetType: 'organization',
        targetId: orgId,
        orgId,
        after: { name: org.name },
      },
      now,
    );
    return org;
  });
}

export async function renameOrganization(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  input: { name: string },
  actor: AuditActor,
  now: Date,
): Promise<Organization> {
  return db.transaction().execute(async (trx) => {
    const before = await getOrganization(trx, scope);
    const after = await updateOrganization(trx, scope, input, now);
    await recordAudit(
      trx,
      actor,
      {
        action: 'organization.updated',
        targetType: 'organization',
        targetId: scope.orgId,
        orgId: scope.orgId,
        before: { name: before.name },
        after: { name: after.name },
      },
      now,
    );
    return after;
  });
}

function checkConfirmation(name: string, confirm: string, noun: string) {
  if (confirm.trim() !== name) {
    throw unprocessable(
      [{ pointer: '/confirm', message: `type the ${noun}'s name, "${name}", to confirm` }],
      `Type the ${noun}'s name to confirm the deletion.`,
    );
  }
}

/**
 * Deletes an organization after the caller typed its name. The audit event outlives it (audit
 * events keep the org id, not a foreign key), so the deletion stays on record.
 */
export async function removeOrganization(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  confirm: string,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const org = await getOrganization(trx, scope);
    checkConfirmation(org.name, confirm, 'organization');
    await deleteOrganization(trx, scope);
    await recordAudit(
      trx,
      actor,
      {
        action: 'organization.deleted',
        targetType: 'organization',
        targetId: scope.orgId,
        orgId: scope.orgId,
        before: { name: org.name },
      },
      now,
    );
  });
}

/**
 * Creates a project in the organization and, as production does, makes its creator Owner and Data
 * Owner of it: the Graph data plane reads only data-plane roles, so without Data Owner the creator
 * could manage the project's graphs but not read a twin in them.
 */
export async function createProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  creator: { userId: string },
  input: { name: string; project_id?: string | undefined; description: string },
  actor: AuditActor,
  now: Date,
  policy: BillingPolicy,
): Promise<Project> {
  const projectId = await pickId(
    input.project_id,
    input.name,
    'project',
    (id) => projectIdExists(db, id),
    'project_id',
  );
  return db.transaction().execute(async (trx) => {
    await enforceProjectLimit(trx, scope.orgId, policy);
    const project = await insertProject(
      trx,
      scope,
      { project_id: projectId, name: input.name, description: input.description },
      now,
    );
    for (const roleId of CREATOR_ROLES) {
      await grantRole(trx, {
        user_id: creator.userId,
        role_id: roleId,
        scope_type: 'project',
        scope_id: projectId,
        expires_at: null,
        created_by: creator.userId,
      });
    }
    await recordAudit(
      trx,
      actor,
      {
        action: 'project.created',
        targetType: 'project',
        targetId: projectId,
        orgId: scope.orgId,
        after: { name: project.name, description: project.description, creator_roles: CREATOR_ROLES },
      },
      now,
    );
    return project;
  });
}

export async function changeProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  input: { name?: string | undefined; description?: string | undefined },
  actor: AuditActor,
  now: Date,
): Promise<Project> {
  return db.transaction().execute(async (trx) => {
    const before = await getProject(trx, scope);
    const after = await updateProject(trx, scope, input, now);
    await recordAudit(
      trx,
      actor,
      {
        action: 'project.updated',
        targetType: 'project',
        targetId: scope.id,
        orgId: scope.orgId,
        before: { name: before.name, description: before.description },
        after: { name: after.name, description: after.description },
      },
      now,
    );
    return after;
  });
}

export async function removeProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  confirm: string,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const project = await getProject(trx, scope);
    checkConfirmation(project.name, confirm, 'project');
    await deleteProject(trx, scope);
    await recordAudit(
      trx,
      actor,
      {
        action: 'project.deleted',
        targetType: 'project',
        targetId: scope.id,
        orgId: scope.orgId,
        before: { name: project.name, resources: project.resource_count },
      },
      now,
    );
  });
}
