import type { ScopeChain } from '../db/scopes.repository.ts';
import { AppError } from '../lib/errors.ts';
import type { Principal } from './principal.ts';

/**
 * What an API token limits, in one place (issue 15, finding 7). One rule for every route:
 * - a write needs a read-write token;
 * - a token limited to an organization or project sees and touches only what lies inside it: its
 *   permission checks (`applyTokenLimits`, used by rbac.ts) and every list without a tenant id in
 *   its path (`tokenScopeOf`, used by the repositories that list across scopes) are narrowed to it;
 * - the caller's own account (profile, password, sessions, identity) and the management of API
 *   tokens take the caller's own sign-in (session cookie or OIDC), never an API token, so a leaked
 *   token can neither end the owner's sessions nor mint itself successors that outlive its
 *   revocation. A token may still ask what it is (GET /tokens/self).
 * Principals that did not come with an API token are not limited here.
 */

/** The part of the tenancy a caller's lists are limited to: nothing (all they may read), an organization or a project. */
export interface TokenScope {
  orgId?: string;
  projectId?: string;
}

export function tokenScopeOf(principal: Pick<Principal, 'token'>): TokenScope {
  const token = principal.token;
  if (token?.scopeType === 'organization' && token.scopeId) return { orgId: token.scopeId };
  if (token?.scopeType === 'project' && token.scopeId) return { projectId: token.scopeId };
  return {};
}

/** Keeps what a token may do: nothing outside its scope, only reading when it is read-only. */
export function applyTokenLimits(
  principal: Principal,
  chain: ScopeChain | 'global',
  actions: string[],
): string[] {
  const token = principal.token;
  if (!token) return actions;
  if (token.scopeType) {
    if (chain === 'global') return [];
    const inside =
      token.scopeType === 'organization' ? chain.orgId === token.scopeId : chain.projectId === token.scopeId;
    if (!inside) return [];
  }
  if (token.access === 'read')
    return actions.filter((action) => action === 'read' || action.endsWith('/read'));
  return actions;
}

/** A write without a tenant scope to check (marking notifications read…): 403 for a read-only token. */
export function requireWritingCredential(principal: Principal, doing: string): void {
  if (principal.token?.access === 'read') {
    throw new AppError(
      403,
      'Forbidden',
      `This API token is read-only, so it cannot ${doing}. Use a read-write token, or sign in.`,
    );
  }
}

/**
 * A write that creates a new top-level tenant (an organization): outside every scope a token can
 * be limited to, so only a read-write token without a scope may do it (403 otherwise).
 */
export function requireUnscopedCredential(principal: Principal, doing: string): void {
  requireWritingCredential(principal, doing);
  const token = principal.token;
  if (token?.scopeType) {
    throw new AppError(
      403,
      'Forbidden',
      `This API token is limited to ${token.scopeType} "${token.scopeId}", so it cannot ${doing}. Use a token without a scope, or sign in.`,
    );
  }
}

/** Account routes and token management: 403 for an API token, whatever its access and scope. */
export function refuseApiToken(principal: Principal, what: string): void {
  if (principal.token) {
    throw new AppError(
      403,
      'Forbidden',
      `API tokens cannot manage ${what}: sign in to ktrlplane in a browser (or use your identity provider's token) to do this.`,
    );
  }
}
