import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { listJobRuns } from '../../src/db/job-runs.repository.ts';
import { housekeepingJob } from '../../src/jobs/housekeeping.ts';
import type { Job } from '../../src/jobs/job.ts';
import { jobs } from '../../src/jobs/registry.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { usingPostgresServer } from '../helpers/test-database.ts';

describe('jobs', () => {
  const t = useTestApp();
  const deps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });

  it('housekeeping deletes assignments expired for 30 days and keeps the rest', async () => {
    const db = t.database.db;
    await sql`INSERT INTO ktrlplane.users (user_id) VALUES ('u1')`.execute(db);
    const now = t.clock.now().getTime();
    const day = 86_400_000;
    const assignments: Array<[string, string, Date | null]> = [
      ['old', ROLE.owner, new Date(now - 31 * day)],
      ['recent', ROLE.editor, new Date(now - 2 * day)],
      ['future', ROLE.viewer, new Date(now + day)],
      ['forever', ROLE.graphOwner, null],
    ];
    for (const [scope, role, expires] of assignments) {
      await db
        .insertInto('ktrlplane.role_assignments')
        .values({
          user_id: 'u1',
          role_id: role,
          scope_type: 'project',
          scope_id: scope,
          expires_at: expires,
          created_by: null,
        })
        .execute();
    }
    const outcome = await runJob(deps(), housekeepingJob, 'test');
    expect(outcome).toMatchObject({
      outcome: 'succeeded',
      detail: expect.stringContaining('deleted 1 expired role assignments'),
    });
    const left = await db
      .selectFrom('ktrlplane.role_assignments')
      .select('scope_id')
      .orderBy('scope_id')
      .execute();
    expect(left.map((row) => row.scope_id)).toEqual(['forever', 'future', 'recent']);

    const again = await runJob(deps(), housekeepingJob, 'test');
    expect(again.detail).toContain('deleted 0 expired');
  });

  it('records every run, with its outcome, in job_runs', async () => {
    const failing: Job = {
      name: 'always-fails',
      schedule: '0 0 * * *',
      description: 'test',
      run: async () => {
        throw new Error('boom');
      },
    };
    expect((await runJob(deps(), failing, 'test')).outcome).toBe('failed');
    const runs = await listJobRuns(t.database.db, 'always-fails');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ outcome: 'failed', detail: 'boom', trigger: 'test' });
    expect(t.logs.some((line) => line.msg === 'job failed' && line.job === 'always-fails')).toBe(true);
  });

  it('rolls back the work of a failed run', async () => {
    const partial: Job = {
      name: 'half-done',
      schedule: '0 0 * * *',
      description: 'test',
      run: async ({ trx }) => {
        await sql`INSERT INTO ktrlplane.users (user_id) VALUES ('written-then-failed')`.execute(trx);
        throw new Error('after the write');
      },
    };
    await runJob(deps(), partial, 'test');
    const users = await t.database.db.selectFrom('ktrlplane.users').select('user_id').execute();
    expect(users).toEqual([]);
  });

  it.runIf(usingPostgresServer)(
    'lets only one of two overlapping runs work; the other is skipped',
    async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered = 0;
      const slow: Job = {
        name: 'slow',
        schedule: '0 0 * * *',
        description: 'test',
        run: async () => {
          entered += 1;
          await gate;
          return 'done';
        },
      };
      const first = runJob(deps(), slow, 'test');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const second = await runJob(deps(), slow, 'test');
      release();
      expect(second.outcome).toBe('skipped');
      expect((await first).outcome).toBe('succeeded');
      expect(entered).toBe(1);
    },
  );

  it('lists every job schedule as a Cron Trigger in wrangler.toml', async () => {
    const toml = await readFile('wrangler.toml', 'utf8');
    const crons = JSON.parse(/^crons\s*=\s*(\[.*\])/m.exec(toml)?.[1] ?? '[]') as string[];
    expect(new Set(crons)).toEqual(new Set(jobs.map((job) => job.schedule)));
  });
});
