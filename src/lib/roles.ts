/**
 * The ids of the system roles. They are the production estate's ids (the Go service's migrations
 * 001–019, seeded here by migration 2026-12-08-0014-production-roles), so an adopted database and a
 * fresh one name the same role the same way and the Graph data plane sees the same answers.
 * Code names roles only through these constants, never through a literal id.
 */
export const ROLE = {
  /** Every control-plane action, inherited downwards (organization → project → resource). */
  owner: '10000000-0001-0000-0000-000000000001',
  /** Read and change, no delete, no access or billing management. */
  editor: '10000000-0001-0000-0000-000000000002',
  /** Read only. */
  viewer: '10000000-0001-0000-0000-000000000003',
  /** Every data-plane action of every resource type (production assigns it on project creation). */
  dataOwner: '10000000-0005-0000-0000-000000000001',
  /** Every data-plane action on a Konnektr.Graph. */
  graphOwner: '10000000-0004-0000-0000-000000000001',
  /** Reads and queries on a Konnektr.Graph. */
  graphViewer: '10000000-0004-0000-0000-000000000003',
  /** Hidden: lets a data plane's M2M client ask for the permissions of the user who called it. */
  permissionChecker: 'service-account-permission-checker',
  /** Hidden: lets a data plane report usage events (ours; production has no such role). */
  usageReporter: 'service-account-usage-reporter',
} as const;

export type SystemRoleId = (typeof ROLE)[keyof typeof ROLE];

/** The action a data plane's client needs at `global` scope to ask on behalf of another user. */
export const CHECK_ON_BEHALF_OF = 'check_permissions_on_behalf_of';
