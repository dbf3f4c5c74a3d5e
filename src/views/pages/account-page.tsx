import type { AuditEvent } from '../../db/types.ts';
import { Button, Card, type FieldErrors, FormAlert, PageHeader, TextField } from '../components/form.tsx';

export interface AccountView {
  user: { user_id: string; email: string | null; name: string | null; kind: string };
  hasPassword: boolean;
  emailVerified: boolean;
  emailVerifiedAt: Date | null;
  /** A new verification link was just sent (the page after a resend). */
  verificationSent: boolean;
  identities: Array<{ sub: string; email: string | null; linked_at: Date }>;
  canLink: boolean;
  events: AuditEvent[];
  passwordForm?: { errors?: FieldErrors; alert?: string; saved?: boolean };
}

export function ChangePasswordForm(props: NonNullable<AccountView['passwordForm']>) {
  return (
    <form
      id="change-password"
      method="post"
      action="/account/password"
      hx-post="/account/password"
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <FormAlert message={props.alert} />
      <TextField
        label="Current password"
        name="current_password"
        type="password"
        errors={props.errors}
        autocomplete="current-password"
        required
      />
      <TextField
        label="New password"
        name="new_password"
        type="password"
        errors={props.errors}
        autocomplete="new-password"
        help="At least 10 characters."
        required
      />
      <div class="flex items-center gap-3">
        <Button>Change password</Button>
        {props.saved && (
          <span role="status" class="text-sm text-emerald-600 dark:text-emerald-400">
            Password changed; your other sessions were signed out.
          </span>
        )}
      </div>
    </form>
  );
}

const actionLabels: Record<string, string> = {
  'auth.login': 'Signed in',
  'auth.login_failed': 'Failed sign-in',
  'auth.logout': 'Signed out',
  'auth.signup': 'Account created',
  'auth.password_changed': 'Password changed',
  'auth.email_verified': 'Email address confirmed',
  'auth.email_verification_sent': 'Confirmation link sent',
  'auth.email_released': 'Email address taken by its verified owner',
  'auth.signup_existing': 'Someone tried to sign up with your address',
  'auth.identity_linked': 'Identity linked',
  'auth.identity_unlinked': 'Identity unlinked',
};

const utc = (at: Date) => `${at.toISOString().replace('T', ' ').slice(0, 16)} UTC`;

function EmailCard(view: AccountView) {
  if (!view.user.email) {
    return (
      <Card title="Email address">
        <p class="text-sm text-slate-600 dark:text-slate-300">This account has no email address.</p>
      </Card>
    );
  }
  return (
    <Card title="Email address">
      <div id="email-verification" class="space-y-3 text-sm">
        <p>
          <span class="font-medium">{view.user.email}</span>{' '}
          {view.emailVerified ? (
            <span class="rounded bg-emerald-100 px-1.5 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300">
              Verified
            </span>
          ) : (
            <span class="rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-950 dark:text-amber-300">
              Not verified
            </span>
          )}
        </p>
        {view.emailVerified ? (
          view.emailVerifiedAt && (
            <p class="text-slate-600 dark:text-slate-300">Confirmed {utc(view.emailVerifiedAt)}.</p>
          )
        ) : (
          <>
            <p class="text-slate-600 dark:text-slate-300">
              Until you confirm it, access people share with this address reaches you only as an invitation by
              email.
            </p>
            {view.verificationSent && (
              <p role="status" class="text-emerald-700 dark:text-emerald-400">
                A new link is on its way; it works for 24 hours.
              </p>
            )}
            <form method="post" action="/account/email-verification">
              <Button variant="secondary">Send a new confirmation link</Button>
            </form>
          </>
        )}
      </div>
    </Card>
  );
}

function IdentitiesCard(view: AccountView) {
  if (!view.canLink && view.identities.length === 0) return null;
  return (
    <Card title="Single sign-on">
      <div id="identities" class="space-y-3 text-sm">
        <p class="text-slate-600 dark:text-slate-300">
          Link your identity at your organization’s identity provider, so that you can sign in with it and the
          services that check your access by that identity find your roles here.
        </p>
        {view.identities.map((identity) => (
          <div class="flex items-center justify-between gap-3">
            <span>
              <span class="font-mono">{identity.sub}</span>
              {identity.email ? ` (${identity.email})` : ''}, linked {utc(identity.linked_at)}
            </span>
            {view.hasPassword && (
              <form method="post" action="/account/identities/unlink">
                <input type="hidden" name="sub" value={identity.sub} />
                <Button variant="secondary">Unlink</Button>
              </form>
            )}
          </div>
        ))}
        {view.canLink && view.identities.length === 0 && (
          <form method="post" action="/auth/oidc/link">
            <Button>Link single sign-on identity</Button>
          </form>
        )}
      </div>
    </Card>
  );
}

export function AccountPage(view: AccountView) {
  return (
    <div class="max-w-3xl space-y-6">
      <PageHeader title="Your account" subtitle={view.user.email ?? view.user.user_id} />
      <EmailCard {...view} />
      <IdentitiesCard {...view} />
      {view.hasPassword ? (
        <Card title="Password">
          <ChangePasswordForm {...(view.passwordForm ?? {})} />
        </Card>
      ) : (
        <Card title="Password">
          <p class="text-sm text-slate-600 dark:text-slate-300">
            You sign in through your identity provider; there is no password here.
          </p>
        </Card>
      )}
      <Card title="Recent activity">
        {view.events.length === 0 ? (
          <p class="text-sm text-slate-600 dark:text-slate-300">Nothing yet.</p>
        ) : (
          <table class="min-w-full text-sm">
            <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" class="py-1">
                  When (UTC)
                </th>
                <th scope="col" class="py-1">
                  What
                </th>
                <th scope="col" class="py-1">
                  From
                </th>
              </tr>
            </thead>
            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
              {view.events.map((event) => (
                <tr>
                  <td class="py-1 tabular-nums">
                    {event.occurred_at.toISOString().replace('T', ' ').slice(0, 19)}
                  </td>
                  <td class="py-1">{actionLabels[event.action] ?? event.action}</td>
                  <td class="py-1 text-slate-500">{event.ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
