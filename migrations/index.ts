import type { Migration } from 'kysely';
import * as core from './2026-11-27-0001-core.ts';
import * as seedRoles from './2026-11-27-0002-seed-roles.ts';
import * as identity from './2026-11-27-0003-identity.ts';
import * as resourceTypes from './2026-11-27-0004-resource-types.ts';
import * as resourceWrites from './2026-11-27-0005-resource-writes.ts';
import * as resourceDrafts from './2026-11-27-0006-resource-drafts.ts';
import * as deployments from './2026-11-27-0007-deployments.ts';
import * as billing from './2026-11-27-0008-billing.ts';
import * as usage from './2026-11-27-0009-usage.ts';
import * as notifications from './2026-11-27-0010-notifications.ts';
import * as logs from './2026-11-27-0011-logs.ts';
import * as alerts from './2026-11-27-0012-alerts.ts';
import * as usageHistoryTimeIndex from './2026-11-27-0013-usage-history-time-index.ts';
import * as productionRoles from './2026-12-08-0014-production-roles.ts';
import * as graphTypeName from './2026-12-08-0015-graph-type-name.ts';
import * as secrets from './2026-12-08-0016-secrets.ts';
import * as tenantDataLifecycle from './2026-12-08-0017-tenant-data-lifecycle.ts';
import * as emailVerification from './2026-12-08-0018-email-verification.ts';
import * as loginThrottle from './2026-12-08-0019-login-throttle.ts';

/**
 * Every migration, in order. Listed statically (not read from disk) so the Workers bundle carries
 * them too. Forward-only: never edit or reorder one that has shipped; add a new file.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-27-0001-core': core,
  '2026-11-27-0002-seed-roles': seedRoles,
  '2026-11-27-0003-identity': identity,
  '2026-11-27-0004-resource-types': resourceTypes,
  '2026-11-27-0005-resource-writes': resourceWrites,
  '2026-11-27-0006-resource-drafts': resourceDrafts,
  '2026-11-27-0007-deployments': deployments,
  '2026-11-27-0008-billing': billing,
  '2026-11-27-0009-usage': usage,
  '2026-11-27-0010-notifications': notifications,
  '2026-11-27-0011-logs': logs,
  '2026-11-27-0012-alerts': alerts,
  '2026-11-27-0013-usage-history-time-index': usageHistoryTimeIndex,
  '2026-12-08-0014-production-roles': productionRoles,
  '2026-12-08-0015-graph-type-name': graphTypeName,
  '2026-12-08-0016-secrets': secrets,
  '2026-12-08-0017-tenant-data-lifecycle': tenantDataLifecycle,
  '2026-12-08-0018-email-verification': emailVerification,
  '2026-12-08-0019-login-throttle': loginThrottle,
};
