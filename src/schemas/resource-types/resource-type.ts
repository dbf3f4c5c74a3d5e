import { z } from 'zod';
import { secretKeyRefSchema } from '../../lib/secret-refs.ts';

/**
 * What a resource type is: one file per type in this folder declares a `ResourceTypeDefinition`
 * (display data, SKUs, the Zod settings schema with `.meta()` on its fields, presets, the per-SKU
 * rules and what the operator needs to deploy it), and registry.ts lists them. Nothing outside
 * this folder knows a type by name: forms, validation, the API and the resource_types table are
 * all derived from the definition.
 */

export const SKU_IDS = ['free', 'standard'] as const;
export type SkuId = (typeof SKU_IDS)[number];

export function isSkuId(value: unknown): value is SkuId {
  return typeof value === 'string' && (SKU_IDS as readonly string[]).includes(value);
}

/** A SKU as shown on its card: the features it unlocks and the limits it sets (plain data). */
export interface SkuDefinition {
  displayName: string;
  description: string;
  /** Numbers or Kubernetes quantities, e.g. { max_instances: 1, max_memory: '1Gi' }. */
  limits: Record<string, number | string>;
  /** One line each, in the order the card lists them. */
  features: string[];
}

/** Widgets a field may ask for when the form engine's default for its schema does not fit. */
export type FieldWidget = 'text' | 'textarea' | 'password' | 'select' | 'radio' | 'checkbox' | 'switch';

/**
 * The `.meta()` of a settings field. It goes on the field's outermost schema (after `.optional()`
 * or `.default()`), the one the parent object's shape holds; `fieldMeta()` reads it.
 * `secret` marks a value that is write-only: the form shows "set — replace" and never sends it
 * back, the JSON Schema says `writeOnly`, and the operator puts it in a Kubernetes Secret.
 * `boundTo` names the non-secret fields that say where a secret is sent (a webhook's URL, Kafka
 * brokers): a stored secret is kept by an edit only while they are unchanged (see
 * services/secret-settings.ts). Each is a path from the object holding the secret: `url` is a
 * sibling, `../url` a field of the object around it.
 * `sealed` marks a secret that is encrypted at rest in settings_json (lib/secret-crypto.ts) rather
 * than stored as text for the operator to template: the entries of a Konnektr.Secret.
 */
export interface FieldMeta {
  label: string;
  help?: string;
  widget?: FieldWidget;
  secret?: boolean;
  boundTo?: string[];
  sealed?: boolean;
  placeholder?: string;
}

/** The FieldMeta of `schema`, looking through optional/default/nullable wrappers to the first one that has it. */
export function fieldMeta(schema: z.ZodType): FieldMeta | undefined {
  let current: z.core.$ZodType | undefined = schema;
  for (let depth = 0; current && depth < 8; depth++) {
    const meta = z.globalRegistry.get(current);
    if (meta && typeof meta.label === 'string') return meta as unknown as FieldMeta;
    const def = current._zod.def as { innerType?: z.core.$ZodType };
    current = def.innerType;
  }
  return undefined;
}

/** A preset: a named starting point for the form, valid for its SKU (a test checks every one). */
export interface Preset<Input = Record<string, unknown>> {
  id: string;
  name: string;
  description: string;
  sku: SkuId;
  settings: Input;
}

/** One violation of a SKU's limits, at the settings field it concerns. */
export interface SkuIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * What the operator needs to turn a row of ktrlplane.resources of this type into workloads:
 * plain JSON data (stored in resource_types.deployment_spec), never code. Keys are snake_case
 * like every other column the operator reads.
 */
export interface DeploymentSpec {
  /** How the workload is rendered: a Helm chart, or a Kubernetes Secret (Konnektr.Secret). */
  workload: 'helm-chart' | 'kubernetes-secret';
  /** The chart (helm-chart workloads only). */
  repository?: string;
  helm_chart?: string;
  chart_version?: string;
  /** Where each setting goes: a JSON pointer into settings_json → a dotted Helm values path. */
  values: Array<{ setting: string; value: string }>;
  /**
   * Settings that hold secrets, as JSON pointers with `*` for any array index or record key. The
   * operator writes them to a Kubernetes Secret and points the chart at it, never into plain
   * values. Worked out from the schema's `secret` marks by defineResourceType, never typed by hand.
   */
  secret_settings: string[];
  /** Where the workload reports ready; the operator's status query uses it. */
  health_checks: Array<{ kind: 'http'; path: string; port: number }>;
  /** Pattern of the access URL the operator writes back; `{resource_id}` is replaced. */
  access_url_template?: string;
}

/**
 * Chart values that hold a workload's instance count: `replicaCount` (plain Deployments) and the
 * database instances of the `graph` chart's CloudNativePG cluster.
 */
const INSTANCE_COUNT_VALUES: ReadonlySet<string> = new Set(['replicaCount', 'cluster.cluster.instances']);

/**
 * The setting (a JSON pointer) holding the instance count: the one the deployment maps to an
 * instance-count value. Plan limits and instance-hour metering both read it.
 */
export function instanceCountSetting(deployment: Pick<DeploymentSpec, 'values'>): string | undefined {
  return deployment.values.find((value) => INSTANCE_COUNT_VALUES.has(value.value))?.setting;
}

/** An icon drawn inline: one or more SVG path `d` strings on a 24×24 viewBox, stroked. */
export interface ResourceTypeIcon {
  viewBox: '0 0 24 24';
  paths: string[];
}

/**
 * A settings schema: a strict object (unknown keys are errors, never silently dropped), which the
 * form engine walks through `.shape` and the validators parse with.
 */
export type SettingsSchema = z.ZodObject<z.core.$ZodLooseShape, z.core.$strict>;

export interface ResourceTypeInput<S extends SettingsSchema> {
  /** The stable name stored in resources.type, e.g. 'Konnektr.Graph' (type-ids.ts holds the ids others know). */
  name: string;
  displayName: string;
  description: string;
  icon: ResourceTypeIcon;
  skus: Record<SkuId, SkuDefinition>;
  settings: S;
  presets: Array<Preset<z.input<S>>>;
  /**
   * The per-SKU refinement. Called with settings that may be partly invalid (it runs even when
   * other fields have errors, so every error shows at once): read them defensively. Returns the
   * fields the SKU does not allow, each at its own path.
   */
  checkSku: (sku: SkuId, settings: unknown) => SkuIssue[];
  deployment: Omit<DeploymentSpec, 'secret_settings'>;
}

export interface ResourceTypeDefinition<S extends SettingsSchema = SettingsSchema>
  extends Omit<ResourceTypeInput<S>, 'deployment'> {
  deployment: DeploymentSpec;
  /** Secrets that are encrypted at rest (`sealed` in their meta), as pointer patterns. */
  sealedSettings: string[];
  /** The `boundTo` of each secret pattern that has one (see FieldMeta). */
  secretBindings: Record<string, string[]>;
  /** The settings an empty form starts from: the schema's defaults. */
  defaults: z.output<S>;
}

/**
 * Declares a type and works out its defaults (the settings schema applied to `{}`); a type whose
 * defaults do not validate fails here, at import, rather than on a user's form.
 */
export function defineResourceType<S extends SettingsSchema>(
  input: ResourceTypeInput<S>,
): ResourceTypeDefinition<S> {
  const parsed = input.settings.safeParse({});
  if (!parsed.success) {
    throw new Error(
      `Resource type ${input.name}: the schema's defaults do not validate: ${parsed.error.message}`,
    );
  }
  const secrets = secretFields(input.settings);
  return {
    ...input,
    deployment: { ...input.deployment, secret_settings: secretSettingPointers(input.settings) },
    sealedSettings: secrets.filter((field) => field.meta.sealed).map((field) => field.pointer),
    secretBindings: Object.fromEntries(
      secrets
        .filter((field) => (field.meta.boundTo ?? []).length > 0)
        .map((field) => [field.pointer, field.meta.boundTo ?? []]),
    ),
    defaults: parsed.data as z.output<S>,
  };
}

/**
 * JSON pointers of every field marked `secret` in its meta (`*` stands for an array index or a
 * record key; the variants of a union share their parent's pointer). Sorted, without duplicates.
 */
export function secretSettingPointers(schema: z.ZodType): string[] {
  return [...new Set(secretFields(schema).map((field) => field.pointer))].sort();
}

/** Every field marked `secret`, with its pointer pattern and meta (walk order). */
export function secretFields(schema: z.ZodType): Array<{ pointer: string; meta: FieldMeta }> {
  const found: Array<{ pointer: string; meta: FieldMeta }> = [];
  const walk = (node: z.core.$ZodType, pointer: string, depth: number) => {
    if (depth > 32) return;
    const meta = fieldMeta(node as z.ZodType);
    if (meta?.secret) {
      // A secret's own schema is a leaf (a string, or a string-or-reference union): stop here.
      if (!found.some((field) => field.pointer === pointer)) found.push({ pointer, meta });
      return;
    }
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'object':
        for (const [key, child] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
          walk(child, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1);
        }
        return;
      case 'array':
        walk(def.element as z.core.$ZodType, `${pointer}/*`, depth + 1);
        return;
      case 'record':
        walk(def.valueType as z.core.$ZodType, `${pointer}/*`, depth + 1);
        return;
      case 'union':
        for (const option of def.options as z.core.$ZodType[]) walk(option, pointer, depth + 1);
        return;
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
      case 'nonoptional':
        walk(def.innerType as z.core.$ZodType, pointer, depth + 1);
        return;
      default:
        return;
    }
  };
  walk(schema, '', 0);
  return found;
}

/**
 * A secret setting's value: text of at most `max` characters, or a reference to an entry of a
 * Konnektr.Secret of the same project (lib/secret-refs.ts). Give it `.meta({ secret: true, … })`.
 */
export function secretValue(max: number) {
  return z.union([text(max), secretKeyRefSchema], {
    error: (issue) =>
      issue.input === undefined
        ? 'required: enter a value'
        : 'enter the value as text, or a reference {"valueFrom":{"secretKeyRef":{"name":"<secret id>","key":"<key>"}}}',
  });
}

// ---------------------------------------------------------------------------------------------
// Field builders shared by the types. Every bound has a message that says what to enter.

/** A whole number between min and max inclusive. */
export function intBetween(min: number, max: number) {
  return z
    .int({ error: `enter a whole number between ${min} and ${max}` })
    .min(min, `use at least ${min}`)
    .max(max, `use at most ${max}`);
}

/** Non-empty text of at most `max` characters. */
export function text(max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'required: enter a value' : 'enter text') })
    .min(1, 'required: enter a value')
    .max(max, `use at most ${max} characters`);
}

/** Names that become parts of Kubernetes objects: the DNS-label rule ids follow too (no `--`). */
export const DNS_LABEL_PATTERN = /^(?!.*--)[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function dnsLabelName() {
  return text(63).regex(
    DNS_LABEL_PATTERN,
    'use lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
  );
}

/** A Kubernetes object name with dots (storage classes): a DNS subdomain of at most 253 characters. */
export const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Host names: letters, digits, hyphens and dots (no scheme, no port). */
export const HOSTNAME_PATTERN =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

// ---------------------------------------------------------------------------------------------
// Kubernetes quantities (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/),
// restricted to the forms people write in a limits block.

const BYTE_SUFFIXES: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const BYTE_QUANTITY_PATTERN = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
export const CPU_QUANTITY_PATTERN = /^(?:\d+m|\d+(?:\.\d{1,3})?)$/;

/** Bytes of a memory or storage quantity such as `512Mi`, `1.5Gi` or `1G`; null when it is not one. */
export function parseByteQuantity(value: string): number | null {
  const match = BYTE_QUANTITY_PATTERN.exec(value);
  if (!match?.[1]) return null;
  const multiplier = BYTE_SUFFIXES[match[2] ?? ''];
  return multiplier === undefined ? null : Number(match[1]) * multiplier;
}

/** Millicores of a CPU quantity such as `500m`, `2` or `0.25`; null when it is not one. */
export function parseCpuQuantity(value: string): number | null {
  if (!CPU_QUANTITY_PATTERN.test(value)) return null;
  return value.endsWith('m') ? Number(value.slice(0, -1)) : Math.round(Number(value) * 1000);
}

function quantity(
  pattern: RegExp,
  parse: (value: string) => number | null,
  formatHelp: string,
  bounds: { min: string; max: string },
) {
  const min = parse(bounds.min);
  const max = parse(bounds.max);
  if (min === null || max === null) throw new Error(`Bad quantity bounds ${bounds.min}–${bounds.max}`);
  return z
    .string({ error: formatHelp })
    .max(32, 'use at most 32 characters')
    .regex(pattern, formatHelp)
    .refine((value) => (parse(value) ?? min) >= min, `use at least ${bounds.min}`)
    .refine((value) => (parse(value) ?? max) <= max, `use at most ${bounds.max}`);
}

/** A memory quantity between the bounds, e.g. `512Mi`. */
export function memoryQuantity(bounds: { min: string; max: string }) {
  return quantity(
    BYTE_QUANTITY_PATTERN,
    parseByteQuantity,
    'enter a memory size such as 512Mi or 2Gi (a number with Ki, Mi, Gi, Ti or k, M, G, T)',
    bounds,
  );
}

/** A storage quantity between the bounds, e.g. `10Gi`. */
export function storageQuantity(bounds: { min: string; max: string }) {
  return quantity(
    BYTE_QUANTITY_PATTERN,
    parseByteQuantity,
    'enter a storage size such as 10Gi or 1Ti (a number with Ki, Mi, Gi, Ti or k, M, G, T)',
    bounds,
  );
}

/** A CPU quantity between the bounds: millicores such as `500m`, or cores such as `2` or `0.5`. */
export function cpuQuantity(bounds: { min: string; max: string }) {
  return quantity(
    CPU_QUANTITY_PATTERN,
    parseCpuQuantity,
    'enter CPU as millicores such as 500m, or cores such as 1 or 0.5',
    bounds,
  );
}

// ---------------------------------------------------------------------------------------------
// Helpers for `checkSku` and cross-field refinements, which see possibly-invalid values.

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
