import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertLogLines } from '../../src/db/logs.repository.ts';
import { deliverAlertNotificationsJob } from '../../src/jobs/deliver-alert-notifications.ts';
import { evaluateAlertsJob } from '../../src/jobs/evaluate-alerts.ts';
import { housekeepingJob } from '../../src/jobs/housekeeping.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { isPrivateAddress, outboundTargetRefusal } from '../../src/lib/outbound-target.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { ensureLogPartitions, forgetLogPartitions } from '../../src/services/logs/partitions.ts';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

describe('alerts', () => {
  const t = useTestApp();
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });
  let receiver: Server;
  let receiverUrl = '';
  const received: Received[] = [];
  /** Status codes the receiver answers with, in turn (then 200). */
  const answers: number[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.statusCode = answers.shift() ?? 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  async function setup() {
    received.length = 0;
    answers.length = 0;
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'db1');
    // Tests write db1's history themselves; drop the event the insert trigger stamped with the wall clock.
    await t.database.db.deleteFrom('ktrlplane.resource_deployments').execute();
    const token = await apiTokenFor(t, ada);
    const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      t.app.request(`/api/v1/projects/web${path}`, {
        ...init,
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
        headers: { ...bearer(token), 'Content-Type': 'application/json', ...(init.headers ?? {}) },
      });
    return { ada, api };
  }

  /** A status change of db1 in the history, `minutesAgo` before the test clock. */
  async function statusAt(status: string, minutesAgo: number) {
    await t.database.db
      .insertInto('ktrlplane.resource_deployments')
      .values({
        resource_id: 'db1',
        project_id: 'web',
        status,
        generation: 1,
        deployment_state: 'deployed',
        at: new Date(t.clock.now().getTime() - minutesAgo * 60_000),
      } as never)
      .execute();
  }

  const degradedRule = (channelIds: string[]) => ({
    name: 'db1 degraded',
    kind: 'status',
    status: 'Degraded',
    resource_id: 'db1',
    comparator: '>',
    threshold: 0,
    window_minutes: 5,
    for_minutes: 0,
    severity: 'critical',
    labels: { team: 'data' },
    runbook_url: 'https://runbooks.example.com/degraded',
    channel_ids: channelIds,
  });

  it('previews, fires, notifies a signed webhook (with a retry), resolves, and logs every delivery', async () => {
    const { api } = await setup();
    // Degraded twice in the last 24 hours for longer than 5 minutes, and once for only 2 minutes.
    await statusAt('Healthy', 600);
    await statusAt('Degraded', 300);
    await statusAt('Healthy', 280);
    await statusAt('Degraded', 200);
    await statusAt('Healthy', 198);
    await statusAt('Degraded', 100);
    await statusAt('Healthy', 60);

    const channel = await api('/alert-channels', {
      method: 'POST',
      json: { name: 'ops hook', kind: 'webhook', target: receiverUrl },
    });
    expect(channel.status).toBe(201);
    const created = (await channel.json()) as { channel_id: string; signing_secret: string };
    expect(created.signing_secret).toMatch(/^whsec_/);
    // Shown once: the channel's own page and the list never carry it.
    const listed = await (await api('/alert-channels')).text();
    expect(listed).not.toContain(created.signing_secret);
    expect(await (await api(`/alert-channels/${created.channel_id}`)).text()).not.toContain(
      created.signing_secret,
    );

    const preview = await api('/alerts/preview', { method: 'POST', json: degradedRule([]) });
    expect(preview.status).toBe(200);
    expect(await preview.json()).toMatchObject({
      firings: 2,
      evaluations: 1440,
      had_data: true,
      error: null,
    });

    const rule = await api('/alerts', { method: 'POST', json: degradedRule([created.channel_id]) });
    expect(rule.status).toBe(201);
    const { rule_id: ruleId } = (await rule.json()) as { rule_id: string };

    // Healthy now: evaluation keeps it inactive.
    expect((await runJob(jobDeps(), evaluateAlertsJob, 'test')).outcome).toBe('succeeded');
    expect(await (await api(`/alerts/${ruleId}`)).json()).toMatchObject({ state: 'inactive', last_value: 0 });

    // Degraded for 6 minutes now: fires at once (for = 0).
    await statusAt('Degraded', 6);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    const firing = (await (await api(`/alerts/${ruleId}`)).json()) as {
      state: string;
      events: Array<{ state: string }>;
      deliveries: unknown[];
    };
    expect(firing.state).toBe('firing');
    expect(firing.events.map((event) => event.state)).toEqual(['firing']);
    expect(firing.deliveries).toHaveLength(1);

    // First attempt answers 500: retried after 30 s with the same delivery id.
    answers.push(500);
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    expect(received).toHaveLength(1);
    const [failedDelivery] = (
      (await (await api(`/alert-channels/${created.channel_id}`)).json()) as {
        deliveries: Array<Record<string, unknown>>;
      }
    ).deliveries;
    expect(failedDelivery).toMatchObject({ status: 'pending', attempts: 1, response_status: 500 });
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    expect(received).toHaveLength(1);
    t.clock.advance(31_000);
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    expect(received).toHaveLength(2);
    const [first, second] = received as [Received, Received];
    expect(second.headers['x-ktrlplane-delivery']).toBe(first.headers['x-ktrlplane-delivery']);

    // The signature: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<body>").
    const signature = String(second.headers['x-ktrlplane-signature']);
    const [, timestamp, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
    expect(v1).toBe(
      createHmac('sha256', created.signing_secret).update(`${timestamp}.${second.body}`).digest('hex'),
    );
    expect(JSON.parse(second.body)).toMatchObject({
      type: 'alert.firing',
      status: 'firing',
      project_id: 'web',
      organization_id: 'acme',
      rule: {
        rule_id: ruleId,
        name: 'db1 degraded',
        severity: 'critical',
        labels: { team: 'data' },
        runbook_url: 'https://runbooks.example.com/degraded',
      },
    });

    // Healthy again: resolved, and the receiver hears about it.
    await statusAt('Healthy', 0);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    expect(received).toHaveLength(3);
    expect(JSON.parse((received[2] as Received).body)).toMatchObject({
      type: 'alert.resolved',
      status: 'resolved',
    });
    const resolved = (await (await api(`/alerts/${ruleId}`)).json()) as {
      state: string;
      events: Array<{ state: string }>;
      deliveries: Array<{ status: string; attempts: number }>;
    };
    expect(resolved.state).toBe('inactive');
    expect(resolved.events.map((event) => event.state)).toEqual(['resolved', 'firing']);
    expect(resolved.deliveries.map((d) => [d.status, d.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 2],
    ]);

    // The pages show the same: the rule with its history and delivery log.
    const page = await t.app.request(`/projects/web/alerts/${ruleId}`, {
      headers: as(await signUpUserless()),
    });
    expect(page.status).toBe(404);
  });

  /** Someone signed in who is not a member: the rule page is a 404 to them. */
  async function signUpUserless() {
    return signUpUser(t, `stranger-${Math.random().toString(36).slice(2)}@example.com`);
  }

  it('waits for the `for` duration (pending) and gives up a failing delivery after its attempts', async () => {
    const { api } = await setup();
    const channel = (await (
      await api('/alert-channels', {
        method: 'POST',
        json: { name: 'dead', kind: 'webhook', target: 'http://127.0.0.1:9/nothing' },
      })
    ).json()) as { channel_id: string };
    await statusAt('Degraded', 10);
    const rule = (await (
      await api('/alerts', {
        method: 'POST',
        json: { ...degradedRule([channel.channel_id]), for_minutes: 1 },
      })
    ).json()) as { rule_id: string };
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    expect(await (await api(`/alerts/${rule.rule_id}`)).json()).toMatchObject({ state: 'pending' });
    t.clock.advance(30_000);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    expect(await (await api(`/alerts/${rule.rule_id}`)).json()).toMatchObject({ state: 'pending' });
    t.clock.advance(30_000);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    expect(await (await api(`/alerts/${rule.rule_id}`)).json()).toMatchObject({ state: 'firing' });
    for (let attempt = 0; attempt < 8; attempt++) {
      await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
      t.clock.advance(3_600_000);
    }
    const log = (await (await api(`/alert-channels/${channel.channel_id}`)).json()) as {
      deliveries: Array<Record<string, unknown>>;
    };
    expect(log.deliveries[0]).toMatchObject({ status: 'failed', attempts: 8 });
    expect(String(log.deliveries[0]?.last_error)).toMatch(/could not connect/);
  });

  it('mails an email channel through the outbox, and a silence holds notifications back', async () => {
    const { api } = await setup();
    const mail = (await (
      await api('/alert-channels', {
        method: 'POST',
        json: { name: 'on-call', kind: 'email', target: 'oncall@example.com' },
      })
    ).json()) as { channel_id: string };
    await statusAt('Degraded', 10);
    const rule = (await (
      await api('/alerts', { method: 'POST', json: degradedRule([mail.channel_id]) })
    ).json()) as { rule_id: string };
    const silence = await api('/alert-silences', {
      method: 'POST',
      json: { rule_id: rule.rule_id, comment: 'maintenance', duration_minutes: 30 },
    });
    expect(silence.status).toBe(201);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    const silenced = (await (await api(`/alerts/${rule.rule_id}`)).json()) as {
      state: string;
      events: Array<{ silenced: boolean }>;
      deliveries: unknown[];
    };
    expect(silenced).toMatchObject({ state: 'firing', deliveries: [] });
    expect(silenced.events[0]?.silenced).toBe(true);

    // The silence ends; the resolve is mailed.
    const { silence_id: silenceId } = (await silence.json()) as { silence_id: string };
    expect((await api(`/alert-silences/${silenceId}`, { method: 'DELETE' })).status).toBe(200);
    await statusAt('Healthy', 0);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    const outbox = await t.database.db.selectFrom('ktrlplane.mail_outbox').selectAll().execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      to_address: 'oncall@example.com',
      subject: '[RESOLVED] db1 degraded (critical)',
    });
    expect(outbox[0]?.body_text).toContain(`/projects/web/alerts/${rule.rule_id}`);
  });

  it('answers 422 with pointers for bad rules, 409 for a taken name, 403 to a viewer', async () => {
    const { api } = await setup();
    const bad = await api('/alerts', {
      method: 'POST',
      json: { name: '', kind: 'metric', threshold: 'x', window_minutes: 0 },
    });
    expect(bad.status).toBe(422);
    const problem = (await bad.json()) as { errors: Array<{ pointer: string }> };
    expect(problem.errors.map((e) => e.pointer).sort()).toEqual(['/name', '/threshold', '/window_minutes']);

    const promql = await api('/alerts', {
      method: 'POST',
      json: { ...degradedRule([]), kind: 'promql', query: 'up' },
    });
    expect(promql.status).toBe(422);
    expect(await promql.json()).toMatchObject({
      errors: [{ pointer: '/query', message: expect.stringMatching(/PROMETHEUS_URL/) }],
    });

    const foreign = await api('/alerts', {
      method: 'POST',
      json: { ...degradedRule(['no-such-channel']), resource_id: 'not-mine' },
    });
    expect(foreign.status).toBe(422);
    expect(
      ((await foreign.json()) as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer).sort(),
    ).toEqual(['/channel_ids', '/resource_id']);

    expect((await api('/alerts', { method: 'POST', json: degradedRule([]) })).status).toBe(201);
    expect((await api('/alerts', { method: 'POST', json: degradedRule([]) })).status).toBe(409);

    const viewer = await signUpUser(t, 'vic@example.com');
    await grant(t, viewer, ROLE.viewer, 'project', 'web');
    expect((await t.app.request('/projects/web/alerts', { headers: asJson(viewer) })).status).toBe(200);
    const denied = await t.app.request('/projects/web/alerts', {
      method: 'POST',
      headers: asJson(viewer, { 'Content-Type': 'application/json' }),
      body: JSON.stringify(degradedRule([])),
    });
    expect(denied.status).toBe(403);
  });

  it('changes a rule (PUT restarts its evaluation), offers the stored values to edit, deletes it', async () => {
    const { ada, api } = await setup();
    await statusAt('Degraded', 10);
    const { rule_id: ruleId } = (await (
      await api('/alerts', { method: 'POST', json: degradedRule([]) })
    ).json()) as { rule_id: string };
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    expect(await (await api(`/alerts/${ruleId}`)).json()).toMatchObject({ state: 'firing' });

    const changed = await api(`/alerts/${ruleId}`, {
      method: 'PUT',
      json: { ...degradedRule([]), threshold: 3, severity: 'info' },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ state: 'inactive', threshold: 3, severity: 'info' });
    const invalid = await api(`/alerts/${ruleId}`, {
      method: 'PUT',
      json: { ...degradedRule([]), comparator: '!=' },
    });
    expect(invalid.status).toBe(422);

    const edit = await t.app.request(`/projects/web/alerts/${ruleId}/edit`, { headers: as(ada) });
    const html = await edit.text();
    expect(html).toContain('value="db1 degraded"');
    expect(html).toContain('value="team=data"');
    expect(html).toContain(`action="/projects/web/alerts/${ruleId}"`);

    expect((await api(`/alerts/${ruleId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/alerts/${ruleId}`)).status).toBe(404);
  });

  it('re-sends a firing alert to Alertmanager every 2 minutes while it lasts', async () => {
    const { api } = await setup();
    const am = (await (
      await api('/alert-channels', {
        method: 'POST',
        json: { name: 'am', kind: 'alertmanager', target: receiverUrl.replace('/hook', '') },
      })
    ).json()) as { channel_id: string };
    await statusAt('Degraded', 10);
    await api('/alerts', { method: 'POST', json: degradedRule([am.channel_id]) });
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    t.clock.advance(60_000);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    expect(received).toHaveLength(1);
    t.clock.advance(61_000);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    await runJob(jobDeps(), deliverAlertNotificationsJob, 'test');
    expect(received).toHaveLength(2);
    const [alert] = JSON.parse((received[1] as Received).body) as Array<{
      labels: Record<string, string>;
      startsAt: string;
      endsAt: string;
    }>;
    expect(alert?.labels).toMatchObject({
      alertname: 'db1 degraded',
      severity: 'critical',
      team: 'data',
      project_id: 'web',
      source: 'ktrlplane',
    });
    expect(new Date(alert?.endsAt ?? 0).getTime()).toBeGreaterThan(t.clock.now().getTime());
  });

  it('housekeeping drops alert history, delivery logs and silences after 90 days, keeping the rule', async () => {
    const { api } = await setup();
    const mail = (await (
      await api('/alert-channels', {
        method: 'POST',
        json: { name: 'mail', kind: 'email', target: 'a@example.com' },
      })
    ).json()) as { channel_id: string };
    await statusAt('Degraded', 10);
    const { rule_id: ruleId } = (await (
      await api('/alerts', { method: 'POST', json: degradedRule([mail.channel_id]) })
    ).json()) as { rule_id: string };
    await api('/alert-silences', { method: 'POST', json: { comment: 'later', duration_minutes: 1 } });
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    const before = (await (await api(`/alerts/${ruleId}`)).json()) as {
      events: unknown[];
      deliveries: unknown[];
    };
    expect([before.events.length, before.deliveries.length]).toEqual([1, 0]);
    t.clock.advance(91 * 24 * 3_600_000);
    const outcome = await runJob(jobDeps(), housekeepingJob, 'test');
    expect(outcome.detail).toContain('1 alert events');
    expect(await (await api(`/alerts/${ruleId}`)).json()).toMatchObject({
      state: 'firing',
      events: [],
      deliveries: [],
    });
    expect(await t.database.db.selectFrom('ktrlplane.alert_silences').selectAll().execute()).toEqual([]);
  });

  it('serves the pages: the list, the form with its preview fragment, a form re-render on errors', async () => {
    const { ada, api } = await setup();
    await api('/alerts', { method: 'POST', json: degradedRule([]) });
    const list = await t.app.request('/projects/web/alerts', { headers: as(ada) });
    expect(list.status).toBe(200);
    const html = await list.text();
    expect(html).toContain('db1 degraded');
    expect(html).toContain('New rule');

    const form = await t.app.request('/projects/web/alerts/new?kind=status', { headers: as(ada) });
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('hx-post="/projects/web/alerts/preview"');

    const fragment = await t.app.request('/projects/web/alerts/preview', {
      method: 'POST',
      headers: as(ada, { 'HX-Request': 'true', 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: new URLSearchParams({
        kind: 'status',
        status: 'Degraded',
        comparator: '>',
        threshold: '0',
        window_minutes: '5',
        for_minutes: '0',
      }).toString(),
    });
    expect(fragment.status).toBe(200);
    expect(await fragment.text()).toContain('Would have fired 0 times');

    const invalid = await t.app.request('/projects/web/alerts', {
      method: 'POST',
      headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: new URLSearchParams({ name: 'x', kind: 'metric', threshold: 'nope' }).toString(),
    });
    expect(invalid.status).toBe(422);
    expect(await invalid.text()).toContain('enter a number');

    const saved = await t.app.request('/projects/web/alerts', {
      method: 'POST',
      headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: new URLSearchParams({
        name: 'errors',
        kind: 'metric',
        metric: 'resources_unhealthy',
        threshold: '1',
        window_minutes: '5',
      }).toString(),
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('Location')).toMatch(/^\/projects\/web\/alerts\/[0-9a-f-]+$/);

    // The enabled toggle: a hidden "false" and the ticked checkbox's "true"; unticked, only "false".
    const toggle = (enabled: string[]) => {
      const body = new URLSearchParams({
        name: `t${enabled.length}`,
        kind: 'metric',
        metric: 'api_requests',
        threshold: '1',
      });
      for (const value of enabled) body.append('enabled', value);
      return t.app.request('/projects/web/alerts', {
        method: 'POST',
        headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded' }),
        body: body.toString(),
      });
    };
    expect((await toggle(['false'])).status).toBe(303);
    expect((await toggle(['false', 'true'])).status).toBe(303);
    const rules = (await (await api('/alerts')).json()) as {
      rules: Array<{ name: string; enabled: boolean }>;
    };
    expect(rules.rules.filter((r) => r.name.startsWith('t')).map((r) => [r.name, r.enabled])).toEqual([
      ['t1', false],
      ['t2', true],
    ]);
    const disabledPage = await (await t.app.request('/projects/web/alerts', { headers: as(ada) })).text();
    expect(disabledPage).toContain('disabled');
  });
});

describe('alert rules on logs, API traffic and usage', () => {
  const t = useTestApp();
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'db1');
    // Tests write db1's history themselves; drop the event the insert trigger stamped with the wall clock.
    await t.database.db.deleteFrom('ktrlplane.resource_deployments').execute();
    const token = await apiTokenFor(t, ada);
    const api = (path: string, json?: unknown) =>
      t.app.request(`/api/v1/projects/web${path}`, {
        method: json === undefined ? 'GET' : 'POST',
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
        headers: { ...bearer(token), 'Content-Type': 'application/json' },
      });
    return { ada, api };
  }

  async function logLines(count: number, level: 'error' | 'info', minutesAgo: number) {
    const ts = new Date(t.clock.now().getTime() - minutesAgo * 60_000);
    const lines = Array.from({ length: count }, (_, index) => ({
      retention_days: 7,
      ts,
      received_at: ts,
      project_id: 'web',
      resource_id: 'db1',
      level,
      message: `line ${index}`,
      attributes: {},
      source: 'otlp' as const,
    }));
    forgetLogPartitions(t.database.db);
    await ensureLogPartitions(t.database.db, lines);
    await insertLogLines(t.database.db, lines);
  }

  it('fires a log pattern rule (level:error more than N in M minutes) and notifies project members in-app', async () => {
    const { ada, api } = await setup();
    const bad = await api('/alerts', { name: 'x', kind: 'log', log_query: 'level:(', threshold: 1 });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ errors: [{ pointer: '/log_query' }] });

    // Three bursts of errors in the last day; only two exceed 5 in 10 minutes.
    await logLines(8, 'error', 600);
    await logLines(3, 'error', 400);
    await logLines(6, 'error', 200);
    await logLines(50, 'info', 100);
    const channel = (await (await api('/alert-channels', { name: 'bell', kind: 'in_app' })).json()) as {
      channel_id: string;
    };
    const rule = {
      name: 'errors',
      kind: 'log',
      log_query: 'level:error',
      comparator: '>',
      threshold: 5,
      window_minutes: 10,
      channel_ids: [channel.channel_id],
    };
    expect(await (await api('/alerts/preview', rule)).json()).toMatchObject({ firings: 2, max_value: 8 });
    const { rule_id: ruleId } = (await (await api('/alerts', rule)).json()) as { rule_id: string };

    await logLines(7, 'error', 1);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    expect(await (await api(`/alerts/${ruleId}`)).json()).toMatchObject({ state: 'firing', last_value: 7 });
    const bell = (await (await t.app.request('/notifications', { headers: asJson(ada) })).json()) as {
      notifications: Array<{ title: string; link: string }>;
    };
    expect(bell.notifications[0]).toMatchObject({
      title: '[FIRING] errors (warning)',
      link: `/projects/web/alerts/${ruleId}`,
    });

    t.clock.advance(11 * 60_000);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    expect(await (await api(`/alerts/${ruleId}`)).json()).toMatchObject({ state: 'inactive', last_value: 0 });
  });

  it('watches the API error rate and p95 latency from api_usage_minutes', async () => {
    const { api } = await setup();
    const minute = (minutesAgo: number) =>
      new Date(Math.floor(t.clock.now().getTime() / 60_000) * 60_000 - minutesAgo * 60_000);
    const buckets = (slow: number, fast: number) => [fast, 0, 0, 0, 0, 0, 0, 0, slow, 0, 0, 0];
    for (const [minutesAgo, requests, errors, slow] of [
      [30, 100, 0, 0],
      [2, 50, 20, 10],
      [1, 50, 10, 10],
    ] as const) {
      await t.database.db
        .insertInto('ktrlplane.api_usage_minutes')
        .values({
          org_id: 'acme',
          project_id: 'web',
          token_id: '',
          minute: minute(minutesAgo),
          requests,
          client_errors: 0,
          server_errors: errors,
          duration_ms_sum: 0,
          duration_buckets: buckets(slow, requests - slow),
        } as never)
        .execute();
    }
    const rate = await api('/alerts', {
      name: '5xx',
      kind: 'metric',
      metric: 'api_error_rate',
      comparator: '>',
      threshold: 20,
      window_minutes: 5,
    });
    const p95 = await api('/alerts', {
      name: 'slow',
      kind: 'metric',
      metric: 'api_latency_p95',
      comparator: '>',
      threshold: 1000,
      window_minutes: 5,
    });
    expect([rate.status, p95.status]).toEqual([201, 201]);
    await runJob(jobDeps(), evaluateAlertsJob, 'test');
    const rules = (await (await api('/alerts')).json()) as {
      rules: Array<{ name: string; state: string; last_value: number }>;
    };
    const byName = Object.fromEntries(rules.rules.map((rule) => [rule.name, rule]));
    // 30 errors in 100 requests; 20 of 100 requests took 1–2.5 s: the 95th percentile is in that bucket.
    expect(byName['5xx']).toMatchObject({ state: 'firing', last_value: 30 });
    expect(byName.slow?.state).toBe('firing');
    expect(byName.slow?.last_value).toBeGreaterThan(1000);
    expect(byName.slow?.last_value).toBeLessThanOrEqual(2500);
  });

  it('previews a usage threshold rule on the hourly usage of the project', async () => {
    const { api } = await setup();
    const hour = (hoursAgo: number) =>
      new Date(Math.floor(t.clock.now().getTime() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000);
    for (const [hoursAgo, quantity] of [
      [5, 2],
      [3, 12],
      [2, 3],
    ] as const) {
      await t.database.db
        .insertInto('ktrlplane.usage_hourly')
        .values({
          scope_type: 'organization',
          scope_id: 'acme',
          hour: hour(hoursAgo),
          metric: 'instance_hours',
          resource_id: 'db1',
          resource_type: 'Konnektr.Graph',
          sku: 'standard',
          quantity: String(quantity),
          org_id: 'acme',
          project_id: 'web',
          updated_at: t.clock.now(),
        } as never)
        .execute();
    }
    const unknown = await api('/alerts', {
      name: 'u',
      kind: 'usage',
      usage_metric: 'no_such_metric',
      threshold: 1,
    });
    expect(unknown.status).toBe(422);
    const preview = await api('/alerts/preview', {
      name: 'u',
      kind: 'usage',
      usage_metric: 'instance_hours',
      comparator: '>',
      threshold: 10,
      window_minutes: 60,
    });
    expect(await preview.json()).toMatchObject({ firings: 1, max_value: 12 });
  });
});

describe('outbound targets of alert channels (OUTBOUND_PRIVATE_TARGETS=deny)', () => {
  const t = useTestApp({ OUTBOUND_PRIVATE_TARGETS: 'deny' });

  it('refuses webhook and Alertmanager URLs into the control plane’s own network, at saving and at delivery', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const token = await apiTokenFor(t, ada);
    const create = (kind: string, target: string) =>
      t.app.request('/api/v1/projects/web/alert-channels', {
        method: 'POST',
        headers: { ...bearer(token), 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `${kind} ${target}`, kind, target }),
      });
    for (const target of [
      'http://127.0.0.1:9093',
      'http://localhost:8080/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.1.2.3/hook',
      'http://[::1]:9093',
      'http://[fd00::1]/hook',
    ]) {
      const res = await create(target.includes('9093') ? 'alertmanager' : 'webhook', target);
      expect(res.status, target).toBe(422);
      const problem = (await res.json()) as { errors: Array<{ pointer: string; message: string }> };
      expect(problem.errors[0]?.pointer).toBe('/target');
      expect(problem.errors[0]?.message).toContain('private or local address');
    }
    expect((await create('webhook', 'https://93.184.216.34/hook')).status).toBe(201);
    expect(await t.database.db.selectFrom('ktrlplane.alert_channels').select('target').execute()).toEqual([
      { target: 'https://93.184.216.34/hook' },
    ]);

    // A channel stored before (or whose name now resolves inside) is not called either.
    expect(await outboundTargetRefusal('http://localhost:1/x', 'deny')).toContain('127.0.0.1');
    expect(await outboundTargetRefusal('http://localhost:1/x', 'allow')).toBeNull();
    expect(isPrivateAddress('172.31.255.255')).toBe(true);
    expect(isPrivateAddress('172.32.0.1')).toBe(false);
    expect(isPrivateAddress('::ffff:192.168.1.1')).toBe(true);
    expect(isPrivateAddress('2606:4700::1111')).toBe(false);
  });
});
