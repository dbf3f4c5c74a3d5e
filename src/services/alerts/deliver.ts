import type { Config } from '../../config.ts';
import type { DueDelivery } from '../../db/alerts.repository.ts';
import { postOutbound, runtimeResolver } from '../../lib/outbound-request.ts';
import { checkOutboundTarget, type HostResolver } from '../../lib/outbound-target.ts';
import { alertMessage, ruleLink } from './evaluate.ts';

/**
 * Sending one webhook or Alertmanager notification. Webhook bodies are signed with the channel's
 * secret: `X-Ktrlplane-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the
 * timestamp inside the signed text lets receivers refuse replays), and carry the delivery id in
 * `X-Ktrlplane-Delivery` so a receiver can drop the duplicates an at-least-once retry may cause.
 * Alertmanager gets its v2 API's alert list; a firing alert is re-sent every few minutes while it
 * lasts, and a resolve sets `endsAt`.
 */
export const MAX_DELIVERY_ATTEMPTS = 8;
const FIRST_RETRY_SECONDS = 30;
const MAX_RETRY_SECONDS = 3600;
/** How long Alertmanager keeps a firing alert without hearing from us again. */
const ALERTMANAGER_FIRING_TTL_SECONDS = 600;

export interface DeliveryOutcome {
  delivery_id: string;
  ok: boolean;
  response_status: number | null;
  error: string | null;
  attempts: number;
}

/** When to try again after `attempts` failures: 30 s, 1 min, 2 min, … at most an hour; null gives up. */
export function nextAttemptAfter(attempts: number, now: Date): Date | null {
  if (attempts >= MAX_DELIVERY_ATTEMPTS) return null;
  const delay = Math.min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS);
  return new Date(now.getTime() + delay * 1000);
}

export async function hmacSha256Hex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(text)));
  return Array.from(signature, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function webhookPayload(delivery: DueDelivery, config: Config) {
  const { rule, event } = delivery;
  return {
    type: event.state === 'resolved' ? 'alert.resolved' : 'alert.firing',
    delivery_id: delivery.delivery_id,
    status: event.state,
    at: event.at.toISOString(),
    value: event.value,
    organization_id: delivery.org_id,
    project_id: rule.project_id,
    rule: {
      rule_id: rule.rule_id,
      name: rule.name,
      kind: rule.kind,
      severity: rule.severity,
      condition: {
        comparator: rule.comparator,
        threshold: rule.threshold,
        window_seconds: rule.window_seconds,
        for_seconds: rule.for_seconds,
      },
      labels: rule.labels,
      runbook_url: rule.runbook_url,
      url: ruleLink(config, rule),
    },
    summary: alertMessage(rule, event, config).title,
  };
}

export function alertmanagerPayload(delivery: DueDelivery, config: Config, now: Date) {
  const { rule, event } = delivery;
  const message = alertMessage(rule, event, config);
  const resolved = event.state === 'resolved';
  return [
    {
      labels: {
        ...rule.labels,
        alertname: rule.name,
        severity: rule.severity,
        organization_id: delivery.org_id,
        project_id: rule.project_id,
        rule_id: rule.rule_id,
        source: 'ktrlplane',
      },
      annotations: {
        summary: message.title,
        description: message.body,
        ...(rule.runbook_url ? { runbook_url: rule.runbook_url } : {}),
      },
      startsAt: event.at.toISOString(),
      endsAt: resolved
        ? event.at.toISOString()
        : new Date(now.getTime() + ALERTMANAGER_FIRING_TTL_SECONDS * 1000).toISOString(),
      generatorURL: message.link,
    },
  ];
}

export async function sendDelivery(
  delivery: DueDelivery,
  config: Config,
  now: Date,
  resolve: HostResolver | null = runtimeResolver(),
): Promise<DeliveryOutcome> {
  const attempts = delivery.attempts + 1;
  const target = delivery.channel.target ?? '';
  let url: string;
  let body: string;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'ktrlplane-alerts',
  };
  if (delivery.channel.kind === 'alertmanager') {
    url = new URL('api/v2/alerts', target.endsWith('/') ? target : `${target}/`).toString();
    body = JSON.stringify(alertmanagerPayload(delivery, config, now));
  } else {
    url = target;
    body = JSON.stringify(webhookPayload(delivery, config));
    const timestamp = Math.floor(now.getTime() / 1000);
    const signature = await hmacSha256Hex(delivery.channel.signing_secret ?? '', `${timestamp}.${body}`);
    headers['X-Ktrlplane-Signature'] = `t=${timestamp},v1=${signature}`;
    headers['X-Ktrlplane-Delivery'] = delivery.delivery_id;
    headers['X-Ktrlplane-Event'] = delivery.event.state === 'resolved' ? 'alert.resolved' : 'alert.firing';
  }
  const check = await checkOutboundTarget(url, config.OUTBOUND_PRIVATE_TARGETS, resolve);
  if (!check.ok) {
    return {
      delivery_id: delivery.delivery_id,
      ok: false,
      response_status: null,
      error: `not sent: ${check.reason}`,
      attempts,
    };
  }
  try {
    const response = await postOutbound(url, {
      headers,
      body,
      timeoutMs: config.ALERT_DELIVERY_TIMEOUT_MS,
      addresses: check.addresses,
    });
    const ok = response.status >= 200 && response.status < 300;
    // Only the status: whatever answered (maybe something inside a network the tenant cannot see)
    // must not have its body shown to every reader of the project.
    return {
      delivery_id: delivery.delivery_id,
      ok,
      response_status: response.status,
      error: ok ? null : `answered ${response.status}${statusReason(response.status)}`,
      attempts,
    };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      delivery_id: delivery.delivery_id,
      ok: false,
      response_status: null,
      error: timedOut
        ? `no answer within ${config.ALERT_DELIVERY_TIMEOUT_MS} ms`
        : `could not connect${check.addresses ? ` to ${check.addresses.join(', ')}` : ''}: ${connectReason(error)}`,
      attempts,
    };
  }
}

/** A reason of ktrlplane's own words per status class, never anything the receiver wrote. */
function statusReason(status: number): string {
  if (status >= 300 && status < 400) return ' (a redirect, which is not followed)';
  if (status === 401 || status === 403) return ' (the receiver refused our credentials)';
  if (status >= 400 && status < 500) return ' (the receiver refused the request)';
  if (status >= 500) return ' (the receiver failed)';
  return '';
}

/** A connection error's code (ECONNREFUSED, ENOTFOUND, a TLS code …), short and free of peer data. */
function connectReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'failed';
}
