import type { SettingsChange } from '../../lib/settings-diff.ts';
import type { ResourceView } from '../../services/resources.ts';
import { Button, Card, FormAlert, PageHeader } from '../components/form.tsx';
import { SettingsChanges, SettingsDocument } from '../components/settings-review.tsx';
import { resourceTabs } from './resource-pages.tsx';

export interface SettingsReviewView {
  resource: ResourceView;
  projectName: string;
  draftId: string;
  /** The settings the change would store, secrets masked. */
  maskedSettings: Record<string, unknown>;
  /** Field by field, stored settings → proposed settings (secrets masked). */
  changes: SettingsChange[];
  /** The row the operator will read after the change; null when it cannot be applied as it is. */
  row: Record<string, unknown> | null;
  alert?: string;
}

/** Step between editing settings and storing them: the diff, the resulting row, then apply. */
export function SettingsReviewPage(view: SettingsReviewView) {
  const r = view.resource;
  const base = `/projects/${r.project_id}/resources/${r.resource_id}/settings`;
  return (
    <div>
      <PageHeader
        title={`Review changes to ${r.name}`}
        eyebrow={
          <a href={`/projects/${r.project_id}/resources`} class="hover:underline">
            {view.projectName} / Resources
          </a>
        }
        subtitle={`${r.type} · ${r.sku} · version ${r.generation}`}
      />
      {resourceTabs(r, 'settings')}
      <FormAlert message={view.alert} />
      <div class="grid gap-6 lg:grid-cols-2">
        <div class="lg:col-span-2">
          <Card title={`Changes (${view.changes.length})`}>
            <SettingsChanges
              changes={view.changes}
              empty="Nothing changes: these are the stored settings."
              caption="Settings that change, stored value and new value"
            />
          </Card>
        </div>
        <Card title="New settings">
          <SettingsDocument settings={view.maskedSettings} id="review-settings" />
        </Card>
        <Card title="The row the operator will read">
          <pre
            class="max-h-[32rem] overflow-auto rounded bg-slate-50 p-3 text-xs dark:bg-slate-950"
            data-testid="review-row"
          >
            {view.row ? JSON.stringify(view.row, null, 2) : 'This change cannot be applied as it stands.'}
          </pre>
        </Card>
      </div>
      <form method="post" action={`${base}/review`} class="mt-6 flex items-center gap-4">
        <input type="hidden" name="draft" value={view.draftId} />
        {view.row && view.changes.length > 0 && <Button>Apply changes</Button>}
        <a
          href={`${base}?draft=${encodeURIComponent(view.draftId)}`}
          class="text-sm text-slate-600 hover:underline dark:text-slate-300"
        >
          ← Back to editing
        </a>
        <a href={base} class="text-sm text-slate-600 hover:underline dark:text-slate-300">
          Discard
        </a>
      </form>
    </div>
  );
}
