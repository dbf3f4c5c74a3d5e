import type { HealthCheck } from '../db/health-checks.repository.ts';
import { insertHealthChecks, resourcesToProbe } from '../db/health-checks.repository.ts';
import { getResourceType } from '../schemas/resource-types/registry.ts';
import type { Job } from './job.ts';

/** Resources probed per run (the least recently probed first) and how many at once. */
const PROBES_PER_RUN = 200;
const CONCURRENCY = 10;

type ProbeResult = Omit<HealthCheck, 'check_id'>;

/**
 * Probes the health endpoint of every deployed resource with an access URL (the URL the operator
 * wrote back; the path from the type's `deployment.health_checks`, else the URL itself), with a
 * timeout, and records the result. The probes run in the job's `gather` step, outside any
 * transaction, so a slow endpoint never holds a database connection.
 */
export const probeHealthJob: Job = {
  name: 'probe-health',
  schedule: '* * * * *',
  description:
    "Probes deployed resources' health endpoints at their access URL (HEALTH_PROBE_TIMEOUT_MS) and records the results.",
  async gather({ db, clock, config }) {
    const targets = await resourcesToProbe(db, PROBES_PER_RUN);
    const results: ProbeResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next++];
        if (target) results.push(await probe(target, config.HEALTH_PROBE_TIMEOUT_MS, () => clock.now()));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return results;
  },
  async run({ trx, gathered }) {
    const results = (gathered ?? []) as ProbeResult[];
    await insertHealthChecks(trx, results);
    const failing = results.filter((result) => !result.ok).length;
    return `probed ${results.length} resources, ${failing} unhealthy`;
  },
};

function healthUrl(target: { type: string; access_url: string }): string | null {
  const path = getResourceType(target.type)?.deployment.health_checks.find((c) => c.kind === 'http')?.path;
  try {
    return new URL(path ?? '', target.access_url).toString();
  } catch {
    return null;
  }
}

async function probe(
  target: { resource_id: string; type: string; access_url: string },
  timeoutMs: number,
  now: () => Date,
): Promise<ProbeResult> {
  const url = healthUrl(target);
  const started = performance.now();
  const result = (ok: boolean, status: number | null, error: string | null): ProbeResult => ({
    resource_id: target.resource_id,
    url: url ?? target.access_url,
    ok,
    status_code: status,
    latency_ms: Math.round(performance.now() - started),
    error,
    checked_at: now(),
  });
  if (!url || !/^https?:/.test(url)) return result(false, null, 'the access URL is not an http(s) URL');
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    return result(response.ok, response.status, response.ok ? null : `answered ${response.status}`);
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return result(
      false,
      null,
      timedOut ? `no answer within ${timeoutMs} ms` : String((error as Error).message),
    );
  }
}
