import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { deliverAlertNotificationsJob } from '../../src/jobs/deliver-alert-notifications.ts';
import { evaluateAlertsJob } from '../../src/jobs/evaluate-alerts.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { postOutbound } from '../../src/lib/outbound-request.ts';
import { isPrivateAddress } from '../../src/lib/outbound-target.ts';
import {
  apiTokenFor,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

/**
 * Finding 1 of issue 15: the SSRF guard of alert channels. A real listener on loopback stands for
 * the control plane's own network; every address form that names it must be refused at saving and
 * at delivery, a name must not resolve public at the check and private at the connection, and what
 * a receiver answers never lands in a field project readers see.
 */

// The system resolver, with one name that answers public twice (the save and the delivery check)
// and loopback after that, as a DNS-rebinding attacker's name server would.
const rebind = vi.hoisted(() => ({ calls: 0 }));
vi.mock('node:dns/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = (async (host: string, options?: unknown) => {
    if (host === 'rebind.example') {
      rebind.calls += 1;
      return [{ address: rebind.calls <= 2 ? '93.184.215.14' : '127.0.0.1', family: 4 }];
    }
    return actual.lookup(host, options as never);
  }) as typeof actual.lookup;
  return { ...actual, lookup, default: { ...actual, lookup } };
});

const received: IncomingMessage[] = [];
let listener: Server;
let port = 0;

beforeAll(async () => {
  listener = createServer((req, res) => {
    received.push(req);
    res.statusCode = 500;
    // What an internal service might answer: it must never be shown to the tenant.
    res.end('INTERNAL-SECRET: db password is hunter2');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  rebind.calls = 0;
});

async function projectWithApi(t: TestContext) {
  const ada = await signUpUser(t, 'ada@example.com');
  await createOrgFor(t, ada, 'Acme', 'acme');
  await createProjectFor(t, ada, 'acme', 'Web', 'web');
  await createResourceRow(t, 'web', 'db1');
  await t.database.db.deleteFrom('ktrlplane.resource_deployments').execute();
  const token = await apiTokenFor(t, ada);
  return (path: string, init: { method?: string; json?: unknown } = {}) =>
    t.app.request(`/api/v1/projects/web${path}`, {
      method: init.method ?? 'GET',
      headers: bearer(token),
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
}

/** db1 degraded for the last 6 minutes, and a rule on it notifying `channelIds`; evaluated once. */
async function fireAt(t: TestContext, api: Awaited<ReturnType<typeof projectWithApi>>, channelIds: string[]) {
  await t.database.db
    .insertInto('ktrlplane.resource_deployments')
    .values({
      resource_id: 'db1',
      project_id: 'web',
      status: 'Degraded',
      generation: 1,
      deployment_state: 'deployed',
      at: new Date(t.clock.now().getTime() - 6 * 60_000),
    } as never)
    .execute();
  const rule = await api('/alerts', {
    method: 'POST',
    json: {
      name: 'db1 degraded',
      kind: 'status',
      status: 'Degraded',
      resource_id: 'db1',
      comparator: '>',
      threshold: 0,
      window_minutes: 5,
      for_minutes: 0,
      severity: 'critical',
      labels: {},
      channel_ids: channelIds,
    },
  });
  expect(rule.status).toBe(201);
  const jobDeps = { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config };
  expect((await runJob(jobDeps, evaluateAlertsJob, 'test')).outcome).toBe('succeeded');
  return () => runJob(jobDeps, deliverAlertNotificationsJob, 'test');
}

async function deliveryErrors(t: TestContext) {
  return t.database.db
    .selectFrom('ktrlplane.alert_deliveries')
    .select(['last_error', 'response_status'])
    .orderBy('channel_id')
    .execute();
}

describe('SSRF: alert channel targets (OUTBOUND_PRIVATE_TARGETS=deny)', () => {
  const t = useTestApp({ OUTBOUND_PRIVATE_TARGETS: 'deny', ALERT_DELIVERY_TIMEOUT_MS: '1500' });
  const attacks = () => [
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[0:0:0:0:0:ffff:127.0.0.1]:${port}/`,
    'http://[::ffff:169.254.169.254]/latest/meta-data',
    `http://[::127.0.0.1]:${port}/`,
    `http://[::ffff:0:127.0.0.1]:${port}/`,
    `http://[64:ff9b::7f00:1]:${port}/`,
    `http://[2002:7f00:1::]:${port}/`,
    `http://localhost.:${port}/`,
    `http://api.localhost:${port}/`,
    `http://nothing-here.invalid:${port}/`,
  ];

  it('refuses every form of a loopback, metadata or unresolvable address when a channel is saved', async () => {
    const api = await projectWithApi(t);
    for (const [index, target] of attacks().entries()) {
      for (const kind of ['webhook', 'alertmanager']) {
        const res = await api('/alert-channels', {
          method: 'POST',
          json: { name: `c${index}${kind}`, kind, target },
        });
        expect(res.status, `${kind} ${target}`).toBe(422);
        const problem = (await res.json()) as { errors: Array<{ pointer: string; message: string }> };
        expect(problem.errors[0]?.pointer).toBe('/target');
        expect(problem.errors[0]?.message).toMatch(/private or local address|does not resolve/);
      }
    }
    expect(await t.database.db.selectFrom('ktrlplane.alert_channels').select('target').execute()).toEqual([]);
    expect(received).toHaveLength(0);
  });

  it('does not call a stored channel whose target now names the local network, and keeps no body', async () => {
    const api = await projectWithApi(t);
    const ids: string[] = [];
    for (const [index] of attacks().entries()) {
      const res = await api('/alert-channels', {
        method: 'POST',
        json: { name: `hook ${index}`, kind: 'webhook', target: `https://93.184.216.34/hook${index}` },
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { channel_id: string }).channel_id);
    }
    // Saved while public (or by an older version): the target is what an attacker made of it since.
    for (const [index, target] of attacks().entries())
      await t.database.db
        .updateTable('ktrlplane.alert_channels')
        .set({ target })
        .where('channel_id', '=', ids[index] as string)
        .execute();
    const deliver = await fireAt(t, api, ids);
    await deliver();
    expect(received).toHaveLength(0);
    const errors = await deliveryErrors(t);
    expect(errors).toHaveLength(attacks().length);
    for (const row of errors) {
      expect(row.response_status).toBeNull();
      expect(row.last_error).toMatch(/^not sent: .*(private or local address|does not resolve)/);
    }
  });

  it('connects to the address it checked: a name that rebinds to loopback after the check reaches nothing', async () => {
    const api = await projectWithApi(t);
    const res = await api('/alert-channels', {
      method: 'POST',
      json: { name: 'rebinding', kind: 'webhook', target: `http://rebind.example:${port}/hook` },
    });
    expect(res.status).toBe(201);
    const { channel_id } = (await res.json()) as { channel_id: string };
    const deliver = await fireAt(t, api, [channel_id]);
    // The delivery's check still sees the public address; the connection goes there, not to the
    // loopback address the name answers from now on.
    await deliver();
    expect(rebind.calls).toBe(2);
    expect(received).toHaveLength(0);
    const [first] = await deliveryErrors(t);
    expect(first?.last_error).toMatch(/could not connect to 93\.184\.215\.14|no answer within/);
    // The retry asks again, sees loopback and does not connect at all.
    t.clock.advance(31_000);
    await deliver();
    expect(received).toHaveLength(0);
    const [second] = await deliveryErrors(t);
    expect(second?.last_error).toContain('not sent: rebind.example is at 127.0.0.1');
  });

  it('classifies the embedded IPv4 address of every IPv6 wrapping, and public addresses as public', () => {
    for (const ip of [
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      '::7f00:1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::1',
      '2002:a00:1::',
      '2001::1',
      '::',
      '::1',
      'fe80::1',
      'fd00::1',
      '192.0.2.1',
      '100.64.0.1',
      'not an address',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of [
      '93.184.216.34',
      '::ffff:93.184.216.34',
      '64:ff9b::5db8:d822',
      '2002:5db8:d822::',
      '2606:4700::1111',
    ])
      expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it('pins the connection: the name is never looked up again, the checked address is dialled', async () => {
    // The mechanism the delivery uses, pointed at the listener by address so its arrival shows.
    const answer = await postOutbound(`http://pinned.example:${port}/x`, {
      headers: {},
      body: '{}',
      timeoutMs: 2000,
      addresses: ['127.0.0.1'],
    });
    expect(answer).toEqual({ status: 500 });
    expect(received).toHaveLength(1);
    expect(received[0]?.headers.host).toBe(`pinned.example:${port}`);
  });
});

describe('SSRF: a receiver’s answer is not shown to project readers (OUTBOUND_PRIVATE_TARGETS=allow)', () => {
  const t = useTestApp();

  it('stores the status and a reason of ktrlplane’s own, never the body', async () => {
    const api = await projectWithApi(t);
    const res = await api('/alert-channels', {
      method: 'POST',
      json: { name: 'local', kind: 'webhook', target: `http://127.0.0.1:${port}/hook` },
    });
    expect(res.status).toBe(201);
    const { channel_id } = (await res.json()) as { channel_id: string };
    const deliver = await fireAt(t, api, [channel_id]);
    await deliver();
    expect(received).toHaveLength(1);
    expect(await deliveryErrors(t)).toEqual([
      { response_status: 500, last_error: 'answered 500 (the receiver failed)' },
    ]);
    for (const path of [`/alert-channels/${channel_id}`, '/alert-channels', '/alerts'])
      expect(await (await api(path)).text(), path).not.toContain('hunter2');
  });
});
