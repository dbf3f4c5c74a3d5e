/**
 * The queries the production db-query-operator manifests (konnektr-io/infra, *-dbqr.yaml) run
 * against ktrlplane's database, unchanged. `npm run estate:verify` prints what each returns, and
 * the adoption tests compare their answers before and after adoption. The Auth0 client gate is
 * written from its description (projects billed on their own Stripe subscription with a resource
 * that is not free).
 */
export const PRODUCTION_QUERIES: ReadonlyArray<{ name: string; sql: string }> = [
  {
    name: 'graph resources (graph-dbqr)',
    sql: "SELECT resource_id, project_id, sku, settings_json FROM ktrlplane.resources WHERE type = 'Konnektr.Graph';",
  },
  {
    name: 'secret resources (secret-dbqr)',
    sql: "SELECT resource_id, project_id, sku FROM ktrlplane.resources WHERE type = 'Konnektr.Secret';",
  },
  { name: 'project namespaces (namespace-dbqr)', sql: 'SELECT project_id, org_id FROM ktrlplane.projects;' },
  {
    name: 'Auth0 client gate (auth0-client-dbqr)',
    sql: `SELECT DISTINCT p.project_id, p.org_id
FROM ktrlplane.projects p
JOIN ktrlplane.billing_accounts ba ON ba.scope_type = 'project' AND ba.scope_id = p.project_id
JOIN ktrlplane.resources r ON r.project_id = p.project_id
WHERE ba.stripe_customer_id IS NOT NULL AND ba.stripe_subscription_id IS NOT NULL AND r.sku <> 'free';`,
  },
];
