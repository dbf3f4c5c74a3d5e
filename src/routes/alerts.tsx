import { type Context, Hono } from 'hono';
import {
  alertChannelNameTaken,
  deleteAlertChannel,
  deleteAlertRule,
  expireAlertSilence,
  getAlertChannel,
  getAlertRule,
  insertAlertChannel,
  insertAlertSilence,
  listActiveSilences,
  listAlertChannels,
  listAlertDeliveries,
  listAlertEvents,
  listAlertRules,
} from '../db/alerts.repository.ts';
import { getProjectName } from '../db/projects.repository.ts';
import { listResourcesInProject } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { requireAccess } from '../lib/auth-middleware.ts';
import { randomToken } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, textFieldsOf, validate } from '../lib/forms.tsx';
import { readBody } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { runtimeResolver } from '../lib/outbound-request.ts';
import { outboundTargetRefusal } from '../lib/outbound-target.ts';
import { alertChannelInput, alertRuleInput, alertSilenceInput } from '../schemas/alerts.ts';
import { changeAlertRule, createAlertRule, inputOfRule, previewAlertRule } from '../services/alerts/rules.ts';
import { usageMetricChoices } from '../services/alerts/values.ts';
import { spendMailAllowance } from '../services/mail-allowance.ts';
import { prometheusConfigured } from '../services/metrics/prometheus.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import {
  AlertsPage,
  type AlertsView,
  ChannelPage,
  type ProjectHeading,
  RuleFormPage,
  type RuleFormView,
  RulePage,
  RulePreviewFragment,
} from '../views/pages/alerts-pages.tsx';

/**
 * Alerts of a project (also under /api/v1): rules at /projects/:projectId/alerts (list, create,
 * read, change, delete, and POST …/alerts/preview for the 24-hour preview), notification channels
 * at …/alert-channels (a webhook's signing secret is answered once, on creation), silences at
 * …/alert-silences. Reading needs `read` on the project, every write `write`; ids of another
 * project answer 404 (the repository confines every query to the authorized project).
 */
export const alertsRoutes = new Hono<AppEnv>();

const RULE_FIELDS = [
  'name',
  'kind',
  'metric',
  'query',
  'log_query',
  'status',
  'usage_metric',
  'resource_id',
  'comparator',
  'threshold',
  'window_minutes',
  'for_minutes',
  'severity',
  'labels',
  'runbook_url',
] as const;
const HISTORY_LENGTH = 50;

const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;
const canWrite = (c: Context<AppEnv>) => projectScope(c).actions.has('write');
const read = requireAccess('read', 'project', 'projectId');
const write = requireAccess('write', 'project', 'projectId');

async function heading(c: Context<AppEnv>): Promise<ProjectHeading> {
  const scope = projectScope(c);
  const name = await getProjectName(c.get('deps').db, scope);
  return { project_id: scope.id, org_id: scope.orgId, name, permissions: [...scope.actions] };
}

async function alertsView(c: Context<AppEnv>, extra: Partial<AlertsView> = {}): Promise<AlertsView> {
  const { db, clock } = c.get('deps');
  const scope = projectScope(c);
  const [project, rules, channels, silences, events] = await Promise.all([
    heading(c),
    listAlertRules(db, scope),
    listAlertChannels(db, scope),
    listActiveSilences(db, scope, clock.now()),
    listAlertEvents(db, scope, { limit: HISTORY_LENGTH }),
  ]);
  return { project, rules, channels, silences, events, canWrite: canWrite(c), ...extra };
}

alertsRoutes.get('/projects/:projectId/alerts', read, async (c) => {
  const view = await alertsView(c);
  if (representationFor(c) === 'json') {
    const { rules, channels, silences, events } = view;
    return c.json({ rules, channels, silences, events });
  }
  return respond(c, view, AlertsPage, { title: 'Alerts' });
});

async function ruleFormView(
  c: Context<AppEnv>,
  values: Record<string, string>,
  channelIds: string[],
  extra: Partial<RuleFormView> = {},
): Promise<RuleFormView> {
  const { db, config } = c.get('deps');
  const scope = projectScope(c);
  const [project, channels, resources] = await Promise.all([
    heading(c),
    listAlertChannels(db, scope),
    listResourcesInProject(db, scope),
  ]);
  return {
    project,
    channels,
    resources: resources.map((resource) => ({ resource_id: resource.resource_id, name: resource.name })),
    usageMetrics: usageMetricChoices(),
    values,
    channelIds,
    prometheus: prometheusConfigured(config),
    ...extra,
  };
}

/** Values typed so far (the kind switch re-renders the form with them, via the query string). */
function typedValues(input: Record<string, unknown>): {
  values: Record<string, string>;
  channelIds: string[];
} {
  const values = textFieldsOf(input, RULE_FIELDS) as Record<string, string>;
  const enabled = Array.isArray(input.enabled) ? input.enabled.at(-1) : input.enabled;
  values.enabled =
    enabled === undefined ? 'true' : String(enabled === 'on' || enabled === 'true' || enabled === true);
  const raw = input.channel_ids;
  const channelIds = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  return { values, channelIds };
}

function queryInput(c: Context<AppEnv>): Record<string, unknown> {
  const input: Record<string, unknown> = { ...c.req.query() };
  // Repeated fields (checkboxes, the enabled toggle's hidden twin) come as lists.
  for (const name of ['channel_ids', 'enabled']) {
    const list = c.req.queries(name);
    if (list) input[name] = list;
  }
  return input;
}

alertsRoutes.get('/projects/:projectId/alerts/new', write, async (c) => {
  const { values, channelIds } = typedValues(queryInput(c));
  const view = await ruleFormView(c, values, channelIds);
  return respond(c, view, RuleFormPage, { title: 'New alert rule' });
});

/** Runs a rule write; a browser sees the form again with what went wrong beside its fields. */
async function writeRule(
  c: Context<AppEnv>,
  body: unknown,
  save: (input: ReturnType<typeof alertRuleInput.parse>) => Promise<{ rule_id: string }>,
  status: 200 | 201,
  rule?: Awaited<ReturnType<typeof getAlertRule>>,
) {
  const { values, channelIds } = typedValues((body ?? {}) as Record<string, unknown>);
  const title = rule ? `Edit ${rule.name}` : 'New alert rule';
  const parsed = validate(alertRuleInput, body);
  if (!parsed.ok) {
    if (representationFor(c) === 'json') return invalidForm(c, parsed.errors, null, title);
    const view = await ruleFormView(c, values, channelIds, {
      errors: fieldErrors(parsed.errors),
      ...(rule ? { rule } : {}),
    });
    return invalidForm(c, parsed.errors, RuleFormPage(view), title);
  }
  let saved: { rule_id: string };
  try {
    saved = await save(parsed.data);
  } catch (error) {
    if (!(error instanceof AppError) || error.status >= 500 || representationFor(c) === 'json') throw error;
    const view = await ruleFormView(c, values, channelIds, {
      ...(error.errors.length > 0 ? { errors: fieldErrors(error.errors) } : { alert: error.detail }),
      ...(rule ? { rule } : {}),
    });
    return respond(c, view, RuleFormPage, { title, status: error.status });
  }
  if (representationFor(c) === 'json') {
    return c.json(await getAlertRule(c.get('deps').db, projectScope(c), saved.rule_id), status);
  }
  return redirectAfterWrite(c, `/projects/${projectScope(c).id}/alerts/${saved.rule_id}`);
}

alertsRoutes.post('/projects/:projectId/alerts', write, async (c) => {
  const { db, clock, config } = c.get('deps');
  const body = await readBody(c);
  const userId = c.get('principal')?.userId ?? null;
  return writeRule(
    c,
    body,
    (input) => createAlertRule(db, projectScope(c), config, input, userId, clock.now()),
    201,
  );
});

alertsRoutes.post('/projects/:projectId/alerts/preview', read, async (c) => {
  const { db, clock, config } = c.get('deps');
  const body = await readBody(c);
  const parsed = validate(alertRuleInput, { name: 'preview', ...(body as object) });
  if (!parsed.ok) {
    if (representationFor(c) === 'json') return invalidForm(c, parsed.errors, null, 'Preview');
    const problems = parsed.errors.map((error) => `${error.pointer.slice(1) || 'rule'}: ${error.message}`);
    return c.html(<RulePreviewFragment {...emptyPreview(clock.now())} problems={problems} />);
  }
  try {
    const preview = await previewAlertRule(db, projectScope(c), config, parsed.data, clock.now());
    if (representationFor(c) === 'json') return c.json(preview);
    return c.html(<RulePreviewFragment {...preview} />);
  } catch (error) {
    if (!(error instanceof AppError) || error.status !== 422 || representationFor(c) === 'json') throw error;
    const problems = error.errors.map((e) => `${e.pointer.slice(1)}: ${e.message}`);
    return c.html(<RulePreviewFragment {...emptyPreview(clock.now())} problems={problems} />);
  }
});

function emptyPreview(now: Date) {
  return {
    firings: 0,
    firing_minutes: 0,
    evaluations: 0,
    fired_at: [],
    max_value: null,
    had_data: false,
    from: now,
    to: now,
    error: null,
  };
}

alertsRoutes.get('/projects/:projectId/alerts/:ruleId', read, async (c) => {
  const { db } = c.get('deps');
  const scope = projectScope(c);
  const rule = await getAlertRule(db, scope, c.req.param('ruleId'));
  const [events, deliveries, channels] = await Promise.all([
    listAlertEvents(db, scope, { ruleId: rule.rule_id, limit: HISTORY_LENGTH }),
    listAlertDeliveries(db, scope, { ruleId: rule.rule_id, limit: HISTORY_LENGTH }),
    listAlertChannels(db, scope),
  ]);
  if (representationFor(c) === 'json') return c.json({ ...rule, events, deliveries });
  return respond(
    c,
    { project: await heading(c), rule, events, deliveries, channels, canWrite: canWrite(c) },
    RulePage,
    {
      title: rule.name,
    },
  );
});

alertsRoutes.get('/projects/:projectId/alerts/:ruleId/edit', write, async (c) => {
  const rule = await getAlertRule(c.get('deps').db, projectScope(c), c.req.param('ruleId'));
  const query = queryInput(c);
  // The kind switch sends what was typed; a plain visit starts from the stored rule.
  const { values, channelIds } = query.kind
    ? typedValues(query)
    : { values: inputOfRule(rule), channelIds: rule.channel_ids };
  return respond(c, await ruleFormView(c, values, channelIds, { rule }), RuleFormPage, {
    title: `Edit ${rule.name}`,
  });
});

for (const method of ['put', 'post'] as const) {
  // PUT for API clients, POST for the HTML form.
  alertsRoutes[method]('/projects/:projectId/alerts/:ruleId', write, async (c) => {
    const { db, clock, config } = c.get('deps');
    const scope = projectScope(c);
    const rule = await getAlertRule(db, scope, c.req.param('ruleId'));
    const body = await readBody(c);
    return writeRule(
      c,
      body,
      (input) => changeAlertRule(db, scope, config, rule.rule_id, input, clock.now()),
      200,
      rule,
    );
  });
}

alertsRoutes.delete('/projects/:projectId/alerts/:ruleId', write, async (c) => {
  const scope = projectScope(c);
  await deleteAlertRule(c.get('deps').db, scope, c.req.param('ruleId'));
  if (representationFor(c) === 'json') return c.body(null, 204);
  return redirectAfterWrite(c, `/projects/${scope.id}/alerts`);
});

// ---- channels ---------------------------------------------------------------------------------

alertsRoutes.get('/projects/:projectId/alert-channels', read, async (c) => {
  if (representationFor(c) === 'json')
    return c.json({ channels: await listAlertChannels(c.get('deps').db, projectScope(c)) });
  return redirectAfterWrite(c, `/projects/${projectScope(c).id}/alerts`);
});

alertsRoutes.post('/projects/:projectId/alert-channels', write, async (c) => {
  const { db, clock, config } = c.get('deps');
  const scope = projectScope(c);
  const body = await readBody(c);
  const values = textFieldsOf(body, ['name', 'kind', 'target']) as Record<string, string>;
  const parsed = validate(alertChannelInput, body);
  const again = async (extra: Partial<AlertsView>, status: 409 | 422) => {
    if (representationFor(c) === 'json') return null;
    return respond(c, await alertsView(c, extra), AlertsPage, { title: 'Alerts', status });
  };
  // A tenant's URL must not make ktrlplane call into its own network (checked again at delivery).
  const refusal =
    parsed.ok && (parsed.data.kind === 'webhook' || parsed.data.kind === 'alertmanager')
      ? await outboundTargetRefusal(
          parsed.data.target ?? '',
          config.OUTBOUND_PRIVATE_TARGETS,
          runtimeResolver(),
        )
      : null;
  const errors = parsed.ok
    ? refusal
      ? [{ pointer: '/target', message: `${refusal}; enter a public http(s) address` }]
      : []
    : parsed.errors;
  if (!parsed.ok || errors.length > 0) {
    if (representationFor(c) === 'json') return invalidForm(c, errors, null, 'Alerts');
    return (await again({ channelForm: { values, errors: fieldErrors(errors) } }, 422)) as Response;
  }
  if (await alertChannelNameTaken(db, scope, parsed.data.name)) {
    const detail = `A channel named "${parsed.data.name}" exists in this project; choose another name.`;
    if (representationFor(c) === 'json') throw new AppError(409, 'Conflict', detail);
    return (await again({ channelForm: { values, alert: detail } }, 409)) as Response;
  }
  if (parsed.data.kind === 'email') {
    // Each email channel is an address ktrlplane will mail: adding one counts against the
    // project's hourly mail allowance (services/mail-allowance.ts), as its alerts do.
    try {
      await spendMailAllowance(
        db,
        scope,
        config.MAILS_PER_PROJECT_PER_HOUR,
        clock.now(),
        'The email channel was not added',
      );
    } catch (error) {
      if (!(error instanceof AppError) || representationFor(c) === 'json') throw error;
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return respond(c, await alertsView(c, { channelForm: { values, alert: error.detail } }), AlertsPage, {
        title: 'Alerts',
        status: 429,
      });
    }
  }
  const signingSecret = parsed.data.kind === 'webhook' ? `whsec_${randomToken(24)}` : null;
  const channel = await insertAlertChannel(
    db,
    scope,
    {
      name: parsed.data.name,
      kind: parsed.data.kind,
      target: parsed.data.kind === 'in_app' ? null : (parsed.data.target ?? null),
      signing_secret: signingSecret,
    },
    clock.now(),
  );
  if (!signingSecret) {
    if (representationFor(c) === 'json') return c.json(channel, 201);
    return redirectAfterWrite(c, `/projects/${scope.id}/alerts`);
  }
  // The one answer that carries the secret: no cache may keep it.
  c.header('Cache-Control', 'no-store');
  if (representationFor(c) === 'json') return c.json({ ...channel, signing_secret: signingSecret }, 201);
  return respond(
    c,
    await alertsView(c, { createdSecret: { channel, signing_secret: signingSecret } }),
    AlertsPage,
    {
      title: 'Alerts',
      status: 201,
    },
  );
});

alertsRoutes.get('/projects/:projectId/alert-channels/:channelId', read, async (c) => {
  const { db } = c.get('deps');
  const scope = projectScope(c);
  const channel = await getAlertChannel(db, scope, c.req.param('channelId'));
  const deliveries = await listAlertDeliveries(db, scope, { channelId: channel.channel_id, limit: 100 });
  if (representationFor(c) === 'json') return c.json({ ...channel, deliveries });
  return respond(c, { project: await heading(c), channel, deliveries }, ChannelPage, { title: channel.name });
});

alertsRoutes.delete('/projects/:projectId/alert-channels/:channelId', write, async (c) => {
  const scope = projectScope(c);
  await deleteAlertChannel(c.get('deps').db, scope, c.req.param('channelId'));
  if (representationFor(c) === 'json') return c.body(null, 204);
  return redirectAfterWrite(c, `/projects/${scope.id}/alerts`);
});

// ---- silences ---------------------------------------------------------------------------------

alertsRoutes.get('/projects/:projectId/alert-silences', read, async (c) => {
  const { db, clock } = c.get('deps');
  if (representationFor(c) === 'json')
    return c.json({ silences: await listActiveSilences(db, projectScope(c), clock.now()) });
  return redirectAfterWrite(c, `/projects/${projectScope(c).id}/alerts`);
});

alertsRoutes.post('/projects/:projectId/alert-silences', write, async (c) => {
  const { db, clock } = c.get('deps');
  const scope = projectScope(c);
  const body = await readBody(c);
  const parsed = validate(alertSilenceInput, body);
  if (!parsed.ok) {
    if (representationFor(c) === 'json') return invalidForm(c, parsed.errors, null, 'Alerts');
    const values = textFieldsOf(body, ['rule_id', 'comment', 'duration_minutes']) as Record<string, string>;
    return respond(
      c,
      await alertsView(c, { silenceForm: { values, errors: fieldErrors(parsed.errors) } }),
      AlertsPage,
      {
        title: 'Alerts',
        status: 422,
      },
    );
  }
  // A silence of one rule names a rule of this project (404 otherwise, like any foreign id).
  if (parsed.data.rule_id) await getAlertRule(db, scope, parsed.data.rule_id);
  const now = clock.now();
  const silence = await insertAlertSilence(db, scope, {
    rule_id: parsed.data.rule_id ?? null,
    comment: parsed.data.comment,
    created_by: c.get('principal')?.userId ?? null,
    starts_at: now,
    ends_at: new Date(now.getTime() + parsed.data.duration_minutes * 60_000),
  });
  if (representationFor(c) === 'json') return c.json(silence, 201);
  return redirectAfterWrite(c, `/projects/${scope.id}/alerts`);
});

alertsRoutes.delete('/projects/:projectId/alert-silences/:silenceId', write, async (c) => {
  const { db, clock } = c.get('deps');
  const scope = projectScope(c);
  const silence = await expireAlertSilence(db, scope, c.req.param('silenceId'), clock.now());
  if (representationFor(c) === 'json') return c.json(silence);
  return redirectAfterWrite(c, `/projects/${scope.id}/alerts`);
});
