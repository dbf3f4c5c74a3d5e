import { Hono } from 'hono';
import { listReadableResources } from '../db/resources.repository.ts';
import { findUserById } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireUser } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { parseInput } from '../lib/input.ts';
import { permissionCheckQuery, resourceListQuery } from '../schemas/permissions.ts';
import type { Principal } from '../services/principal.ts';
import { actionsOn, effectiveActions } from '../services/rbac.ts';

/**
 * Endpoints the data planes call (JSON only, mounted under /api/v1 alone):
 * - GET /permissions/check?scopeType=&scopeId=[&userId=] → {user_id, scope_type, scope_id, permissions}
 * - GET /resources?resource_type= → every resource the caller can read, across projects.
 */
export const permissionsRoutes = new Hono<AppEnv>();

const ON_BEHALF_OF = 'check_permissions_on_behalf_of';

permissionsRoutes.get('/permissions/check', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const caller = currentPrincipal(c);
  const query = parseInput(permissionCheckQuery, c.req.query());
  const now = clock.now();
  let subject: Principal = caller;
  if (query.userId && query.userId !== caller.userId) {
    // Only a service account holding check_permissions_on_behalf_of at global/global may ask
    // about someone else: a data plane checking the user who called it.
    if (!(await effectiveActions(db, caller, 'global', now)).includes(ON_BEHALF_OF)) {
      throw new AppError(
        403,
        'Forbidden',
        'Checking another user’s permissions needs the Permission Checker role at global scope.',
      );
    }
    const user = await findUserById(db, query.userId);
    subject = user
      ? {
          userId: user.user_id,
          email: user.email,
          name: user.name,
          kind: user.kind,
          isPlatformAdmin: user.is_platform_admin,
          via: 'oidc',
        }
      : { userId: query.userId, email: null, name: null, kind: 'user', isPlatformAdmin: false, via: 'oidc' };
  }
  // A scope that does not exist and one the subject has nothing on answer alike: an empty list.
  const permissions = await actionsOn(db, subject, query.scopeType, query.scopeId, now);
  return c.json({
    user_id: subject.userId,
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
  const resources = await listReadableResources(db, principal, { type: query.resource_type }, clock.now());
  return c.json(resources.map(({ org_id: _org, ...resource }) => resource));
});
