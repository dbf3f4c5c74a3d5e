import type { Kysely } from 'kysely';
import { actionsForUser, scopeWithActions } from '../db/permissions.repository.ts';
import type { ScopeChain, TenantScopeType } from '../db/scopes.repository.ts';
import type { Database } from '../db/types.ts';
import { AppError, notFound } from '../lib/errors.ts';
import type { Principal } from './principal.ts';
import { applyTokenLimits } from './token-limits.ts';

/** Control-plane actions; data-plane actions (digitaltwins/read, …) are plain strings. */
export type Action = 'read' | 'write' | 'delete' | 'manage_access' | 'manage_billing';

declare const authorizedBrand: unique symbol;

/**
 * Proof that the caller passed a permission check on a scope. Only `authorize` makes one, and
 * repositories that read or change tenant data take one as their second argument, so a query on a
 * tenant's data cannot be written without the check having run.
 */
export interface AuthorizedScope<T extends TenantScopeType = TenantScopeType> extends ScopeChain {
  readonly [authorizedBrand]: true;
  readonly type: T;
  readonly id: string;
  /** Everything the caller may do here (after any token limits). */
  readonly actions: ReadonlySet<string>;
}

/** The actions `principal` holds on a resolved scope (or at `global`). */
export async function effectiveActions(
  db: Kysely<Database>,
  principal: Principal,
  chain: ScopeChain | 'global',
  now: Date,
): Promise<string[]> {
  return applyTokenLimits(principal, chain, await actionsForUser(db, principal.userId, chain, now));
}

/**
 * What `principal` may do on a scope (one query); empty for scopes that do not exist. With
 * `global: false`, assignments at global scope do not count (the data-plane permission check).
 */
export async function actionsOn(
  db: Kysely<Database>,
  principal: Principal,
  type: TenantScopeType,
  id: string,
  now: Date,
  options: { global: boolean } = { global: true },
): Promise<string[]> {
  const found = await scopeWithActions(db, principal.userId, type, id, now, options);
  return found ? applyTokenLimits(principal, found.chain, found.actions) : [];
}

/** Whether `principal` may do `action` on the scope; false for scopes that do not exist. */
export async function can(
  db: Kysely<Database>,
  principal: Principal,
  action: string,
  type: TenantScopeType,
  id: string,
  now: Date,
): Promise<boolean> {
  return (await actionsOn(db, principal, type, id, now)).includes(action);
}

const nouns: Record<TenantScopeType, string> = {
  organization: 'organization',
  project: 'project',
  resource: 'resource',
};

/**
 * Checks that `principal` may do `action` on a scope and returns the proof. A scope the caller may
 * not even read answers 404 exactly like one that does not exist, so ids cannot be probed; one the
 * caller can read but not change answers 403.
 */
export async function authorize<T extends TenantScopeType>(
  db: Kysely<Database>,
  principal: Principal,
  action: Action,
  type: T,
  id: string,
  now: Date,
): Promise<AuthorizedScope<T>> {
  const found = await scopeWithActions(db, principal.userId, type, id, now);
  const chain = found?.chain;
  const actions = found ? applyTokenLimits(principal, found.chain, found.actions) : [];
  if (!chain || !actions.includes('read')) {
    throw notFound(`No ${nouns[type]} "${id}" exists, or you do not have access to it.`);
  }
  if (!actions.includes(action)) {
    throw new AppError(
      403,
      'Forbidden',
      `You may see this ${nouns[type]} but not ${describe(action)} it; ask an Owner for a role that allows it.`,
    );
  }
  // Object.assign, not a spread with more keys: V8 builds the latter on a slow path (every request).
  return Object.assign({}, chain, { type, id, actions: new Set(actions) }) as unknown as AuthorizedScope<T>;
}

/**
 * The permission check of a data-plane action (e.g. `usage/report`) on a scope: a service account
 * may hold the action without `read`, so holding either makes the scope visible (403 when it is
 * visible without the action, 404 when not at all).
 */
export async function authorizeDataPlaneAction<T extends TenantScopeType>(
  db: Kysely<Database>,
  principal: Principal,
  action: string,
  type: T,
  id: string,
  now: Date,
): Promise<AuthorizedScope<T>> {
  const found = await scopeWithActions(db, principal.userId, type, id, now);
  const chain = found?.chain;
  const actions = found ? applyTokenLimits(principal, found.chain, found.actions) : [];
  if (!chain || !(actions.includes('read') || actions.includes(action))) {
    throw notFound(`No ${nouns[type]} "${id}" exists, or you do not have access to it.`);
  }
  if (!actions.includes(action)) {
    throw new AppError(
      403,
      'Forbidden',
      `You may see this ${nouns[type]} but not do ${action} in it; ask an Owner for a role that allows it (e.g. Service Account: Usage Reporter).`,
    );
  }
  return Object.assign({}, chain, { type, id, actions: new Set(actions) }) as unknown as AuthorizedScope<T>;
}

function describe(action: Action): string {
  switch (action) {
    case 'read':
      return 'read';
    case 'write':
      return 'change';
    case 'delete':
      return 'delete';
    case 'manage_access':
      return 'manage access to';
    case 'manage_billing':
      return 'manage billing of';
  }
}

/**
 * The scope a background job works in when it acts for a tenant's own configuration (an alert
 * rule evaluated for its project). No caller is involved: the job read the project id from the
 * tenant's row itself, so the scope is that row's own project and never another. Not for routes.
 */
export function projectScopeForJob(orgId: string, projectId: string): AuthorizedScope<'project'> {
  return Object.assign(
    {},
    { orgId, projectId, resourceId: null },
    { type: 'project', id: projectId, actions: new Set(['read']) },
  ) as unknown as AuthorizedScope<'project'>;
}
