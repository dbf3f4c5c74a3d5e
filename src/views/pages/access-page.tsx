import type { Child } from 'hono/jsx';
import type { InvitationListing } from '../../db/invitations.repository.ts';
import type { AssignmentListing, Candidate, RoleOption } from '../../db/role-assignments.repository.ts';
import { ROLE } from '../../lib/roles.ts';
import type { AccessOverview } from '../../services/access.ts';
import { Button, Card, type FieldErrors, FormAlert, PageHeader, SelectField } from '../components/form.tsx';
import { organizationTabs } from './organization-pages.tsx';
import { projectTabs } from './project-pages.tsx';

/** The access page of one scope: direct, inherited, invitations, and the grant form. */
export interface AccessPageView extends AccessOverview {
  /** The scope's page, e.g. /projects/web-1a2b; the access routes hang below it. */
  basePath: string;
  /** Everything the caller may do here (for the section tabs). */
  permissions: string[];
  form?: GrantFormState;
}

export interface GrantFormState {
  values: { email?: string; role_id?: string; expires_at?: string };
  errors?: FieldErrors;
  alert?: string;
  /** Said after a grant, above the emptied form. */
  notice?: string;
}

const inputClass =
  'mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-900';
const compactInputClass =
  'block rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-700 dark:bg-slate-900';
const smallButton =
  'rounded-md px-2 py-1 text-xs font-semibold ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:ring-slate-700 dark:hover:bg-slate-800';
const smallDangerButton =
  'rounded-md px-2 py-1 text-xs font-semibold text-rose-700 ring-1 ring-inset ring-rose-300 hover:bg-rose-50 dark:text-rose-300 dark:ring-rose-900 dark:hover:bg-rose-950';
const th =
  'px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400';
const td = 'px-3 py-2 align-top text-sm';

const scopeNouns = { organization: 'Organization', project: 'Project', resource: 'Resource' } as const;

function dateOnly(date: Date | null): string {
  return date ? date.toISOString().slice(0, 10) : '';
}

function dateTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function Person(props: { email: string | null; name: string | null; userId?: string }) {
  return (
    <div>
      <div class="font-medium">{props.name ?? props.email ?? props.userId}</div>
      {props.email && props.name && (
        <div class="text-xs text-slate-500 dark:text-slate-400">{props.email}</div>
      )}
    </div>
  );
}

function ExpiredBadge() {
  return (
    <span class="ml-2 inline-flex rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-950 dark:text-amber-300">
      expired
    </span>
  );
}

function Expiry(props: { expiresAt: Date | null; expired: boolean }) {
  if (!props.expiresAt) return <span class="text-slate-500 dark:text-slate-400">never</span>;
  return (
    <span>
      <time datetime={props.expiresAt.toISOString()}>{dateTime(props.expiresAt)}</time>
      {props.expired && <ExpiredBadge />}
    </span>
  );
}

function RowError(props: { message?: string | undefined }) {
  if (!props.message) return null;
  return (
    <p role="alert" class="mt-1 text-sm text-rose-600 dark:text-rose-400">
      {props.message}
    </p>
  );
}

/** One direct assignment; with manage_access its role and expiry change in place and it can be revoked. */
export function AssignmentRow(props: {
  assignment: AssignmentListing;
  roles: RoleOption[];
  basePath: string;
  canManage: boolean;
  error?: string | undefined;
}) {
  const a = props.assignment;
  const url = `${props.basePath}/access/${a.assignment_id}`;
  const who = a.email ?? a.name ?? a.user_id;
  const grantable = props.roles.some((role) => role.role_id === a.role_id);
  return (
    <tr id={`assignment-${a.assignment_id}`} class={a.expired ? 'opacity-70' : undefined}>
      <td class={td}>
        <Person email={a.email} name={a.name} userId={a.user_id} />
        <RowError message={props.error} />
      </td>
      <td class={td}>
        {props.canManage && grantable ? (
          <select
            name="role_id"
            aria-label={`Role of ${who}`}
            class={compactInputClass}
            hx-patch={url}
            hx-target="closest tr"
            hx-swap="outerHTML"
          >
            {props.roles.map((role) => (
              <option value={role.role_id} selected={role.role_id === a.role_id}>
                {role.display_name}
              </option>
            ))}
          </select>
        ) : (
          a.role_name
        )}
      </td>
      <td class={td}>
        {props.canManage ? (
          <div>
            <input
              type="date"
              name="expires_at"
              value={dateOnly(a.expires_at)}
              aria-label={`Expiry of ${who}'s role (empty: never)`}
              class={compactInputClass}
              hx-patch={url}
              hx-target="closest tr"
              hx-swap="outerHTML"
            />
            {a.expired && <ExpiredBadge />}
          </div>
        ) : (
          <Expiry expiresAt={a.expires_at} expired={a.expired} />
        )}
      </td>
      {props.canManage && (
        <td class={`${td} text-right`}>
          <button
            type="button"
            class={smallDangerButton}
            hx-delete={url}
            hx-confirm={`Revoke the ${a.role_name} role of ${who}? They lose it on their next request.`}
            hx-target="closest tr"
            hx-swap="outerHTML"
          >
            Revoke
          </button>
        </td>
      )}
    </tr>
  );
}

/** One pending invitation; with manage_access it can be sent again (new link) or revoked. */
export function InvitationRow(props: {
  invitation: InvitationListing;
  basePath: string;
  canManage: boolean;
  notice?: string | undefined;
}) {
  const i = props.invitation;
  const url = `${props.basePath}/access/invitations/${i.invitation_id}`;
  return (
    <tr id={`invitation-${i.invitation_id}`}>
      <td class={td}>
        <div class="font-medium">{i.email}</div>
        {i.inviter_email && (
          <div class="text-xs text-slate-500 dark:text-slate-400">invited by {i.inviter_email}</div>
        )}
        {props.notice && (
          <p role="status" class="mt-1 text-sm text-emerald-700 dark:text-emerald-400">
            {props.notice}
          </p>
        )}
      </td>
      <td class={td}>{i.role_name}</td>
      <td class={td}>
        <Expiry expiresAt={i.assignment_expires_at} expired={false} />
      </td>
      <td class={td}>
        <Expiry expiresAt={i.expires_at} expired={i.expired} />
      </td>
      {props.canManage && (
        <td class={`${td} text-right`}>
          <div class="flex justify-end gap-2">
            <form
              method="post"
              action={`${url}/resend`}
              hx-post={`${url}/resend`}
              hx-target="closest tr"
              hx-swap="outerHTML"
            >
              <button type="submit" class={smallButton}>
                Resend
              </button>
            </form>
            <button
              type="button"
              class={smallDangerButton}
              hx-delete={url}
              hx-confirm={`Revoke the invitation of ${i.email}? Its link stops working.`}
              hx-target="closest tr"
              hx-swap="outerHTML"
            >
              Revoke
            </button>
          </div>
        </td>
      )}
    </tr>
  );
}

function Table(props: { headers: string[]; children: Child; empty: string; count: number }) {
  if (props.count === 0) {
    return (
      <p class="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300">
        {props.empty}
      </p>
    );
  }
  return (
    <div class="overflow-x-auto">
      <table class="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
        <thead>
          <tr>
            {props.headers.map((header) => (
              <th scope="col" class={th}>
                {header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody class="divide-y divide-slate-100 dark:divide-slate-800">{props.children}</tbody>
      </table>
    </div>
  );
}

/** Suggestions for the grant form's email field (a <datalist>'s options). */
export function CandidateOptions(props: { candidates: Candidate[] }) {
  return (
    <>
      {props.candidates
        .filter((candidate) => candidate.email)
        .map((candidate) => (
          <option value={candidate.email ?? ''}>
            {`${candidate.name ?? candidate.email}${candidate.member ? '' : ' (not a member yet)'}`}
          </option>
        ))}
    </>
  );
}

/** The same suggestions as a list (the member search opened as a page). */
export function CandidateList(props: { candidates: Candidate[] }) {
  return (
    <ul class="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
      {props.candidates.map((candidate) => (
        <li class="px-4 py-2">
          {candidate.name ?? candidate.email ?? candidate.user_id}
          {candidate.email && <span class="ml-2 text-slate-500">{candidate.email}</span>}
          {!candidate.member && <span class="ml-2 text-xs text-slate-500">(not a member yet)</span>}
        </li>
      ))}
    </ul>
  );
}

/** Grant a role to a member or an email; an unknown email gets an invitation. */
export function GrantForm(props: {
  basePath: string;
  roles: RoleOption[];
  state?: GrantFormState | undefined;
}) {
  const state = props.state ?? { values: {} };
  const errors = state.errors ?? {};
  const action = `${props.basePath}/access`;
  const emailError = errors.email ?? errors.user_id;
  const expiryError = errors.expires_at;
  return (
    <form
      id="grant-access"
      method="post"
      action={action}
      hx-post={action}
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <FormAlert message={state.alert} />
      {state.notice && (
        <p
          role="status"
          class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300"
        >
          {state.notice}
        </p>
      )}
      <div>
        <label for="grant-email" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
          Email
        </label>
        <input
          id="grant-email"
          name="email"
          type="email"
          value={state.values.email}
          list="grant-candidates"
          autocomplete="off"
          required
          placeholder="name@example.com"
          aria-invalid={emailError ? 'true' : undefined}
          aria-describedby={emailError ? 'grant-email-error' : 'grant-email-help'}
          class={inputClass + (emailError ? ' border-rose-500 dark:border-rose-500' : '')}
          hx-get={`${action}/candidates`}
          hx-trigger="input changed delay:300ms"
          hx-target="#grant-candidates"
          hx-swap="innerHTML"
        />
        <datalist id="grant-candidates" />
        <p id="grant-email-help" class="mt-1 text-xs text-slate-500 dark:text-slate-400">
          Members of the organization are suggested as you type. Someone without an account gets an invitation
          email (the link works for 7 days).
        </p>
        {emailError && (
          <p id="grant-email-error" class="mt-1 text-sm text-rose-600 dark:text-rose-400">
            {emailError}
          </p>
        )}
      </div>
      <SelectField
        label="Role"
        name="role_id"
        value={state.values.role_id ?? ROLE.viewer}
        errors={errors}
        options={props.roles.map((role) => ({
          value: role.role_id,
          label:
            role.plane === 'data'
              ? `${role.display_name} (data plane: ${role.resource_types.join(', ')}) — ${role.description}`
              : `${role.display_name} — ${role.description}`,
        }))}
      />
      <p class="-mt-2 text-xs text-slate-500 dark:text-slate-400">
        Owner, Editor and Viewer decide what someone may do here in ktrlplane. Data-plane roles decide what
        they may do inside a resource (read or change a graph's twins, models and import jobs); a data plane
        remembers an answer for up to 5 minutes, so a change can take that long to reach it.
      </p>
      <div>
        <label for="grant-expires-at" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
          Expires on (optional)
        </label>
        <input
          id="grant-expires-at"
          name="expires_at"
          type="date"
          value={state.values.expires_at}
          aria-invalid={expiryError ? 'true' : undefined}
          class={inputClass + (expiryError ? ' border-rose-500 dark:border-rose-500' : '')}
        />
        <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">
          The role stops granting anything when this day starts (UTC). Empty: it never expires.
        </p>
        {expiryError && <p class="mt-1 text-sm text-rose-600 dark:text-rose-400">{expiryError}</p>}
      </div>
      <Button>Grant access</Button>
    </form>
  );
}

function scopeTabs(view: AccessPageView) {
  if (view.scope.type === 'organization') return organizationTabs(view.scope.id, 'access', view.permissions);
  if (view.scope.type === 'project') return projectTabs(view.scope.id, 'access', view.permissions);
  return null;
}

function Eyebrow(props: { view: AccessPageView }) {
  const { scope } = props.view;
  return (
    <span>
      <a class="hover:underline" href={`/organizations/${scope.org_id}`}>
        {scope.organization_name}
      </a>
      {scope.project_id && (
        <>
          {' / '}
          <a class="hover:underline" href={`/projects/${scope.project_id}`}>
            {scope.project_name ?? scope.project_id}
          </a>
        </>
      )}
      {scope.resource_id && ` / ${scope.resource_name ?? scope.resource_id}`}
    </span>
  );
}

export function AccessPage(view: AccessPageView) {
  const canManage = view.can_manage;
  const noun = scopeNouns[view.scope.type].toLowerCase();
  return (
    <div id="access-page">
      <PageHeader
        eyebrow={<Eyebrow view={view} />}
        title={`Access to ${view.scope.name}`}
        subtitle={`Who holds which role on this ${noun}. Roles on the scopes above apply here too.`}
      />
      {scopeTabs(view)}
      <div class="grid gap-8 lg:grid-cols-3">
        <div class="space-y-8 lg:col-span-2">
          <Card title={`Roles on this ${noun}`}>
            <Table
              headers={canManage ? ['Person', 'Role', 'Expires', ''] : ['Person', 'Role', 'Expires']}
              count={view.assignments.length}
              empty={`Nobody holds a role on this ${noun} directly.`}
            >
              {view.assignments.map((assignment) => (
                <AssignmentRow
                  assignment={assignment}
                  roles={view.roles}
                  basePath={view.basePath}
                  canManage={canManage}
                />
              ))}
            </Table>
          </Card>
          {view.scope.type !== 'organization' && (
            <Card title="Inherited roles">
              <Table
                headers={['Person', 'Role', 'From', 'Expires']}
                count={view.inherited.length}
                empty="Nobody holds a role on the scopes above."
              >
                {view.inherited.map((a) => (
                  <tr class={a.expired ? 'opacity-70' : undefined}>
                    <td class={td}>
                      <Person email={a.email} name={a.name} userId={a.user_id} />
                    </td>
                    <td class={td}>{a.role_name}</td>
                    <td class={td}>
                      {scopeNouns[a.scope_type as keyof typeof scopeNouns] ?? a.scope_type} {a.scope_name}
                    </td>
                    <td class={td}>
                      <Expiry expiresAt={a.expires_at} expired={a.expired} />
                    </td>
                  </tr>
                ))}
              </Table>
            </Card>
          )}
          <Card title="Pending invitations">
            <Table
              headers={
                canManage
                  ? ['Email', 'Role', 'Role expires', 'Link expires', '']
                  : ['Email', 'Role', 'Role expires', 'Link expires']
              }
              count={view.invitations.length}
              empty="No invitations are waiting."
            >
              {view.invitations.map((invitation) => (
                <InvitationRow invitation={invitation} basePath={view.basePath} canManage={canManage} />
              ))}
            </Table>
          </Card>
        </div>
        {canManage ? (
          <Card title="Grant access">
            <GrantForm basePath={view.basePath} roles={view.roles} state={view.form} />
          </Card>
        ) : (
          <Card title="Grant access">
            <p class="text-sm text-slate-600 dark:text-slate-300">
              Only Owners of this {noun} (or of a scope above it) can grant, change or revoke roles.
            </p>
          </Card>
        )}
      </div>
    </div>
  );
}
