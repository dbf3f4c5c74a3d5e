import type { CreatedIngestTokenJson, IngestTokenJson } from '../../services/logs/ingest-tokens.ts';
import { Button, type FieldErrors, TextField } from '../components/form.tsx';
import { ShipperConfigs } from './shipper-configs.tsx';
import { NewTokenSecret, StatusBadge, Time } from './tokens-page.tsx';

/**
 * The "Log ingest tokens" section of a project's settings page: the list with counters, a revoke
 * button per active token, a create form, and — only in the answer to the create — the secret.
 * Swapped whole (#ingest-tokens) by htmx after a create or revoke.
 */
export interface IngestTokensSectionView {
  projectId: string;
  baseUrl: string;
  tokens: IngestTokenJson[];
  /** The project's resources, for the shipper configurations' resource_id. */
  resourceIds: string[];
  created?: CreatedIngestTokenJson | undefined;
  values?: { name?: string | undefined };
  errors?: FieldErrors | undefined;
}

export function IngestTokensSection(view: IngestTokensSectionView) {
  const action = `/projects/${view.projectId}/ingest-tokens`;
  return (
    <section
      id="ingest-tokens"
      aria-labelledby="ingest-tokens-title"
      class="rounded-lg border border-slate-200 bg-white p-5 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 id="ingest-tokens-title" class="text-base font-semibold">
        Log ingest tokens
      </h2>
      <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
        Log shippers send lines with one of these: OTLP/HTTP (protobuf or JSON) to{' '}
        <code>{view.baseUrl}/v1/logs</code> (the resource is the <code>resource_id</code> resource attribute)
        or Loki push (protobuf with snappy, or JSON) to <code>{view.baseUrl}/loki/api/v1/push</code> (the{' '}
        <code>resource_id</code> label), with <code>Authorization: Bearer &lt;token&gt;</code> or the token as
        the basic-auth password. A token writes only to this project's resources.
      </p>
      {view.created && (
        <div class="mt-4">
          <NewTokenSecret
            created={view.created}
            usage="Configure your shipper with it; it writes only to this project's resources."
          />
        </div>
      )}
      {view.tokens.length === 0 ? (
        <p class="mt-4 text-sm text-slate-600 dark:text-slate-300">No ingest tokens yet.</p>
      ) : (
        <ul class="mt-4 divide-y divide-slate-200 dark:divide-slate-800">
          {view.tokens.map((token) => (
            <li class="flex flex-wrap items-start justify-between gap-4 py-3">
              <div class="min-w-0 space-y-1">
                <div class="flex flex-wrap items-center gap-2">
                  <span class="font-medium">{token.name}</span>
                  <StatusBadge status={token.status} />
                  <code class="text-xs text-slate-500 dark:text-slate-400">{token.token_id}</code>
                </div>
                <p class="text-xs text-slate-500 dark:text-slate-400">
                  {token.accepted_lines.toLocaleString('en-US')} lines stored ·{' '}
                  {token.rejected_lines.toLocaleString('en-US')} refused · created{' '}
                  <Time value={token.created_at} /> · last used{' '}
                  <Time value={token.last_used_at} empty="never" />
                </p>
              </div>
              {token.status === 'active' && (
                <button
                  type="button"
                  hx-post={`${action}/${token.token_id}/revoke`}
                  hx-confirm={`Revoke the ingest token "${token.name}"? Shippers using it are refused at once.`}
                  hx-target="#ingest-tokens"
                  hx-swap="outerHTML"
                  class="rounded-md bg-white px-3 py-1.5 text-sm font-semibold text-rose-700 ring-1 ring-inset ring-rose-300 hover:bg-rose-50 dark:bg-slate-900 dark:text-rose-300 dark:ring-rose-900 dark:hover:bg-rose-950"
                >
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <form
        method="post"
        action={action}
        hx-post={action}
        hx-target="#ingest-tokens"
        hx-swap="outerHTML"
        class="mt-4 flex flex-wrap items-end gap-3"
        novalidate
      >
        <div class="min-w-64 flex-1">
          <TextField
            label="New token name"
            name="name"
            value={view.values?.name}
            errors={view.errors}
            required
            maxlength={100}
            placeholder="otel-collector"
          />
        </div>
        <Button>Create ingest token</Button>
      </form>
      <ShipperConfigs baseUrl={view.baseUrl} resourceIds={view.resourceIds} />
    </section>
  );
}
