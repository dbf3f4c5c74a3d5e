import { type Kysely, sql } from 'kysely';

/**
 * Email verification, browser-bound OIDC sign-ins and linked identities (security review, issue 15
 * findings 3 and 4; issue 14 "Identities").
 *
 * - users.email_verified_at: when the address was shown to reach the account's owner (a mailed
 *   link, an accepted invitation, or an identity provider's email_verified). Accounts that exist at
 *   upgrade are marked verified as of now: they were created under the old rules, some hold grants
 *   made by email on purpose, and marking them unverified would silently change who later grants
 *   by email reach; only accounts created from here on must prove their address.
 * - email_verifications: mailed links, stored as the SHA-256 of the token, for the address the link
 *   was sent to (a link for an address the account no longer has does nothing).
 * - oidc_logins.browser_hash: the SHA-256 of a random value kept in an HttpOnly cookie of the browser
 *   that started the sign-in; the callback must come from that browser (login CSRF).
 * - user_identities: an identity provider's `sub` linked to a local account, so that the `sub` the
 *   data plane sends resolves to that account.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ktrlplane.users ADD COLUMN email_verified_at timestamptz;
    UPDATE ktrlplane.users SET email_verified_at = now() WHERE email IS NOT NULL;

    CREATE TABLE ktrlplane.email_verifications (
      token_hash text PRIMARY KEY,
      user_id    text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      email      text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX email_verifications_user_idx ON ktrlplane.email_verifications (user_id);

    -- Sign-ins started before the upgrade have no browser binding and are refused at the callback.
    ALTER TABLE ktrlplane.oidc_logins ADD COLUMN browser_hash text NOT NULL DEFAULT '';
    ALTER TABLE ktrlplane.oidc_logins ALTER COLUMN browser_hash DROP DEFAULT;

    CREATE TABLE ktrlplane.user_identities (
      sub        text PRIMARY KEY,
      user_id    text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      email      text,
      linked_at  timestamptz NOT NULL
    );
    CREATE INDEX user_identities_user_idx ON ktrlplane.user_identities (user_id);
  `.execute(db);
}
