import type { Context, MiddlewareHandler } from 'hono';
import type { TenantScopeType } from '../db/scopes.repository.ts';
import { principalFromBearer, principalFromSession } from '../services/authentication.ts';
import { billingPolicyOf } from '../services/billing/policy.ts';
import { apiQuotaGateFor } from '../services/billing/quotas.ts';
import type { Principal } from '../services/principal.ts';
import { principalLabel } from '../services/principal.ts';
import { type Action, authorize } from '../services/rbac.ts';
import { refuseApiToken } from '../services/token-limits.ts';
import type { AppEnv } from './app-env.ts';
import { clientIp } from './client-ip.ts';
import { AppError, notFound, UnauthenticatedError } from './errors.ts';
import { dnsLabel } from './ids.ts';
import { pathId } from './input.ts';
import { isApiPath } from './negotiate.tsx';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves the caller. /api/v1 accepts bearer credentials only (API tokens, OIDC JWTs); other
 * paths also accept the browser session cookie. A bearer credential that is present but invalid,
 * expired or revoked is a 401 at once rather than an anonymous request.
 */
export function authentication(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const deps = c.get('deps');
    const header = c.req.header('Authorization');
    let principal: Principal | null = null;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      principal = match?.[1] ? await principalFromBearer(deps, match[1]) : null;
      if (!principal) {
        throw new AppError(401, 'Unauthorized', 'The bearer credential is invalid, expired or revoked.', [], {
          'WWW-Authenticate': 'Bearer error="invalid_token"',
        });
      }
    } else if (!isApiPath(c.req.path)) {
      principal = await principalFromSession(c, deps);
    }
    c.set('principal', principal);
    c.set('auditActor', {
      actorType: !principal ? 'anonymous' : principal.via === 'api-token' ? 'token' : 'user',
      actorId: principal?.userId ?? null,
      actorLabel: principal
        ? `${principalLabel(principal)}${principal.token ? ` (token ${principal.token.tokenId})` : ''}`
        : null,
      requestId: c.get('requestId'),
      ip: clientIp(c),
      userAgent: c.req.header('User-Agent') ?? null,
    });
    // The request's logger already reads user_id from the principal (access-log.ts requestLogger).
    await next();
  };
}

/**
 * Cross-site request forgery protection for cookie-authenticated browsers: an unsafe request that
 * did not come with a bearer credential must carry an Origin (or, failing that, a Referer) of this
 * site. htmx requests are fetches and carry Origin like any other.
 */
export function csrfProtection(): MiddlewareHandler<AppEnv> {
  return async function checkOrigin(c, next) {
    if (
      SAFE_METHODS.has(c.req.method) ||
      c.req.header('Authorization') ||
      isApiPath(c.req.path) ||
      c.req.path.startsWith('/webhooks/')
    ) {
      return next();
    }
    const allowed = new Set([new URL(c.get('deps').config.BASE_URL).origin, new URL(c.req.url).origin]);
    const origin = c.req.header('Origin') ?? refererOrigin(c.req.header('Referer'));
    if (!origin || !allowed.has(origin)) {
      throw new AppError(
        403,
        'Forbidden',
        'This request did not come from a ktrlplane page (its Origin is missing or foreign). Reload the page and try again.',
      );
    }
    return next();
  };
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/** The signed-in caller; throws (401 / sign-in redirect) when there is none. */
export function currentPrincipal(c: Context<AppEnv>): Principal {
  const principal = c.get('principal');
  if (!principal) throw new UnauthenticatedError();
  return principal;
}

export function requireUser(): MiddlewareHandler<AppEnv> {
  return async function signedIn(c, next) {
    currentPrincipal(c);
    return next();
  };
}

/**
 * The caller's own account and credentials (`what` they are, for the message): signed in, and not
 * through an API token (403), whatever the token's access and scope (services/token-limits.ts).
 */
export function requireOwnSignIn(what: string): MiddlewareHandler<AppEnv> {
  return async function ownSignIn(c, next) {
    refuseApiToken(currentPrincipal(c), what);
    return next();
  };
}

/**
 * The permission check of a route: `action` on the scope whose id is the path parameter `param`.
 * Sets c.var.scope to the proof the handler passes to repositories. Every route that has a tenant
 * id in its path uses this (a test enumerates the routes to make sure).
 */
export function requireAccess(
  action: Action,
  type: TenantScopeType,
  param: string,
): MiddlewareHandler<AppEnv> {
  return async function access(c, next) {
    const principal = currentPrincipal(c);
    const id = pathId(c, param, dnsLabel, type);
    const deps = c.get('deps');
    const scope = await authorize(deps.db, principal, action, type, id, deps.clock.now());
    // A path that names the parent too (/projects/:projectId/resources/:resourceId) must name the
    // real one: a resource reached through another project's path is not there.
    const parentProject = type === 'resource' ? c.req.param('projectId') : undefined;
    if (parentProject !== undefined && scope.projectId !== parentProject) {
      throw notFound(`No resource "${id}" exists in this project, or you do not have access to it.`);
    }
    c.set('scope', scope);
    // A hard API-call quota refuses /api/v1 calls (429) once used up — except billing's own
    // routes, so the organization can still see its usage and upgrade. Cached per organization.
    if (isApiPath(c.req.path) && !BILLING_PATH.test(c.req.path)) {
      await apiQuotaGateFor(deps.config, billingPolicyOf(deps)).check(deps.db, scope.orgId, deps.clock.now());
    }
    return next();
  };
}

const BILLING_PATH = /\/billing(\/|$)/;
