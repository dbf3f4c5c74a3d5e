import { type Kysely, sql } from 'kysely';

/**
 * The graph database's type id becomes production's `Konnektr.Graph` (it was
 * `Konnektr.DigitalTwins`; src/schemas/resource-types/type-ids.ts): the operator manifests of the
 * running estate select `WHERE type = 'Konnektr.Graph'`, so rows under the old id would never be
 * deployed. Every place that stores a type id moves: the resources, the wizard drafts' basics, the
 * type catalogue and its meter pointers, and the usage history and aggregates (so a resource's
 * history reads as one type). Stripe meter names stay as they are (`instance_hours_digital_twins`):
 * they are not type ids, and renaming them would split what is billed.
 *
 * The operator detects changes by polling resources.updated_at; a new updated_at on every graph
 * row would make it redeploy them all for a change it cannot see (type is not in what it renders).
 * So the row triggers that react to the UPDATE are switched off for it: the one that moves
 * updated_at, and the one that records a usage change (the type's meter is the same, the history
 * rows are renamed below instead). The migration runs in one transaction, so nobody else writes
 * resources while they are off. Values of the old id that stay on purpose: audit events (a record
 * of what was written then).
 *
 * The same migration adds the billing mirrors the Auth0 client gate needs (mirrorOrganizationBilling,
 * below): one migration name was reserved for this work.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await renameGraphType(db);
  await mirrorOrganizationBilling(db);
}

/** The rename alone (its test runs it again on rows put back under the old id). */
export async function renameGraphType(db: Kysely<unknown>): Promise<void> {
  const from = 'Konnektr.DigitalTwins';
  const to = 'Konnektr.Graph';
  await sql`ALTER TABLE ktrlplane.resources DISABLE TRIGGER resources_touch_updated_at`.execute(db);
  await sql`ALTER TABLE ktrlplane.resources DISABLE TRIGGER resources_record_usage_change`.execute(db);
  await sql`UPDATE ktrlplane.resources SET type = ${to} WHERE type = ${from}`.execute(db);
  await sql`ALTER TABLE ktrlplane.resources ENABLE TRIGGER resources_touch_updated_at`.execute(db);
  await sql`ALTER TABLE ktrlplane.resources ENABLE TRIGGER resources_record_usage_change`.execute(db);

  await sql`
    UPDATE ktrlplane.resource_drafts SET basics = jsonb_set(basics, '{type}', to_jsonb(${to}::text))
    WHERE basics->>'type' = ${from}
  `.execute(db);

  // The catalogue rows are keyed by type; start-up re-syncs their content from the code.
  for (const table of ['resource_types', 'resource_type_meters'] as const) {
    const ref = sql.table(`ktrlplane.${table}`);
    await sql`
      UPDATE ${ref} SET type_name = ${to}
      WHERE type_name = ${from} AND NOT EXISTS (SELECT 1 FROM ${ref} WHERE type_name = ${to})
    `.execute(db);
    await sql`DELETE FROM ${ref} WHERE type_name = ${from}`.execute(db);
  }

  await sql`UPDATE ktrlplane.resource_usage_changes SET type = ${to} WHERE type = ${from}`.execute(db);
  await sql`UPDATE ktrlplane.usage_minutely SET resource_type = ${to} WHERE resource_type = ${from}`.execute(
    db,
  );
  await sql`UPDATE ktrlplane.usage_hourly SET resource_type = ${to} WHERE resource_type = ${from}`.execute(
    db,
  );
}

/**
 * The second thing the production manifests need (this branch's one migration carries both): the
 * Auth0 client gate of konnektr-io/infra selects projects joined to a `billing_accounts` row with
 * `scope_type = 'project'` and non-null Stripe customer and subscription ids. Here a project is
 * usually paid by its organization's account and has no row of its own, so it would never pass.
 * Every project of an organization with a Stripe customer therefore gets a *mirror* row: scope
 * `project`, the organization's Stripe ids, `mirrors_organization = true`. The app never treats a
 * mirror as an account (src/db/billing.repository.ts leaves them out everywhere: a project with a
 * mirror is still paid by its organization); it exists for readers of the table that expect
 * production's layout. Triggers keep mirrors in step in the writer's own transaction, whatever
 * writes: the organization's Stripe ids changing (checkout, webhooks, reconciliation, adoption), a
 * project created or moved to another organization; project and organization deletes remove
 * them through delete_scope_dependents. A project with its own account (its own row) is never
 * overwritten.
 */
async function mirrorOrganizationBilling(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ktrlplane.billing_accounts
      ADD COLUMN mirrors_organization boolean NOT NULL DEFAULT false;
    ALTER TABLE ktrlplane.billing_accounts ADD CONSTRAINT billing_accounts_mirror_scope_check
      CHECK (NOT mirrors_organization OR scope_type = 'project');

    -- Brings the mirrors of the projects of p_org (or of the one project p_project) in line with
    -- their organization's account: created or updated while it has a Stripe customer, removed
    -- when it has none.
    CREATE FUNCTION ktrlplane.refresh_billing_mirrors(p_org text, p_project text) RETURNS void
      LANGUAGE sql AS $fn$
      DELETE FROM ktrlplane.billing_accounts b
      USING ktrlplane.projects p
        LEFT JOIN ktrlplane.billing_accounts o ON o.scope_type = 'organization' AND o.scope_id = p.org_id
      WHERE b.scope_type = 'project' AND b.scope_id = p.project_id AND b.mirrors_organization
        AND (p.project_id = p_project OR (p_project IS NULL AND p.org_id = p_org))
        AND o.stripe_customer_id IS NULL;
      INSERT INTO ktrlplane.billing_accounts
        (scope_type, scope_id, stripe_customer_id, stripe_subscription_id, mirrors_organization)
      SELECT 'project', p.project_id, o.stripe_customer_id, o.stripe_subscription_id, true
      FROM ktrlplane.projects p
      JOIN ktrlplane.billing_accounts o ON o.scope_type = 'organization' AND o.scope_id = p.org_id
      WHERE (p.project_id = p_project OR (p_project IS NULL AND p.org_id = p_org))
        AND o.stripe_customer_id IS NOT NULL
      ON CONFLICT (scope_type, scope_id) DO UPDATE
        SET stripe_customer_id = excluded.stripe_customer_id,
            stripe_subscription_id = excluded.stripe_subscription_id,
            updated_at = now()
        WHERE ktrlplane.billing_accounts.mirrors_organization
          AND (ktrlplane.billing_accounts.stripe_customer_id, ktrlplane.billing_accounts.stripe_subscription_id)
              IS DISTINCT FROM (excluded.stripe_customer_id, excluded.stripe_subscription_id);
    $fn$;

    CREATE FUNCTION ktrlplane.billing_accounts_refresh_mirrors() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.scope_type = 'organization' THEN
          PERFORM ktrlplane.refresh_billing_mirrors(OLD.scope_id, NULL);
        END IF;
        RETURN NULL;
      END IF;
      IF NEW.scope_type = 'organization' AND (TG_OP = 'INSERT' OR
         (NEW.stripe_customer_id, NEW.stripe_subscription_id)
           IS DISTINCT FROM (OLD.stripe_customer_id, OLD.stripe_subscription_id)) THEN
        PERFORM ktrlplane.refresh_billing_mirrors(NEW.scope_id, NULL);
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER billing_accounts_refresh_mirrors
      AFTER INSERT OR UPDATE OF stripe_customer_id, stripe_subscription_id OR DELETE
      ON ktrlplane.billing_accounts
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.billing_accounts_refresh_mirrors();

    CREATE FUNCTION ktrlplane.projects_refresh_billing_mirror() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'INSERT' OR NEW.org_id IS DISTINCT FROM OLD.org_id THEN
        PERFORM ktrlplane.refresh_billing_mirrors(NEW.org_id, NEW.project_id);
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER projects_refresh_billing_mirror AFTER INSERT OR UPDATE OF org_id ON ktrlplane.projects
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.projects_refresh_billing_mirror();

    -- Organizations that pay already get their projects' mirrors now.
    SELECT ktrlplane.refresh_billing_mirrors(o.scope_id, NULL)
    FROM ktrlplane.billing_accounts o
    WHERE o.scope_type = 'organization' AND o.stripe_customer_id IS NOT NULL;
  `.execute(db);
}
