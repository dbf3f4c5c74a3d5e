/**
 * How the Graph data plane (konnektr-io/pg-age-digitaltwins, ServiceDefaults/Authorization) reads
 * the `.permissions` of our permission check, re-implemented from its documented behaviour so tests
 * can ask "would the Graph let this answer through this operation?":
 * - each string is `<resource>/<action>`: the last segment is the action (read, write, delete,
 *   action or *), the segments before it the resource: digitaltwins, digitaltwins/relationships,
 *   models, query or jobs/imports, with digitaltwins/commands counting as digitaltwins and
 *   jobs/imports/cancel as jobs/imports; case does not matter;
 * - anything else (`read`, `write`, `jobs/*`, `jobs/read`, `mcp/*`, `usage/report`, …) is dropped;
 * - a held permission grants a required one on the same resource only, with `*` granting every
 *   action there: `digitaltwins/*` does not cover relationships.
 */

export type GraphResource = 'digitaltwins' | 'relationships' | 'models' | 'query' | 'jobs/imports';
export type GraphAction = 'read' | 'write' | 'delete' | 'action' | '*';

export interface GraphPermission {
  resource: GraphResource;
  action: GraphAction;
}

const RESOURCES: Record<string, GraphResource> = {
  digitaltwins: 'digitaltwins',
  'digitaltwins/relationships': 'relationships',
  'digitaltwins/commands': 'digitaltwins',
  models: 'models',
  query: 'query',
  'jobs/imports': 'jobs/imports',
  'jobs/imports/cancel': 'jobs/imports',
};

const ACTIONS = new Set<string>(['read', 'write', 'delete', 'action', '*']);

/** The permission a string means to the Graph, or null when the Graph drops it. */
export function parseGraphPermission(text: string): GraphPermission | null {
  const parts = text.split('/').filter((part) => part.length > 0);
  if (parts.length < 2) return null;
  const action = (parts.at(-1) ?? '').toLowerCase();
  if (!ACTIONS.has(action)) return null;
  const resource = RESOURCES[parts.slice(0, -1).join('/').toLowerCase()];
  if (!resource) return null;
  return { resource, action: action as GraphAction };
}

/** Whether an answer's permission strings let the holder do `required` in the Graph. */
export function graphAllows(permissions: readonly string[], required: GraphPermission): boolean {
  return permissions
    .map(parseGraphPermission)
    .some(
      (held) =>
        held !== null &&
        held.resource === required.resource &&
        (held.action === '*' || held.action === required.action),
    );
}

/** Every operation the Graph guards, with the permission its endpoint requires. */
export const GRAPH_OPERATIONS: Array<{ name: string; reads: boolean; requires: GraphPermission }> = [
  { name: 'get a twin', reads: true, requires: { resource: 'digitaltwins', action: 'read' } },
  { name: 'create or update a twin', reads: false, requires: { resource: 'digitaltwins', action: 'write' } },
  { name: 'delete a twin', reads: false, requires: { resource: 'digitaltwins', action: 'delete' } },
  { name: 'invoke a twin command', reads: false, requires: { resource: 'digitaltwins', action: 'action' } },
  { name: 'list relationships', reads: true, requires: { resource: 'relationships', action: 'read' } },
  { name: 'create a relationship', reads: false, requires: { resource: 'relationships', action: 'write' } },
  { name: 'delete a relationship', reads: false, requires: { resource: 'relationships', action: 'delete' } },
  { name: 'get a model', reads: true, requires: { resource: 'models', action: 'read' } },
  { name: 'upload a model', reads: false, requires: { resource: 'models', action: 'write' } },
  { name: 'delete a model', reads: false, requires: { resource: 'models', action: 'delete' } },
  { name: 'run a query', reads: true, requires: { resource: 'query', action: 'action' } },
  { name: 'list import jobs', reads: true, requires: { resource: 'jobs/imports', action: 'read' } },
  { name: 'start an import job', reads: false, requires: { resource: 'jobs/imports', action: 'write' } },
  { name: 'delete an import job', reads: false, requires: { resource: 'jobs/imports', action: 'delete' } },
  { name: 'cancel an import job', reads: false, requires: { resource: 'jobs/imports', action: 'action' } },
];
