import type { Kysely } from 'kysely';
import type { IngestCredential } from '../../src/db/ingest-tokens.repository.ts';
import type { Database, LogLevel } from '../../src/db/types.ts';
import type { Clock } from '../../src/lib/clock.ts';
import type { BillingPolicy } from '../../src/services/billing/policy.ts';
import { type IncomingLogLine, ingestLogLines } from '../../src/services/logs/ingest.ts';

/**
 * A TEST DOUBLE of the workloads' log shippers, for `npm run demo`: every few seconds it writes a
 * few log lines for each running demo resource through the same ingest service the OTLP and Loki
 * endpoints use (so search, live tail, log alert rules and the monitoring pages have something to
 * show). A healthy resource logs requests and the odd slow one; a Degraded one logs errors, which
 * the demo's alert rule counts. Nothing runs anywhere.
 */
export class DemoDataPlane {
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  private sequence = 0;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      clock: Clock;
      policy: BillingPolicy;
      credential: IngestCredential;
      intervalMs?: number;
    },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.deps.intervalMs ?? 3000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round of lines; skipped while the previous one is still being stored. */
  async tick(): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    try {
      const running = await this.deps.db
        .selectFrom('ktrlplane.resources')
        .select(['resource_id', 'type', 'status'])
        .where('project_id', '=', this.deps.credential.project_id)
        .where('deployment_state', '=', 'deployed')
        .where('status', 'in', ['Healthy', 'Degraded'])
        .execute();
      const lines = running.flatMap((resource) => this.linesFor(resource));
      if (lines.length === 0) return 0;
      const outcome = await ingestLogLines(
        { db: this.deps.db, now: this.deps.clock.now(), policy: this.deps.policy },
        this.deps.credential,
        'otlp',
        lines,
      );
      return outcome.accepted;
    } finally {
      this.busy = false;
    }
  }

  private linesFor(resource: { resource_id: string; type: string; status: string }): IncomingLogLine[] {
    const n = this.sequence++;
    const line = (
      level: LogLevel,
      message: string,
      attributes: Record<string, unknown>,
    ): IncomingLogLine => ({
      resourceId: resource.resource_id,
      ts: null,
      level,
      message,
      attributes: { 'service.name': resource.resource_id, ...attributes },
    });
    if (resource.status === 'Degraded') {
      return [
        line('error', 'flow step "publish" failed: connection refused (kafka-0:9093)', {
          'flow.step': 'publish',
          attempt: (n % 5) + 1,
        }),
        line('warn', 'retrying step "publish" in 2s', { 'flow.step': 'publish' }),
      ];
    }
    const latency = 8 + ((n * 37) % 90);
    const requests = resource.type === 'Konnektr.Graph' ? '/digitaltwins' : '/flows/run';
    const lines = [
      line('info', `GET ${requests} 200 in ${latency}ms`, {
        'http.method': 'GET',
        'http.route': requests,
        'http.status': 200,
        duration_ms: latency,
      }),
    ];
    if (n % 7 === 0) {
      lines.push(
        line('warn', `slow query: ${latency * 12}ms over the 500ms budget`, { duration_ms: latency * 12 }),
      );
    }
    if (n % 23 === 0) {
      lines.push(line('error', `POST ${requests} 503: upstream timeout`, { 'http.status': 503 }));
    }
    return lines;
  }
}
