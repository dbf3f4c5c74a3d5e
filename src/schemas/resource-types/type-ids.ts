/**
 * The ids stored in resources.type that something outside this app also knows: the production
 * operator manifests (konnektr-io/infra) select `WHERE type = 'Konnektr.Graph'`, the Graph
 * Explorer lists `?resource_type=Konnektr.Graph` and the home site links to the wizard with it.
 * ktrlplane first called the graph database `Konnektr.DigitalTwins`; that name is still accepted
 * wherever a caller names a type (API bodies, the wizard's `?type=`, list filters) and mapped to
 * the production id, and migration 2026-12-08-0015-graph-type-name moved the stored rows.
 */

/** The graph database (Azure Digital Twins–compatible, on Apache AGE): production's id. */
export const GRAPH_TYPE_ID = 'Konnektr.Graph';

/** The graph database's first id here; accepted on input, never stored or answered. */
export const DEPRECATED_GRAPH_TYPE_ID = 'Konnektr.DigitalTwins';

/** Deprecated id → the id it stands for. */
const ALIASES: ReadonlyMap<string, string> = new Map([[DEPRECATED_GRAPH_TYPE_ID, GRAPH_TYPE_ID]]);

/** The id `name` stands for: a deprecated alias mapped to its current id, anything else as given. */
export function canonicalTypeId(name: string): string {
  return ALIASES.get(name) ?? name;
}

/** Whether `name` is a deprecated alias (so a caller can be told to switch). */
export function isDeprecatedTypeId(name: string): boolean {
  return ALIASES.has(name);
}

/**
 * Suffix of the per-type Stripe meters (`instance_hours_<suffix>`) and price lookup keys. Stripe
 * meters and prices are created once per account and referenced by name from the price book, so
 * the graph database keeps the suffix it was given under its old id (`digital_twins`, from
 * `Konnektr.DigitalTwins`): renaming the type must not rename what is billed.
 */
export const METER_SUFFIX_BY_TYPE: ReadonlyMap<string, string> = new Map([[GRAPH_TYPE_ID, 'digital_twins']]);
