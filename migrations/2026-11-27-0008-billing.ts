import { type Kysely, sql } from 'kysely';

/**
 * Billing with Stripe (src/services/billing/*). The mirror tables are rewritten from what Stripe
 * answers (webhooks only say "go and look"), so duplicates and out-of-order events converge.
 * - billing_accounts: `plan` is the effective plan (what limits apply; `free` unless an active
 *   subscription says otherwise), `past_due_since` starts the grace period, `suspended_at` marks
 *   paid resources taken out of the operator's query for non-payment.
 * - subscriptions / invoices: Stripe's objects, as last read.
 * - stripe_events: every verified webhook event, once (the id is the key: a duplicate delivery is
 *   a no-op), with processing state so the job runner retries failures with backoff.
 * - resources.deployment_state gains `suspended` (left out of the operator's query like an
 *   undeploy, brought back when the account is paid up).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ktrlplane.billing_accounts
      ADD COLUMN plan text NOT NULL DEFAULT 'free',
      ADD COLUMN past_due_since timestamptz,
      ADD COLUMN suspended_at timestamptz,
      ADD COLUMN synced_at timestamptz;

    ALTER TABLE ktrlplane.resources DROP CONSTRAINT resources_deployment_state_check;
    ALTER TABLE ktrlplane.resources ADD CONSTRAINT resources_deployment_state_check
      CHECK (deployment_state IN ('deployed', 'undeployed', 'deleting', 'suspended'));

    CREATE TABLE ktrlplane.subscriptions (
      stripe_subscription_id text PRIMARY KEY,
      scope_type             text NOT NULL,
      scope_id               text NOT NULL,
      stripe_customer_id     text NOT NULL,
      status                 text NOT NULL,
      plan                   text NOT NULL,
      current_period_start   timestamptz,
      current_period_end     timestamptz,
      cancel_at_period_end   boolean NOT NULL DEFAULT false,
      canceled_at            timestamptz,
      items                  jsonb NOT NULL DEFAULT '[]'::jsonb,
      created_at             timestamptz NOT NULL,
      synced_at              timestamptz NOT NULL,
      FOREIGN KEY (scope_type, scope_id) REFERENCES ktrlplane.billing_accounts (scope_type, scope_id)
        ON DELETE CASCADE
    );
    CREATE INDEX subscriptions_scope_idx ON ktrlplane.subscriptions (scope_type, scope_id);

    CREATE TABLE ktrlplane.invoices (
      stripe_invoice_id      text PRIMARY KEY,
      scope_type             text NOT NULL,
      scope_id               text NOT NULL,
      stripe_customer_id     text NOT NULL,
      stripe_subscription_id text,
      number                 text,
      status                 text NOT NULL,
      amount_due             bigint NOT NULL,
      amount_paid            bigint NOT NULL,
      currency               text NOT NULL,
      period_start           timestamptz,
      period_end             timestamptz,
      hosted_invoice_url     text,
      invoice_pdf            text,
      created_at             timestamptz NOT NULL,
      synced_at              timestamptz NOT NULL,
      FOREIGN KEY (scope_type, scope_id) REFERENCES ktrlplane.billing_accounts (scope_type, scope_id)
        ON DELETE CASCADE
    );
    CREATE INDEX invoices_scope_idx ON ktrlplane.invoices (scope_type, scope_id, created_at DESC);

    CREATE TABLE ktrlplane.stripe_events (
      event_id        text PRIMARY KEY,
      type            text NOT NULL,
      customer_id     text,
      stripe_created  timestamptz NOT NULL,
      received_at     timestamptz NOT NULL,
      processed_at    timestamptz,
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      last_error      text
    );
    CREATE INDEX stripe_events_pending_idx ON ktrlplane.stripe_events (next_attempt_at)
      WHERE processed_at IS NULL;
  `.execute(db);
}
