import { type Kysely, sql } from 'kysely';

/**
 * `resource_drafts`: settings a user has filled in and is reviewing before they are stored — the
 * wizard's review step and the settings editor's diff are plain GET pages of a draft, so reload and
 * the back button work and nothing is carried in URLs (secrets never go into a query string).
 * A draft belongs to one user in one project (and, when it edits one, one resource); it expires
 * after a day and housekeeping deletes it. `completed_resource_id` records what the draft created,
 * so a second click on "Create" leads to the resource instead of a second one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.resource_drafts (
      draft_id              text PRIMARY KEY,
      user_id               text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      project_id            text NOT NULL REFERENCES ktrlplane.projects (project_id) ON DELETE CASCADE,
      resource_id           text REFERENCES ktrlplane.resources (resource_id) ON DELETE CASCADE,
      basics                jsonb NOT NULL CHECK (jsonb_typeof(basics) = 'object'),
      settings_json         jsonb NOT NULL CHECK (jsonb_typeof(settings_json) = 'object'),
      base_generation       bigint,
      completed_resource_id text,
      created_at            timestamptz NOT NULL,
      expires_at            timestamptz NOT NULL
    );
    CREATE INDEX resource_drafts_expires_idx ON ktrlplane.resource_drafts (expires_at);
  `.execute(db);
}
