import type { Kysely } from 'kysely';
import type { Config } from '../../src/config.ts';
import { insertAlertChannel, listAlertChannels, listAlertRules } from '../../src/db/alerts.repository.ts';
import type { IngestCredential } from '../../src/db/ingest-tokens.repository.ts';
import type { Database } from '../../src/db/types.ts';
import { findUserByEmail, markEmailVerified } from '../../src/db/users.repository.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { alertRuleInput } from '../../src/schemas/alerts.ts';
import { getResourceType } from '../../src/schemas/resource-types/registry.ts';
import { signUp } from '../../src/services/accounts.ts';
import { createAlertRule } from '../../src/services/alerts/rules.ts';
import type { AuditActor } from '../../src/services/audit.ts';
import type { BillingPolicy } from '../../src/services/billing/policy.ts';
import { undeployResource } from '../../src/services/deployments.ts';
import { createIngestToken } from '../../src/services/logs/ingest-tokens.ts';
import { authorize } from '../../src/services/rbac.ts';
import { createResource } from '../../src/services/resources.ts';
import { createOrganization, createProject } from '../../src/services/tenancy.ts';

/**
 * Demo data for `npm run demo`: a user whose credentials the demo prints, an organization, a
 * project, and resources of each type that the operator simulator takes through different states
 * (healthy, failing, undeployed). Idempotent: a second run finds the user and changes nothing.
 */
export const DEMO_EMAIL = 'demo@ktrlplane.local';
export const DEMO_PASSWORD = 'demo-password-1234';
/** The resource the simulator makes fail, to show a Degraded deployment. */
export const DEMO_DEGRADED = 'flow-broken';

const DEMO_ACTOR: AuditActor = {
  actorType: 'system',
  actorId: 'demo',
  actorLabel: 'npm run demo',
  requestId: null,
  ip: null,
  userAgent: null,
};

function presetSettings(type: string, presetId: string): Record<string, unknown> {
  const preset = getResourceType(type)?.presets.find((p) => p.id === presetId);
  if (!preset) throw new Error(`demo: no preset ${presetId} of ${type}`);
  return preset.settings as Record<string, unknown>;
}

export async function seedDemo(deps: {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  policy: BillingPolicy;
}): Promise<{ created: boolean }> {
  const { db, clock, policy } = deps;
  if (await findUserByEmail(db, DEMO_EMAIL)) return { created: false };
  await signUp(
    { ...deps, runtime: 'node', config: { ...deps.config, SIGNUP_MODE: 'open' } },
    { email: DEMO_EMAIL, name: 'Demo User', password: DEMO_PASSWORD },
    DEMO_ACTOR,
  );
  const signedUp = await findUserByEmail(db, DEMO_EMAIL);
  if (!signedUp) throw new Error('demo: the demo user was not created');
  // The demo address receives no mail; it counts as verified like an account that clicked its link.
  const user = await markEmailVerified(db, signedUp.user_id, clock.now());
  const principal = {
    userId: user.user_id,
    email: DEMO_EMAIL,
    name: 'Demo User',
    kind: 'user' as const,
    isPlatformAdmin: false,
    via: 'session' as const,
  };
  await createOrganization(db, principal, { name: 'Demo Org', org_id: 'demo' }, DEMO_ACTOR, clock.now());
  const org = await authorize(db, principal, 'write', 'organization', 'demo', clock.now());
  await createProject(
    db,
    org,
    { userId: user.user_id },
    { name: 'Playground', project_id: 'playground', description: 'Resources the operator simulator runs' },
    DEMO_ACTOR,
    clock.now(),
    policy,
  );
  const project = await authorize(db, principal, 'write', 'project', 'playground', clock.now());
  const resources = [
    { resource_id: 'twin-graph', name: 'Twin graph', type: 'Konnektr.Graph', preset: 'production-ha' },
    { resource_id: 'flow-small', name: 'Small flow', type: 'Konnektr.Flows', preset: 'small' },
    { resource_id: DEMO_DEGRADED, name: 'Broken flow', type: 'Konnektr.Flows', preset: 'small' },
    { resource_id: 'flow-parked', name: 'Parked flow', type: 'Konnektr.Flows', preset: 'small' },
  ];
  for (const resource of resources) {
    const settings = presetSettings(resource.type, resource.preset);
    const type = getResourceType(resource.type);
    const sku = type?.presets.find((p) => p.id === resource.preset)?.sku ?? 'free';
    await createResource(
      db,
      project,
      {
        resource_id: resource.resource_id,
        name: resource.name,
        type: resource.type,
        sku,
        settings_json: settings,
      },
      DEMO_ACTOR,
      clock.now(),
      { policy },
    );
  }
  const parked = await authorize(db, principal, 'write', 'resource', 'flow-parked', clock.now());
  await undeployResource(db, parked, DEMO_ACTOR, clock.now());
  return { created: true };
}

const DEMO_INGEST_TOKEN_NAME = 'demo data plane';
const DEMO_RULE_NAME = 'Broken flow logs errors';

/**
 * The observability part of the demo, made on every start when missing (so a demo database from
 * before it existed gets it too): an ingest token of the demo project for the demo data plane
 * (scripts/demo/data-plane.ts), an in-app alert channel, and a rule that fires when the Degraded
 * demo flow logs more than 3 errors in 5 minutes. Returns what the data plane ships lines as.
 */
export async function ensureDemoObservability(deps: {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
}): Promise<IngestCredential> {
  const { db, config, clock } = deps;
  const user = await findUserByEmail(db, DEMO_EMAIL);
  if (!user) throw new Error('demo: seed the demo user first');
  const principal = {
    userId: user.user_id,
    email: DEMO_EMAIL,
    name: 'Demo User',
    kind: 'user' as const,
    isPlatformAdmin: false,
    via: 'session' as const,
  };
  const project = await authorize(db, principal, 'write', 'project', 'playground', clock.now());
  const existing = await db
    .selectFrom('ktrlplane.ingest_tokens')
    .select(['token_id', 'project_id'])
    .where('project_id', '=', project.id)
    .where('name', '=', DEMO_INGEST_TOKEN_NAME)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const tokenId =
    existing?.token_id ??
    (await createIngestToken(db, project, { name: DEMO_INGEST_TOKEN_NAME }, DEMO_ACTOR, clock.now()))
      .token_id;

  let channel = (await listAlertChannels(db, project)).find((c) => c.kind === 'in_app');
  channel ??= await insertAlertChannel(
    db,
    project,
    { name: 'In-app', kind: 'in_app', target: null, signing_secret: null },
    clock.now(),
  );
  if (!(await listAlertRules(db, project)).some((rule) => rule.name === DEMO_RULE_NAME)) {
    await createAlertRule(
      db,
      project,
      config,
      alertRuleInput.parse({
        name: DEMO_RULE_NAME,
        kind: 'log',
        log_query: 'level:error',
        resource_id: DEMO_DEGRADED,
        comparator: '>',
        threshold: 3,
        window_minutes: 5,
        for_minutes: 0,
        severity: 'warning',
        channel_ids: [channel.channel_id],
      }),
      user.user_id,
      clock.now(),
    );
  }
  return { token_id: tokenId, project_id: project.id, org_id: project.orgId };
}
