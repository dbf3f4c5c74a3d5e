import { z } from 'zod';
import {
  asRecord,
  cpuQuantity,
  defineResourceType,
  intBetween,
  memoryQuantity,
  parseByteQuantity,
  parseCpuQuantity,
  type SkuId,
  type SkuIssue,
} from './resource-type.ts';

/** Konnektr.Flows: a managed flow engine; replicas, their CPU and memory, and their environment. */

export const ENV_VAR_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ENV_VARS = 100;

export const flowsSettings = z.strictObject({
  replicas: intBetween(1, 5).default(1).meta({
    label: 'Replicas',
    help: 'Copies of the flow engine (1–5). More than one needs the standard SKU.',
  }),
  memoryLimit: memoryQuantity({ min: '128Mi', max: '16Gi' })
    .default('512Mi')
    .meta({ label: 'Memory limit', help: 'Per replica, between 128Mi and 16Gi.', placeholder: '512Mi' }),
  cpuLimit: cpuQuantity({ min: '100m', max: '8' })
    .default('500m')
    .meta({ label: 'CPU limit', help: 'Per replica, between 100m and 8 cores.', placeholder: '500m' }),
  environment: z
    .record(
      z.string().max(256, 'use at most 256 characters').regex(ENV_VAR_NAME_PATTERN),
      z.string({ error: 'enter the value as text' }).max(32768, 'use at most 32768 characters'),
      {
        error: (issue) =>
          issue.code === 'invalid_key'
            ? 'a variable name starts with a letter or underscore, then letters, digits and underscores (at most 256)'
            : undefined,
      },
    )
    .refine((env) => Object.keys(env).length <= MAX_ENV_VARS, `use at most ${MAX_ENV_VARS} variables`)
    .default({})
    .meta({
      label: 'Environment variables',
      help: 'Passed to every replica as-is. Do not put secrets here.',
    }),
});

export type FlowsSettings = z.output<typeof flowsSettings>;

const LIMITS = {
  free: { max_replicas: 1, max_memory: '1Gi', max_cpu: '1' },
  standard: { max_replicas: 5, max_memory: '16Gi', max_cpu: '8' },
} as const;

export const flows = defineResourceType({
  name: 'Konnektr.Flows',
  displayName: 'Flows',
  description:
    'A managed flow engine that runs your integration flows, with the replicas, CPU and memory you choose.',
  icon: {
    viewBox: '0 0 24 24',
    // Two boxes joined by a bent arrow: data flowing from one step to the next.
    paths: ['M3 4h6v6H3z', 'M15 14h6v6h-6z', 'M9 7h4a2 2 0 0 1 2 2v5', 'M12.5 11.5 15 14l2.5-2.5'],
  },
  skus: {
    free: {
      displayName: 'Free',
      description: 'One small replica to build and try flows.',
      limits: LIMITS.free,
      features: ['1 replica', 'Up to 1Gi of memory and 1 CPU', 'Environment variables'],
    },
    standard: {
      displayName: 'Standard',
      description: 'Several larger replicas for production load.',
      limits: LIMITS.standard,
      features: ['Up to 5 replicas', 'Up to 16Gi of memory and 8 CPUs per replica', 'Environment variables'],
    },
  },
  settings: flowsSettings,
  presets: [
    {
      id: 'small',
      name: 'Small',
      description: 'One replica with 512Mi of memory and half a CPU: the free SKU.',
      sku: 'free',
      settings: { replicas: 1, memoryLimit: '512Mi', cpuLimit: '500m', environment: {} },
    },
    {
      id: 'large',
      name: 'Large',
      description: 'Three replicas with 4Gi of memory and 2 CPUs each.',
      sku: 'standard',
      settings: { replicas: 3, memoryLimit: '4Gi', cpuLimit: '2', environment: {} },
    },
  ],
  checkSku(sku: SkuId, settings: unknown): SkuIssue[] {
    const limits = LIMITS[sku];
    const issues: SkuIssue[] = [];
    const { replicas, memoryLimit, cpuLimit } = asRecord(settings);
    const upgrade = sku === 'free' ? '; choose the standard SKU for more' : '';
    if (typeof replicas === 'number' && replicas > limits.max_replicas) {
      issues.push({
        path: ['replicas'],
        message: `the ${sku} SKU runs at most ${limits.max_replicas} replica${limits.max_replicas === 1 ? '' : 's'}${upgrade}`,
      });
    }
    const memory = typeof memoryLimit === 'string' ? parseByteQuantity(memoryLimit) : null;
    if (memory !== null && memory > (parseByteQuantity(limits.max_memory) ?? 0)) {
      issues.push({
        path: ['memoryLimit'],
        message: `the ${sku} SKU allows at most ${limits.max_memory} of memory${upgrade}`,
      });
    }
    const cpu = typeof cpuLimit === 'string' ? parseCpuQuantity(cpuLimit) : null;
    if (cpu !== null && cpu > (parseCpuQuantity(limits.max_cpu) ?? 0)) {
      issues.push({
        path: ['cpuLimit'],
        message: `the ${sku} SKU allows at most ${limits.max_cpu} CPU${upgrade}`,
      });
    }
    return issues;
  },
  deployment: {
    workload: 'helm-chart',
    repository: 'oci://ghcr.io/konnektr-io',
    helm_chart: 'flows',
    chart_version: '0.1.0',
    values: [
      { setting: '/replicas', value: 'replicaCount' },
      { setting: '/memoryLimit', value: 'resources.limits.memory' },
      { setting: '/cpuLimit', value: 'resources.limits.cpu' },
      { setting: '/environment', value: 'env' },
    ],
    health_checks: [{ kind: 'http', path: '/health', port: 8080 }],
    access_url_template: 'https://{resource_id}.flows.konnektr.io',
  },
});
