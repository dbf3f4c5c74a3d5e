import { type Kysely, sql } from 'kysely';

/**
 * Identity, credentials, invitations, mail outbox, audit log and rate limiting. Secrets (passwords,
 * session and API tokens, invitation tokens) are stored only as hashes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ktrlplane.users
      ADD COLUMN kind text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'service')),
      ADD COLUMN last_org_id text,
      ADD COLUMN last_project_id text;

    -- Local accounts only; OIDC users have no row here. Kept apart from users so that no query on
    -- users can ever carry a password hash.
    CREATE TABLE ktrlplane.local_credentials (
      user_id       text PRIMARY KEY REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      password_hash text NOT NULL,
      updated_at    timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE ktrlplane.sessions (
      session_hash text PRIMARY KEY,
      user_id      text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      created_at   timestamptz NOT NULL,
      expires_at   timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      ip           text,
      user_agent   text
    );
    CREATE INDEX sessions_user_idx ON ktrlplane.sessions (user_id);
    CREATE INDEX sessions_expires_idx ON ktrlplane.sessions (expires_at);

    CREATE TABLE ktrlplane.api_tokens (
      token_id     text PRIMARY KEY,
      token_hash   text NOT NULL UNIQUE,
      user_id      text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
      scope_type   text CHECK (scope_type IN ('organization', 'project')),
      scope_id     text,
      access       text NOT NULL CHECK (access IN ('read', 'read-write')),
      created_at   timestamptz NOT NULL,
      expires_at   timestamptz,
      last_used_at timestamptz,
      revoked_at   timestamptz,
      CHECK ((scope_type IS NULL) = (scope_id IS NULL))
    );
    CREATE INDEX api_tokens_user_idx ON ktrlplane.api_tokens (user_id);

    CREATE TABLE ktrlplane.invitations (
      invitation_id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      token_hash    text NOT NULL UNIQUE,
      email         text NOT NULL CHECK (position('@' in email) > 1),
      role_id       text NOT NULL REFERENCES ktrlplane.roles (role_id) ON DELETE CASCADE,
      scope_type    text NOT NULL CHECK (scope_type IN ('organization', 'project', 'resource')),
      scope_id      text NOT NULL,
      org_id        text NOT NULL REFERENCES ktrlplane.organizations (org_id) ON DELETE CASCADE,
      assignment_expires_at timestamptz,
      invited_by    text REFERENCES ktrlplane.users (user_id) ON DELETE SET NULL,
      created_at    timestamptz NOT NULL,
      expires_at    timestamptz NOT NULL,
      accepted_at   timestamptz,
      accepted_by   text REFERENCES ktrlplane.users (user_id) ON DELETE SET NULL,
      revoked_at    timestamptz
    );
    CREATE INDEX invitations_scope_idx ON ktrlplane.invitations (scope_type, scope_id);
    CREATE INDEX invitations_email_idx ON ktrlplane.invitations (lower(email));

    CREATE TABLE ktrlplane.mail_outbox (
      mail_id    text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      to_address text NOT NULL,
      subject    text NOT NULL,
      body_text  text NOT NULL,
      created_at timestamptz NOT NULL,
      sent_at    timestamptz,
      attempts   integer NOT NULL DEFAULT 0,
      last_error text
    );

    CREATE TABLE ktrlplane.audit_events (
      event_id    text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      occurred_at timestamptz NOT NULL,
      org_id      text,
      actor_type  text NOT NULL CHECK (actor_type IN ('user', 'token', 'anonymous', 'system')),
      actor_id    text,
      actor_label text,
      action      text NOT NULL,
      target_type text NOT NULL,
      target_id   text,
      changes     jsonb NOT NULL DEFAULT '{}'::jsonb,
      request_id  text,
      ip          text,
      user_agent  text
    );
    CREATE INDEX audit_events_org_time_idx ON ktrlplane.audit_events (org_id, occurred_at DESC, event_id DESC);
    CREATE INDEX audit_events_actor_idx ON ktrlplane.audit_events (actor_id, occurred_at DESC);

    -- Fixed-window counters shared by every instance (Node processes and Workers isolates alike).
    CREATE TABLE ktrlplane.rate_limits (
      bucket       text PRIMARY KEY,
      window_start timestamptz NOT NULL,
      hits         integer NOT NULL
    );

    -- Short-lived state of an OIDC authorization-code + PKCE sign-in.
    CREATE TABLE ktrlplane.oidc_logins (
      state         text PRIMARY KEY,
      code_verifier text NOT NULL,
      nonce         text NOT NULL,
      return_to     text NOT NULL,
      expires_at    timestamptz NOT NULL
    );
  `.execute(db);
}
