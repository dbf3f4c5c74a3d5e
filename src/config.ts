import { z } from 'zod';
import { decodeKey } from './lib/secret-crypto.ts';
import { PLAN_IDS } from './schemas/plans.ts';

/**
 * Every setting ktrlplane reads, parsed once at start-up. Each entry is documented in README.md and
 * .env.example; a bad value stops the process with a message that names the variable.
 */
const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  NEON_WS_PROXY: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Log ingest: largest body after gzip is undone (the compressed body obeys BODY_LIMIT_BYTES). */
  LOG_INGEST_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  JOBS_ENABLED: booleanFromEnv.default(true),
  SIGNUP_MODE: z.enum(['open', 'invite', 'disabled']).default('open'),
  PASSWORD_ITERATIONS: z.coerce.number().int().min(1000).max(10_000_000).default(600_000),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24 * 14),
  TRUST_PROXY: booleanFromEnv.default(false),
  /** With TRUST_PROXY: how many proxies of ours append to X-Forwarded-For (client-ip.ts). */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(1).max(10).default(1),
  /** Take CF-Connecting-IP as the client address: only when every request comes through Cloudflare. */
  TRUST_CLOUDFLARE: booleanFromEnv.default(false),
  OIDC_ISSUER: z.url().optional(),
  OIDC_AUDIENCE: z.string().min(1).optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('ktrlplane <no-reply@localhost>'),
  STRIPE_SECRET_KEY: z.string().startsWith('sk_', 'must be a Stripe secret key (sk_…)').optional(),
  STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .startsWith('whsec_', 'must be a webhook signing secret (whsec_…)')
    .optional(),
  /** Days an organization may stay past due before its paid resources are suspended. */
  BILLING_GRACE_DAYS: z.coerce.number().int().min(0).max(90).default(7),
  /** The plan everyone is on while billing is off (no STRIPE_SECRET_KEY), e.g. when self-hosting. */
  PLAN_WITHOUT_BILLING: z.enum(PLAN_IDS).default('free'),
  // Deployments (README "Deployments"): when a transient status counts as stuck, and how long the
  // operator gets to prune an undeployed or deleted resource before ktrlplane finishes the change
  // (at least one of its poll intervals).
  STUCK_AFTER_SECONDS: z.coerce.number().int().min(5).default(900),
  OPERATOR_GRACE_SECONDS: z.coerce.number().int().min(0).default(120),
  HEALTH_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(3000),
  // Usage metering (README "Usage metering"): how often the API call counters are written (Node),
  // how long per-minute aggregates are kept, how long after an hour ends it is reported to Stripe
  // (events arriving later become corrections), and how many UTC days reconciliation re-checks.
  USAGE_API_FLUSH_SECONDS: z.coerce.number().min(0.1).max(300).default(5),
  USAGE_MINUTE_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 35)
    .default(48),
  USAGE_REPORT_DELAY_MINUTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(10),
  USAGE_RECONCILE_DAYS: z.coerce.number().int().min(1).max(30).default(3),
  // Observability (README "Observability"): /metrics is served only with a token or on its own port.
  METRICS_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  OTEL_SDK_DISABLED: booleanFromEnv.default(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('ktrlplane'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  // Metrics and alerts (README "Metrics and alerts"): resource metrics come from a
  // Prometheus-compatible API when PROMETHEUS_URL is set; answers are cached briefly per query.
  PROMETHEUS_URL: z.url({ protocol: /^https?$/ }).optional(),
  PROMETHEUS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  PROMETHEUS_CACHE_SECONDS: z.coerce.number().int().min(0).max(600).default(15),
  /** How long a webhook or Alertmanager delivery may take before it counts as failed (and is retried). */
  ALERT_DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /**
   * Whether tenants' webhook and Alertmanager URLs may point at loopback, private or link-local
   * addresses (src/lib/outbound-target.ts). `deny` in production; `allow` for a local Alertmanager.
   */
  OUTBOUND_PRIVATE_TARGETS: z.enum(['deny', 'allow']).default('deny'),
  /** Live event streams (SSE) one user may hold open at once, and one process (README "Security"). */
  SSE_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1_000_000).default(10),
  SSE_STREAMS_PER_PROCESS: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  /** Alert-channel emails and invitations one project (or organization) may send per hour. */
  MAILS_PER_PROJECT_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(50),
  // Secrets (README "Secrets"): the key that encrypts Konnektr.Secret values at rest, the keys it
  // replaced (comma-separated, still opened until `npm run secrets:reencrypt` has run), and the key
  // of the copy db-query-operator opens in SQL. Each is 32 bytes in base64.
  SECRETS_ENCRYPTION_KEY: secretKey('SECRETS_ENCRYPTION_KEY').optional(),
  SECRETS_ENCRYPTION_OLD_KEYS: z
    .string()
    .refine((text) => keyProblem(text, 'SECRETS_ENCRYPTION_OLD_KEYS', true) === null, {
      error: (issue) => keyProblem(String(issue.input), 'SECRETS_ENCRYPTION_OLD_KEYS', true) ?? '',
    })
    .optional(),
  SECRETS_OPERATOR_KEY: secretKey('SECRETS_OPERATOR_KEY').optional(),
});

function keyProblem(text: string, setting: string, list = false): string | null {
  try {
    for (const part of list ? text.split(',').filter((p) => p.trim() !== '') : [text])
      decodeKey(part, setting);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function secretKey(setting: string) {
  return z.string().refine((text) => keyProblem(text, setting) === null, {
    error: (issue) => keyProblem(String(issue.input), setting) ?? '',
  });
}

type ParsedConfig = z.infer<typeof configSchema>;
export type Config = ParsedConfig & { BASE_URL: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses settings from an environment (process.env on Node, the bindings on Workers). */
export function loadConfig(env: Record<string, unknown>): Config {
  // Empty strings mean "unset": .env files and shells often leave variables defined but blank.
  const cleaned = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((key) => [key, env[key]])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const parsed = result.data;
  return { ...parsed, BASE_URL: parsed.BASE_URL ?? `http://localhost:${parsed.PORT}` };
}
