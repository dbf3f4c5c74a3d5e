import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Kysely's view of schema `ktrlplane`. Table and column names the operator and data planes read
 * (resources, projects, organizations, billing_accounts, role tables) are a public contract: keep
 * them exactly as migrations/ create them.
 */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type ScopeType = 'organization' | 'project' | 'resource' | 'global';

export interface UsersTable {
  user_id: string;
  email: string | null;
  name: string | null;
  is_platform_admin: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface OrganizationsTable {
  org_id: string;
  name: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ProjectsTable {
  project_id: string;
  org_id: string;
  name: string;
  description: Generated<string>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ResourcesTable {
  resource_id: string;
  project_id: string;
  name: string;
  type: string;
  sku: Generated<string>;
  status: Generated<string>;
  /** Never NULL: the operator's templates index into it (a NULL row would be pruned). */
  settings_json: ColumnType<
    Record<string, unknown>,
    Record<string, unknown> | string | undefined,
    Record<string, unknown> | string
  >;
  error_message: string | null;
  access_url: string | null;
  created_at: CreatedAt;
  /** Moved by a trigger on user-driven changes only; the operator's change detection polls it. */
  updated_at: Timestamp;
}

export interface RolesTable {
  role_id: string;
  name: string;
  display_name: string;
  description: Generated<string>;
  is_system: Generated<boolean>;
  is_hidden: Generated<boolean>;
  created_at: CreatedAt;
}

export interface PermissionsTable {
  permission_id: string;
  action: string;
  description: Generated<string>;
}

export interface RolePermissionsTable {
  role_id: string;
  permission_id: string;
}

export interface RoleAssignmentsTable {
  assignment_id: Generated<string>;
  user_id: string;
  role_id: string;
  scope_type: ScopeType;
  scope_id: string;
  expires_at: Date | null;
  created_by: string | null;
  created_at: CreatedAt;
}

export interface BillingAccountsTable {
  scope_type: 'organization' | 'project';
  scope_id: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface JobRunsTable {
  run_id: Generated<string>;
  job: string;
  trigger: string;
  outcome: 'succeeded' | 'failed' | 'skipped';
  detail: string | null;
  started_at: Date;
  finished_at: Date;
}

export interface Database {
  'ktrlplane.users': UsersTable;
  'ktrlplane.organizations': OrganizationsTable;
  'ktrlplane.projects': ProjectsTable;
  'ktrlplane.resources': ResourcesTable;
  'ktrlplane.roles': RolesTable;
  'ktrlplane.permissions': PermissionsTable;
  'ktrlplane.role_permissions': RolePermissionsTable;
  'ktrlplane.role_assignments': RoleAssignmentsTable;
  'ktrlplane.billing_accounts': BillingAccountsTable;
  'ktrlplane.job_runs': JobRunsTable;
}

export type Resource = Selectable<ResourcesTable>;
export type NewResource = Insertable<ResourcesTable>;
export type ResourceUpdate = Updateable<ResourcesTable>;
export type JobRun = Selectable<JobRunsTable>;
