import { type Kysely, sql } from 'kysely';

/**
 * In-app notifications (the bell in the header, /notifications): one row per recipient, so "read"
 * is per user. `dedupe_key` is unique per user: whoever notifies names the event (a usage threshold
 * in a billing period, an alert firing), and notifying twice for the same event inserts nothing —
 * jobs that notify can run twice at once or be re-run after a crash.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.notifications (
      notification_id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      user_id         text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      org_id          text NOT NULL REFERENCES ktrlplane.organizations (org_id) ON DELETE CASCADE,
      project_id      text REFERENCES ktrlplane.projects (project_id) ON DELETE CASCADE,
      kind            text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
      title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
      body            text NOT NULL,
      link            text,
      dedupe_key      text NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 500),
      created_at      timestamptz NOT NULL,
      read_at         timestamptz,
      UNIQUE (user_id, dedupe_key)
    );
    CREATE INDEX notifications_user_idx ON ktrlplane.notifications (user_id, created_at DESC, notification_id DESC);
    CREATE INDEX notifications_unread_idx ON ktrlplane.notifications (user_id) WHERE read_at IS NULL;
  `.execute(db);
}
