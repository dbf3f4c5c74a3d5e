import type { CreatedTokenJson, TokenJson, TokenSelfJson, TokenStatus } from '../../services/api-tokens.ts';
import {
  Button,
  Card,
  type FieldErrors,
  FormAlert,
  PageHeader,
  SelectField,
  TextField,
} from '../components/form.tsx';

export interface TokenScopeChoices {
  organizations: Array<{ org_id: string; name: string }>;
  projects: Array<{ project_id: string; name: string; org_name: string }>;
}

export interface TokenFormValues {
  name?: string;
  access?: string;
  scope?: string;
  expires_in_days?: string;
}

export interface TokensView {
  tokens: TokenJson[];
  scopes: TokenScopeChoices;
  form?: { values: TokenFormValues; errors?: FieldErrors; alert?: string };
  /** Set only in the answer to the request that created it: the one time the secret is shown. */
  created?: CreatedTokenJson;
}

const EXPIRY_OPTIONS = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: 'none', label: 'Never' },
];

function formatTime(value: Date | null): string {
  if (!value) return '—';
  return `${value.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function Time(props: { value: Date | null; empty?: string }) {
  if (!props.value) return <span class="text-slate-400 dark:text-slate-500">{props.empty ?? '—'}</span>;
  return <time datetime={props.value.toISOString()}>{formatTime(props.value)}</time>;
}

const statusStyles: Record<TokenStatus, string> = {
  active: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300',
  expired: 'bg-amber-50 text-amber-700 ring-amber-600/20 dark:bg-amber-950 dark:text-amber-300',
  revoked: 'bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300',
};

export function StatusBadge(props: { status: TokenStatus }) {
  return (
    <span
      class={`inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${statusStyles[props.status]}`}
    >
      {props.status}
    </span>
  );
}

function scopeLabel(token: { scope_type: string | null; scope_id: string | null }): string {
  return token.scope_type ? `${token.scope_type} ${token.scope_id}` : 'all your organizations';
}

/** One token in the list; also the fragment a revoke answers with, swapped over the old one. */
export function TokenRow(props: { token: TokenJson }) {
  const token = props.token;
  return (
    <li id={`token-${token.token_id}`} class="flex flex-wrap items-start justify-between gap-4 px-4 py-3">
      <div class="min-w-0 space-y-1">
        <div class="flex flex-wrap items-center gap-2">
          <span class="font-medium">{token.name}</span>
          <StatusBadge status={token.status} />
          <code class="text-xs text-slate-500 dark:text-slate-400">{token.token_id}</code>
        </div>
        <p class="text-sm text-slate-600 dark:text-slate-300">
          {token.access === 'read' ? 'Read-only' : 'Read and write'} · {scopeLabel(token)}
        </p>
        <dl class="grid grid-cols-[auto_1fr] gap-x-3 text-xs text-slate-500 dark:text-slate-400">
          <dt>Created</dt>
          <dd>
            <Time value={token.created_at} />
          </dd>
          <dt>Last used</dt>
          <dd>
            <Time value={token.last_used_at} empty="never" />
          </dd>
          <dt>{token.status === 'expired' ? 'Expired' : 'Expires'}</dt>
          <dd>
            <Time value={token.expires_at} empty="never" />
          </dd>
          {token.revoked_at && (
            <>
              <dt>Revoked</dt>
              <dd>
                <Time value={token.revoked_at} />
              </dd>
            </>
          )}
        </dl>
      </div>
      {token.status === 'active' && (
        <button
          type="button"
          hx-delete={`/tokens/${token.token_id}`}
          hx-confirm={`Revoke the token "${token.name}"? Anything that uses it stops working at once.`}
          hx-target={`#token-${token.token_id}`}
          hx-swap="outerHTML"
          class="rounded-md bg-white px-3 py-1.5 text-sm font-semibold text-rose-700 ring-1 ring-inset ring-rose-300 hover:bg-rose-50 dark:bg-slate-900 dark:text-rose-300 dark:ring-rose-900 dark:hover:bg-rose-950"
        >
          Revoke
        </button>
      )}
    </li>
  );
}

function TokenList(props: { tokens: TokenJson[] }) {
  if (props.tokens.length === 0) {
    return (
      <p class="rounded-lg border border-dashed border-slate-300 p-6 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300">
        You have no API tokens yet. Create one for a script, a CI job or a tool that calls the API.
      </p>
    );
  }
  return (
    <ul
      id="token-list"
      class="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
    >
      {props.tokens.map((token) => (
        <TokenRow token={token} />
      ))}
    </ul>
  );
}

/**
 * The secret, once: a read-only field to select and copy, and a warning that it will not return.
 * Also shows a new ingest token (project settings), with its own line on how to use it.
 */
export function NewTokenSecret(props: {
  created: Pick<CreatedTokenJson, 'name' | 'token'> & { expires_at?: Date | null };
  usage?: string;
}) {
  return (
    <section
      id="new-token"
      role="status"
      aria-labelledby="new-token-title"
      class="mb-6 rounded-lg border-2 border-amber-400 bg-amber-50 p-5 dark:border-amber-600 dark:bg-amber-950"
    >
      <h2 id="new-token-title" class="text-base font-semibold text-amber-900 dark:text-amber-100">
        Copy your new token “{props.created.name}” now
      </h2>
      <p class="mt-1 text-sm text-amber-900 dark:text-amber-200">
        <strong>It will not be shown again.</strong> ktrlplane keeps only a hash of it. If you lose it, revoke
        it and create another.
      </p>
      <label for="new-token-secret" class="mt-3 block text-sm font-medium text-amber-900 dark:text-amber-100">
        Token
      </label>
      <input
        id="new-token-secret"
        type="text"
        readonly
        autofocus
        autocomplete="off"
        spellcheck={false}
        value={props.created.token}
        class="mt-1 block w-full rounded-md border border-amber-300 bg-white px-3 py-2 font-mono text-sm text-slate-900 focus:outline-none focus:ring-2 focus:ring-amber-500 dark:border-amber-700 dark:bg-slate-950 dark:text-slate-100"
      />
      <p class="mt-2 text-xs text-amber-900 dark:text-amber-200">
        {props.usage ?? (
          <>
            Send it as <code>Authorization: Bearer &lt;token&gt;</code>.
          </>
        )}{' '}
        {props.created.expires_at
          ? `It expires at ${formatTime(props.created.expires_at)}.`
          : 'It does not expire; revoke it when you no longer need it.'}
      </p>
    </section>
  );
}

function scopeOptions(scopes: TokenScopeChoices) {
  return [
    { value: '', label: 'All my organizations and projects' },
    ...scopes.organizations.map((org) => ({
      value: `organization:${org.org_id}`,
      label: `Organization: ${org.name} (${org.org_id})`,
    })),
    ...scopes.projects.map((project) => ({
      value: `project:${project.project_id}`,
      label: `Project: ${project.org_name} / ${project.name} (${project.project_id})`,
    })),
  ];
}

export function CreateTokenForm(props: { scopes: TokenScopeChoices } & NonNullable<TokensView['form']>) {
  const errors: FieldErrors = { ...(props.errors ?? {}) };
  // JSON clients name the scope by two fields; the form has one select for both.
  const scopeError = errors.scope ?? errors.scope_type ?? errors.scope_id;
  if (scopeError) errors.scope = scopeError;
  const expiryError = errors.expires_in_days ?? errors.expires_at;
  if (expiryError) errors.expires_in_days = expiryError;
  return (
    <form
      id="create-token"
      method="post"
      action="/tokens"
      hx-post="/tokens"
      hx-target="#tokens-page"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <FormAlert message={props.alert} />
      <TextField
        label="Name"
        name="name"
        value={props.values.name}
        errors={errors}
        required
        maxlength={100}
        placeholder="CI deploys"
        help="Say where the token is used, so you know what breaks when you revoke it."
      />
      <SelectField
        label="Access"
        name="access"
        value={props.values.access ?? 'read-write'}
        errors={errors}
        options={[
          { value: 'read-write', label: 'Read and write' },
          { value: 'read', label: 'Read-only' },
        ]}
      />
      <SelectField
        label="Limit to"
        name="scope"
        value={props.values.scope ?? ''}
        errors={errors}
        options={scopeOptions(props.scopes)}
        help="A limited token can do nothing outside that organization or project, whatever your roles."
      />
      <SelectField
        label="Expires after"
        name="expires_in_days"
        value={props.values.expires_in_days ?? '30'}
        errors={errors}
        options={EXPIRY_OPTIONS}
      />
      <Button>Create token</Button>
    </form>
  );
}

export function TokensPage(view: TokensView) {
  return (
    <div id="tokens-page">
      <PageHeader
        title="API tokens"
        subtitle="Personal tokens act as you on the API (Authorization: Bearer …), within the limits you give them."
      />
      {view.created && <NewTokenSecret created={view.created} />}
      <div class="grid gap-8 lg:grid-cols-3">
        <div class="lg:col-span-2">
          <TokenList tokens={view.tokens} />
        </div>
        <Card title="New token">
          <CreateTokenForm scopes={view.scopes} {...(view.form ?? { values: {} })} />
        </Card>
      </div>
    </div>
  );
}

/** What a bearer token is (GET /tokens/self for a browser-ish client; API clients get JSON). */
export function TokenSelfPage(view: TokenSelfJson) {
  return (
    <div>
      <PageHeader title={`Token “${view.name}”`} subtitle={<code>{view.token_id}</code>} />
      <Card>
        <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
          <dt class="font-medium">Status</dt>
          <dd>
            <StatusBadge status={view.status} />
          </dd>
          <dt class="font-medium">Access</dt>
          <dd>{view.access === 'read' ? 'Read-only' : 'Read and write'}</dd>
          <dt class="font-medium">Scope</dt>
          <dd>{scopeLabel(view)}</dd>
          <dt class="font-medium">May do there</dt>
          <dd>{view.permissions ? view.permissions.actions.join(', ') || 'nothing' : view.note}</dd>
          <dt class="font-medium">Expires</dt>
          <dd>
            <Time value={view.expires_at} empty="never" />
          </dd>
        </dl>
      </Card>
    </div>
  );
}
