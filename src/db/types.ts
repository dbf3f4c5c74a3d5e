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
  /** A local account's id is `local|<random>`; an OIDC user's is the token's `sub`. */
  user_id: string;
  email: string | null;
  name: string | null;
  is_platform_admin: Generated<boolean>;
  /** 'service' for client-credentials principals (`<client_id>@clients`). */
  kind: Generated<'user' | 'service'>;
  last_org_id: string | null;
  last_project_id: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** When the address was shown to reach the owner; null = unverified (no grants by email). */
  email_verified_at: Date | null;
}

export interface LocalCredentialsTable {
  user_id: string;
  /** `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url). */
  password_hash: string;
  updated_at: Timestamp;
}

export interface SessionsTable {
  /** SHA-256 of the cookie's token; the token itself is never stored. */
  session_hash: string;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  last_seen_at: Date;
  ip: string | null;
  user_agent: string | null;
}

export type TokenAccess = 'read' | 'read-write';

export interface ApiTokensTable {
  token_id: string;
  token_hash: string;
  user_id: string;
  name: string;
  scope_type: 'organization' | 'project' | null;
  scope_id: string | null;
  access: TokenAccess;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface InvitationsTable {
  invitation_id: Generated<string>;
  token_hash: string;
  email: string;
  role_id: string;
  scope_type: 'organization' | 'project' | 'resource';
  scope_id: string;
  org_id: string;
  assignment_expires_at: Date | null;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
}

export interface MailOutboxTable {
  mail_id: Generated<string>;
  to_address: string;
  subject: string;
  body_text: string;
  created_at: Date;
  sent_at: Date | null;
  attempts: Generated<number>;
  last_error: string | null;
}

/** In-app notifications (migration 0010): one row per recipient, deduplicated per user by key. */
export interface NotificationsTable {
  notification_id: Generated<string>;
  user_id: string;
  org_id: string;
  project_id: string | null;
  kind: string;
  title: string;
  body: string;
  link: string | null;
  dedupe_key: string;
  created_at: Date;
  read_at: Date | null;
}

export interface AuditEventsTable {
  event_id: Generated<string>;
  occurred_at: Date;
  org_id: string | null;
  actor_type: 'user' | 'token' | 'anonymous' | 'system';
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  changes: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, never>;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RateLimitsTable {
  bucket: string;
  window_start: Date;
  hits: number;
}

export interface LoginThrottleTable {
  bucket: string;
  attempts: number;
  blocked_until: Date | null;
  admitted: boolean;
  updated_at: Date;
}

export interface OidcLoginsTable {
  state: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  expires_at: Date;
  /** SHA-256 of the value in the starting browser's cookie; the callback must present it. */
  browser_hash: string;
}

export interface EmailVerificationsTable {
  token_hash: string;
  user_id: string;
  /** The address the link was mailed to; it verifies nothing once the account's address changed. */
  email: string;
  created_at: Date;
  expires_at: Date;
}

export interface UserIdentitiesTable {
  /** The identity provider's `sub` (what the data plane sends as the user id). */
  sub: string;
  /** The local account the identity is linked to. */
  user_id: string;
  email: string | null;
  linked_at: Date;
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
  /** Bumped on every user-driven change; the resource's ETag and the operator's observed version. */
  generation: Generated<number>;
  /** The generation the operator last applied (its status template writes it back). */
  observed_generation: number | null;
  /** deployed: in the operator's query; undeployed / deleting: left out of it (workload pruned). */
  deployment_state: Generated<DeploymentState>;
  /** Since when `status` is what it is; a trigger moves it, whoever writes the status. */
  status_changed_at: Generated<Date>;
}

export type DeploymentState = 'deployed' | 'undeployed' | 'deleting' | 'suspended';

/** One status transition of a resource, written by a trigger (so the operator's writes count). */
export interface ResourceDeploymentsTable {
  event_id: Generated<number>;
  resource_id: string;
  project_id: string;
  status: string;
  message: string | null;
  generation: number;
  observed_generation: number | null;
  /** The resource's deployment_state then, or `deleted` for the row's last event. */
  deployment_state: string;
  at: Generated<Date>;
}

/** A per-project credential of log shippers; only the SHA-256 of its secret is kept. */
export interface IngestTokensTable {
  token_id: string;
  project_id: string;
  name: string;
  token_hash: string;
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  /** Lines stored and lines refused through this token (int8, parsed to numbers by type-parsers.ts). */
  accepted_lines: ColumnType<number, never, never>;
  rejected_lines: ColumnType<number, never, never>;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** One log line (partitioned by retention class and day; see migration 0011). */
export interface LogsTable {
  log_id: Generated<number>;
  retention_days: number;
  ts: Date;
  received_at: Date;
  project_id: string;
  resource_id: string;
  level: LogLevel;
  message: string;
  attributes: ColumnType<Record<string, unknown>, string, string>;
  source: 'otlp' | 'loki';
  search: ColumnType<string, never, never>;
}

export interface SavedLogSearchesTable {
  search_id: string;
  project_id: string;
  resource_id: string | null;
  name: string;
  query: string;
  time_range: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface ResourceHealthChecksTable {
  check_id: Generated<number>;
  resource_id: string;
  url: string;
  ok: boolean;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  checked_at: Date;
}

export interface IdempotencyKeysTable {
  user_id: string;
  idempotency_key: string;
  /** SHA-256 of the request (method, path, body), to tell a retry from a different request. */
  request_hash: string;
  response_status: number;
  response_body: ColumnType<unknown, string, never>;
  created_at: Date;
}

/** Settings under review before they are stored (the wizard's review, the settings diff). */
export interface ResourceDraftsTable {
  draft_id: string;
  user_id: string;
  project_id: string;
  /** The resource a settings draft edits; NULL for a draft that creates one. */
  resource_id: string | null;
  /** Step 1 of the wizard: {type, sku, name, resource_id}; for an edit, the resource's own. */
  basics: ColumnType<WizardBasicsJson, string, string>;
  settings_json: ColumnType<Record<string, unknown>, string, string>;
  /** The generation the edit was made against: applying it is refused (412) once it moved on. */
  base_generation: number | null;
  completed_resource_id: string | null;
  created_at: Date;
  expires_at: Date;
}

export interface WizardBasicsJson {
  type: string;
  sku: string;
  name: string;
  resource_id: string;
}

export interface RolesTable {
  role_id: string;
  name: string;
  display_name: string;
  description: Generated<string>;
  is_system: Generated<boolean>;
  is_hidden: Generated<boolean>;
  /** Where access pages list the role (production's order: 1–3 control plane, 20 Data Owner, 30+ per type). */
  display_order: Generated<number>;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
}

export interface PermissionsTable {
  permission_id: string;
  /** The product the action belongs to: `Konnektr.KtrlPlane` (control plane) or a data plane's type. */
  resource_type: Generated<string>;
  action: string;
  description: Generated<string>;
  created_at: Generated<Date>;
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
  /** The effective plan: what limits apply (free unless an active subscription says otherwise). */
  plan: Generated<string>;
  past_due_since: Date | null;
  suspended_at: Date | null;
  synced_at: Date | null;
  /**
   * A project's copy of its organization's Stripe ids for the production Auth0 client gate
   * (migration 0015), not an account: every query here leaves these rows out.
   */
  mirrors_organization: Generated<boolean>;
}

export interface SubscriptionsTable {
  stripe_subscription_id: string;
  scope_type: 'organization' | 'project';
  scope_id: string;
  stripe_customer_id: string;
  status: string;
  plan: string;
  current_period_start: Date | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  canceled_at: Date | null;
  items: ColumnType<SubscriptionItemJson[], string, string>;
  created_at: Date;
  synced_at: Date;
}

export interface SubscriptionItemJson {
  id: string;
  price: string;
  lookup_key: string | null;
  quantity: number | null;
}

export interface InvoicesTable {
  stripe_invoice_id: string;
  scope_type: 'organization' | 'project';
  scope_id: string;
  stripe_customer_id: string;
  stripe_subscription_id: string | null;
  number: string | null;
  status: string;
  amount_due: number;
  amount_paid: number;
  currency: string;
  period_start: Date | null;
  period_end: Date | null;
  hosted_invoice_url: string | null;
  invoice_pdf: string | null;
  created_at: Date;
  synced_at: Date;
}

export interface StripeEventsTable {
  event_id: string;
  type: string;
  customer_id: string | null;
  stripe_created: Date;
  received_at: Date;
  processed_at: Date | null;
  attempts: Generated<number>;
  next_attempt_at: Date;
  last_error: string | null;
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

type JsonColumn<T> = ColumnType<T, string, string>;

/** The product catalogue (src/schemas/resource-types), refreshed from code at start-up. */
export interface ResourceTypesTable {
  type_name: string;
  display_name: string;
  description: string;
  icon: JsonColumn<Record<string, unknown>>;
  skus: JsonColumn<Record<string, unknown>>;
  presets: JsonColumn<unknown[]>;
  settings_schema: JsonColumn<Record<string, unknown>>;
  deployment_spec: JsonColumn<Record<string, unknown>>;
  is_active: boolean;
  created_at: ColumnType<Date, Date, never>;
  updated_at: ColumnType<Date, Date, Date>;
}

/** Numbers Postgres keeps as `numeric`: both drivers answer strings; written as numbers or strings. */
type NumericColumn = ColumnType<string, number | string, number | string>;

/** A usage event a data plane reported, once per (org, id) (src/services/usage/events.ts). */
export interface UsageEventsTable {
  org_id: string;
  event_id: string;
  project_id: string;
  resource_id: string;
  metric: string;
  occurred_at: Date;
  value: NumericColumn;
  attributes: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  /** SHA-256 of the canonical payload: same id + same hash = a retry, another hash = a conflict. */
  payload_hash: string;
  received_at: Date;
}

/** A change of what a resource costs to run, written by a trigger (migration 0009). */
export interface ResourceUsageChangesTable {
  change_id: Generated<number>;
  resource_id: string;
  project_id: string;
  type: string;
  sku: string;
  status: string;
  deployment_state: string;
  instances: number;
  storage_quantity: string | null;
  at: Date;
}

/** Where a type's settings hold its instance count and storage size (see resource-meters.ts). */
export interface ResourceTypeMetersTable {
  type_name: string;
  instances_pointer: string | null;
  storage_pointer: string | null;
}

/** API calls per (org, project, token, minute); '' = none. Contract shared with the alerts helper. */
export interface ApiUsageMinutesTable {
  org_id: string;
  project_id: string;
  token_id: string;
  minute: Date;
  requests: number;
  client_errors: number;
  server_errors: number;
  duration_ms_sum: number;
  /** Counts per API_LATENCY_BUCKETS_MS bound, the last one for slower requests. */
  duration_buckets: number[];
}

export interface UsageDirtyHoursTable {
  org_id: string;
  project_id: string;
  resource_id: string;
  metric: string;
  hour: Date;
}

interface UsageAggregateColumns {
  scope_type: 'organization' | 'project';
  scope_id: string;
  metric: string;
  /** '' for usage of no resource (API calls). */
  resource_id: string;
  org_id: string;
  project_id: string;
  resource_type: string | null;
  sku: string | null;
  quantity: NumericColumn;
}

export interface UsageMinutelyTable extends UsageAggregateColumns {
  minute: Date;
}

export interface UsageHourlyTable extends UsageAggregateColumns {
  hour: Date;
  /** What the reporting job last turned into meter events; differs from quantity until reported. */
  reported_quantity: ColumnType<string | null, number | string | null, number | string | null>;
  updated_at: Date;
}

export interface UsageRollupStateTable {
  name: string;
  watermark: Date | null;
  last_change_id: number;
  updated_at: Date;
}

export type MeterReportStatus = 'pending' | 'sent' | 'failed';

/** The outbox of Stripe meter events (src/services/usage/reporting.ts). */
export interface UsageMeterReportsTable {
  identifier: string;
  scope_type: 'organization' | 'project';
  scope_id: string;
  stripe_customer_id: string;
  meter: string;
  event_name: string;
  hour: Date;
  revision: number;
  /** The meter event's value: this revision's difference, in the meter's unit. */
  value: NumericColumn;
  /** The hour's total once this revision counts. */
  total: NumericColumn;
  event_timestamp: Date;
  status: Generated<MeterReportStatus>;
  attempts: Generated<number>;
  next_attempt_at: Date;
  lease_until: Date | null;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

export interface UsageReconciliationsTable {
  scope_type: 'organization' | 'project';
  scope_id: string;
  meter: string;
  period_start: Date;
  period_end: Date;
  ours: NumericColumn;
  stripe: NumericColumn;
  unsent: NumericColumn;
  drift: NumericColumn;
  checked_at: Date;
}

export type AlertRuleKind = 'metric' | 'promql' | 'log' | 'status' | 'usage';
export type AlertComparator = '>' | '>=' | '<' | '<=';
export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertState = 'inactive' | 'pending' | 'firing';
export type AlertChannelKind = 'in_app' | 'email' | 'webhook' | 'alertmanager';

export interface AlertRulesTable {
  rule_id: Generated<string>;
  project_id: string;
  name: string;
  kind: AlertRuleKind;
  /** The kind's own fields (metric name, PromQL, log query, status, usage metric, resource). */
  params: ColumnType<Record<string, unknown>, string, string>;
  comparator: AlertComparator;
  threshold: number;
  window_seconds: number;
  for_seconds: number;
  severity: AlertSeverity;
  labels: ColumnType<Record<string, string>, string, string>;
  runbook_url: string | null;
  channel_ids: ColumnType<string[], string, string>;
  enabled: Generated<boolean>;
  state: Generated<AlertState>;
  state_since: Date | null;
  last_value: number | null;
  last_evaluated_at: Date | null;
  last_error: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface AlertChannelsTable {
  channel_id: Generated<string>;
  project_id: string;
  name: string;
  kind: AlertChannelKind;
  /** Email address, webhook URL or Alertmanager base URL; null for in-app. */
  target: string | null;
  /** A webhook's HMAC key: read only by the delivery code, never shown after creation. */
  signing_secret: string | null;
  created_at: Date;
}

export interface AlertEventsTable {
  event_id: Generated<number>;
  rule_id: string;
  project_id: string;
  state: 'pending' | 'firing' | 'resolved';
  value: number | null;
  silenced: Generated<boolean>;
  at: Date;
}

export interface AlertDeliveriesTable {
  delivery_id: Generated<string>;
  event_id: number;
  channel_id: string;
  project_id: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Generated<number>;
  next_attempt_at: Date;
  response_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface AlertSilencesTable {
  silence_id: Generated<string>;
  project_id: string;
  rule_id: string | null;
  comment: string;
  created_by: string | null;
  starts_at: Date;
  ends_at: Date;
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
  'ktrlplane.subscriptions': SubscriptionsTable;
  'ktrlplane.invoices': InvoicesTable;
  'ktrlplane.stripe_events': StripeEventsTable;
  'ktrlplane.job_runs': JobRunsTable;
  'ktrlplane.local_credentials': LocalCredentialsTable;
  'ktrlplane.sessions': SessionsTable;
  'ktrlplane.api_tokens': ApiTokensTable;
  'ktrlplane.invitations': InvitationsTable;
  'ktrlplane.mail_outbox': MailOutboxTable;
  'ktrlplane.audit_events': AuditEventsTable;
  'ktrlplane.rate_limits': RateLimitsTable;
  'ktrlplane.login_throttle': LoginThrottleTable;
  'ktrlplane.oidc_logins': OidcLoginsTable;
  'ktrlplane.email_verifications': EmailVerificationsTable;
  'ktrlplane.user_identities': UserIdentitiesTable;
  'ktrlplane.idempotency_keys': IdempotencyKeysTable;
  'ktrlplane.resource_types': ResourceTypesTable;
  'ktrlplane.resource_drafts': ResourceDraftsTable;
  'ktrlplane.resource_deployments': ResourceDeploymentsTable;
  'ktrlplane.resource_health_checks': ResourceHealthChecksTable;
  'ktrlplane.notifications': NotificationsTable;
  'ktrlplane.usage_events': UsageEventsTable;
  'ktrlplane.resource_usage_changes': ResourceUsageChangesTable;
  'ktrlplane.resource_type_meters': ResourceTypeMetersTable;
  'ktrlplane.api_usage_minutes': ApiUsageMinutesTable;
  'ktrlplane.usage_dirty_hours': UsageDirtyHoursTable;
  'ktrlplane.usage_minutely': UsageMinutelyTable;
  'ktrlplane.usage_hourly': UsageHourlyTable;
  'ktrlplane.usage_rollup_state': UsageRollupStateTable;
  'ktrlplane.usage_meter_reports': UsageMeterReportsTable;
  'ktrlplane.usage_reconciliations': UsageReconciliationsTable;
  'ktrlplane.ingest_tokens': IngestTokensTable;
  'ktrlplane.logs': LogsTable;
  'ktrlplane.saved_log_searches': SavedLogSearchesTable;
  'ktrlplane.alert_rules': AlertRulesTable;
  'ktrlplane.alert_channels': AlertChannelsTable;
  'ktrlplane.alert_events': AlertEventsTable;
  'ktrlplane.alert_deliveries': AlertDeliveriesTable;
  'ktrlplane.alert_silences': AlertSilencesTable;
}

export type User = Selectable<UsersTable>;
export type Organization = Selectable<OrganizationsTable>;
export type Project = Selectable<ProjectsTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type Invitation = Selectable<InvitationsTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
export type RoleAssignment = Selectable<RoleAssignmentsTable>;
export type Role = Selectable<RolesTable>;

export type Resource = Selectable<ResourcesTable>;
export type NewResource = Insertable<ResourcesTable>;
export type ResourceUpdate = Updateable<ResourcesTable>;
export type JobRun = Selectable<JobRunsTable>;
