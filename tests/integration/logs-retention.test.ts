import { describe, expect, it } from 'vitest';
import { listLogPartitions } from '../../src/db/logs.repository.ts';
import { createLogPartitionsJob } from '../../src/jobs/create-log-partitions.ts';
import { enforceLogRetentionJob } from '../../src/jobs/enforce-log-retention.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import {
  asJson,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('log partitions and retention', () => {
  // The free plan keeps log lines 3 days.
  const t = useTestApp({ PLAN_WITHOUT_BILLING: 'free' });
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });

  it('creates partitions ahead, stores lines of a late day on demand, and drops whole expired days', async () => {
    t.clock.set(new Date('2026-11-27T12:00:00Z'));
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'api');
    const created = await t.app.request('/projects/web/ingest-tokens', {
      method: 'POST',
      headers: { ...asJson(ada), 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'loki' }),
    });
    const { token } = (await created.json()) as { token: string };

    const ahead = await runJob(jobDeps(), createLogPartitionsJob, 'test');
    expect(ahead.outcome).toBe('succeeded');
    const names = (await listLogPartitions(t.database.db)).map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'logs_r3_20261127',
        'logs_r3_20261128',
        'logs_r3_20261129',
        'logs_r30_20261129',
        'logs_r90_20261127',
      ]),
    );
    // Twice is harmless.
    expect((await runJob(jobDeps(), createLogPartitionsJob, 'test')).detail).toContain('exists');

    const push = async (at: Date, line: string) => {
      const res = await t.app.request('/loki/api/v1/push', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          streams: [
            { stream: { resource_id: 'api' }, values: [[String(BigInt(at.getTime()) * 1_000_000n), line]] },
          ],
        }),
      });
      expect(res.status).toBe(204);
    };
    // Two days ago: no partition was made ahead for it; ingest makes it.
    await push(new Date('2026-11-25T08:00:00Z'), 'late line');
    await push(new Date('2026-11-27T11:00:00Z'), 'today');
    expect((await listLogPartitions(t.database.db)).map((p) => p.name)).toContain('logs_r3_20261125');

    // Nov 25 ends at Nov 26 00:00; three days later (Nov 29 00:00) the whole day is past retention.
    t.clock.set(new Date('2026-11-28T23:00:00Z'));
    expect((await runJob(jobDeps(), enforceLogRetentionJob, 'test')).detail).toBe(
      'no log partition has expired',
    );
    t.clock.set(new Date('2026-11-29T00:30:00Z'));
    const dropped = await runJob(jobDeps(), enforceLogRetentionJob, 'test');
    expect(dropped.detail).toContain('logs_r3_20261125');
    expect(dropped.detail).not.toContain('20261127');
    const left = await t.database.db.selectFrom('ktrlplane.logs').select('message').execute();
    expect(left.map((row) => row.message)).toEqual(['today']);
    expect((await listLogPartitions(t.database.db)).map((p) => p.name)).not.toContain('logs_r3_20261125');
    // A line for a day whose partition was dropped is past retention, so it is refused, not stored.
    const late = await t.app.request('/loki/api/v1/push', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        streams: [
          {
            stream: { resource_id: 'api' },
            values: [[String(BigInt(Date.parse('2026-11-25T09:00:00Z')) * 1_000_000n), 'x']],
          },
        ],
      }),
    });
    expect(late.status).toBe(400);
  });
});
