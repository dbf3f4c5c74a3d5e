import { Hono } from 'hono';
import { listReadableResources } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireUser } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { parseInput } from '../lib/input.ts';
import { CHECK_ON_BEHALF_OF, ROLE } from '../lib/roles.ts';
import { permissionCheckQuery, resourceListQuery } from '../schemas/permissions.ts';
import { canonicalTypeId } from '../schemas/resource-types/type-ids.ts';
import { resolveUserId } from '../services/identities.ts';
import type { Principal } from '../services/principal.ts';
import { actionsOn, effectiveActions } from '../services/rbac.ts';
import { viewOfResource } from '../services/resources.ts';

/**
 * Endpoints the data planes call (JSON only, mounted under /api/v1 alone):
 * - GET /permissions/check?scopeType=&scopeId=[&userId=] → {user_id, scope_type, scope_id, permissions}
 * - GET /resources?resource_type= → {resources: [...]}: every resource the caller can read, across
 *   projects (the Go service's shape, which the Graph Explorer reads).
 *
 * The check answers what the Go service it replaces answered for the same rows, because the Graph
 * data plane (with its 5-minute cache) is written against that: the union of the actions of every
 * unexpired assignment on the scope and on the scopes above it (organization → project →
 * resource), control-plane and data-plane actions alike, and none from `global` assignments (those
 * hold service-account permissions, never a user's). Asking about another user needs a service
 * account (an M2M client: `gty: client-credentials`, `sub` `<client id>@clients`) holding
 * check_permissions_on_behalf_of at global scope; anyone else gets 403, as in production.
 * Differences, on purpose: a bad query answers 422 with pointers (production: 400), and no
 * permissions answer `[]` (production: `null`, which the data plane also reads as none).
 */
export const permissionsRoutes = new Hono<AppEnv>();

permissionsRoutes.get('/permissions/check', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const caller = currentPrincipal(c);
  const query = parseInput(permissionCheckQuery, c.req.query());
  const now = clock.now();
  let subject: Principal = caller;
  // The data plane sends the identity provider's `sub`; a `sub` linked to a local account
  // (services/identities.ts) is that account, so the check answers with the account's roles.
  const named = query.userId ? await resolveUserId(db, query.userId) : undefined;
  const subjectId = named?.user_id ?? query.userId;
  if (subjectId && subjectId !== caller.userId) {
    if (caller.kind !== 'service') {
      throw new AppError(
        403,
        'Forbidden',
        'Only service accounts (M2M clients) can check permissions on behalf of other users; leave out userId to check your own.',
      );
    }
    if (!(await effectiveActions(db, caller, 'global', now)).includes(CHECK_ON_BEHALF_OF)) {
      throw new AppError(
        403,
        'Forbidden',
        `This service account may not check permissions on behalf of users: it needs the Permission Checker role at global scope (npm run grant-role -- --client <client id> --role ${ROLE.permissionChecker} --scope global).`,
      );
    }
    const user = named;
    subject = user
      ? {
          userId: user.user_id,
          email: user.email,
          name: user.name,
          kind: user.kind,
          isPlatformAdmin: user.is_platform_admin,
          via: 'oidc',
        }
      : { userId: subjectId, email: null, name: null, kind: 'user', isPlatformAdmin: false, via: 'oidc' };
  }
  // A scope that does not exist and one the subject has nothing on answer alike: an empty list.
  const permissions = await actionsOn(db, subject, query.scopeType, query.scopeId, now, { global: false });
  return c.json({
    // The id the data plane asked about, even when it resolved to a linked local account.
    user_id: query.userId ?? subject.userId,
    scope_type: query.scopeType,
    scope_id: query.scopeId,
    permissions,
  });
});

permissionsRoutes.get('/resources', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const query = parseInput(resourceListQuery, c.req.query());
  const principal = currentPrincipal(c);
  // A token limited to one organization or project sees only what lies inside it (the repository narrows).
  const type = query.resource_type && canonicalTypeId(query.resource_type);
  const resources = await listReadableResources(db, principal, { type }, clock.now());
  // The Go service answered `{resources: [...]}` and its clients (the Graph Explorer) read
  // `.resources`; the rows are the same view as everywhere else, so secret values stay out.
  return c.json({ resources: resources.map(({ org_id: _org, ...resource }) => viewOfResource(resource)) });
});
