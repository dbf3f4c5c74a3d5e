import type { InvitationDetails } from '../../db/invitations.repository.ts';

export interface InvitationPageView {
  invitation: InvitationDetails;
  /** Sign-up with the token and the invited email filled in. */
  signup_url: string;
  /** Sign-in with the token, for someone who already has an account. */
  login_url: string;
  /** False when sign-up is disabled here (accounts come from the identity provider). */
  signup_open: boolean;
}

const nouns = { organization: 'organization', project: 'project', resource: 'resource' } as const;

const linkButton =
  'inline-flex items-center justify-center rounded-md px-3 py-2 text-sm font-semibold shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2';

/** The page an invitation link opens: who invited you to what, and how to accept. */
export function InvitationPage(view: InvitationPageView) {
  const i = view.invitation;
  const inviter = i.inviter_name ?? i.inviter_email ?? 'Someone';
  return (
    <div class="mx-auto mt-8 max-w-md rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <h1 class="text-2xl font-semibold tracking-tight">You are invited</h1>
      <p class="mt-3 text-sm text-slate-700 dark:text-slate-200">
        <strong>{inviter}</strong>
        {i.inviter_name && i.inviter_email ? ` (${i.inviter_email})` : ''} invited <strong>{i.email}</strong>{' '}
        to the {nouns[i.scope_type]} <strong>{i.scope_name}</strong>
        {i.scope_type !== 'organization' ? ` of the organization ${i.organization_name}` : ''} as{' '}
        <strong>{i.role_name}</strong>.
      </p>
      {i.role_description && (
        <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{i.role_description}.</p>
      )}
      {i.assignment_expires_at && (
        <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">
          The role ends on {i.assignment_expires_at.toISOString().slice(0, 10)}.
        </p>
      )}
      <p class="mt-4 text-sm text-slate-600 dark:text-slate-300">
        Accept it by signing up or signing in with <strong>{i.email}</strong>: the invitation works only for
        that address. This link expires on {i.expires_at.toISOString().slice(0, 16).replace('T', ' ')} UTC.
      </p>
      <div class="mt-6 flex gap-3">
        {view.signup_open && (
          <a
            href={view.signup_url}
            class={`${linkButton} bg-indigo-600 text-white hover:bg-indigo-500 focus-visible:outline-indigo-600`}
          >
            Sign up
          </a>
        )}
        <a
          href={view.login_url}
          class={`${linkButton} bg-white text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700`}
        >
          Sign in
        </a>
      </div>
    </div>
  );
}
