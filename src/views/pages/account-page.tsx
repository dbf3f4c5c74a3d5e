import type { AuditEvent } from '../../db/types.ts';
import { Button, Card, type FieldErrors, FormAlert, PageHeader, TextField } from '../components/form.tsx';

export interface AccountView {
  user: { user_id: string; email: string | null; name: string | null; kind: string };
  hasPassword: boolean;
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
};

export function AccountPage(view: AccountView) {
  return (
    <div class="max-w-3xl space-y-6">
      <PageHeader title="Your account" subtitle={view.user.email ?? view.user.user_id} />
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
