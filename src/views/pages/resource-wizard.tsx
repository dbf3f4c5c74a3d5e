import type { Child } from 'hono/jsx';
import type { SettingsChange } from '../../lib/settings-diff.ts';
import type { ResourceTypeDefinition } from '../../schemas/resource-types/resource-type.ts';
import { Button, Card, type FieldErrors, FormAlert, PageHeader, TextField } from '../components/form.tsx';
import { SettingsChanges, SettingsDocument } from '../components/settings-review.tsx';

/** The resource creation wizard: 1 type and SKU, 2 configuration, 3 review, then create. */
export interface WizardBasics {
  type: string;
  sku: string;
  name: string;
  resource_id: string;
}

function Steps(props: { current: 1 | 2 | 3 }) {
  const steps = ['Type and SKU', 'Configuration', 'Review'];
  return (
    <ol class="mb-6 flex gap-4 text-sm" aria-label="Steps">
      {steps.map((label, index) => (
        <li
          aria-current={index + 1 === props.current ? 'step' : undefined}
          class={
            index + 1 === props.current
              ? 'font-semibold text-indigo-700 dark:text-indigo-300'
              : 'text-slate-500'
          }
        >
          {index + 1}. {label}
        </li>
      ))}
    </ol>
  );
}

function TypeIcon(props: { type: ResourceTypeDefinition }) {
  return (
    <svg
      viewBox={props.type.icon.viewBox}
      class="size-8 text-indigo-600"
      fill="none"
      stroke="currentColor"
      stroke-width="1.5"
      aria-hidden="true"
    >
      {props.type.icon.paths.map((d) => (
        <path d={d} stroke-linecap="round" stroke-linejoin="round" />
      ))}
    </svg>
  );
}

export interface ChooseTypeView {
  projectId: string;
  projectName: string;
  types: ResourceTypeDefinition[];
  values: Partial<WizardBasics>;
  errors?: FieldErrors;
}

export function ChooseTypePage(view: ChooseTypeView) {
  const chosenType = view.values.type ?? view.types[0]?.name;
  return (
    <div>
      <PageHeader title="New resource" eyebrow={view.projectName} />
      <Steps current={1} />
      <form method="get" action={`/projects/${view.projectId}/resources/new/configure`} class="space-y-6">
        <fieldset>
          <legend class="mb-2 text-sm font-medium">Type</legend>
          <div class="grid gap-4 md:grid-cols-2">
            {view.types.map((type) => (
              <label class="flex cursor-pointer gap-3 rounded-lg border border-slate-200 bg-white p-4 has-[:checked]:border-indigo-500 has-[:checked]:ring-2 has-[:checked]:ring-indigo-500/30 dark:border-slate-800 dark:bg-slate-900">
                <input
                  type="radio"
                  name="type"
                  value={type.name}
                  checked={type.name === chosenType}
                  class="mt-1"
                />
                <TypeIcon type={type} />
                <span>
                  <span class="block font-medium">{type.displayName}</span>
                  <span class="block text-sm text-slate-600 dark:text-slate-300">{type.description}</span>
                </span>
              </label>
            ))}
          </div>
          {view.errors?.type && <p class="mt-1 text-sm text-rose-600">{view.errors.type}</p>}
        </fieldset>
        <fieldset>
          <legend class="mb-2 text-sm font-medium">SKU</legend>
          <div class="grid gap-4 md:grid-cols-2">
            {(['free', 'standard'] as const).map((sku) => {
              const definition = view.types.find((type) => type.name === chosenType)?.skus[sku];
              return (
                <label class="flex cursor-pointer gap-3 rounded-lg border border-slate-200 bg-white p-4 has-[:checked]:border-indigo-500 has-[:checked]:ring-2 has-[:checked]:ring-indigo-500/30 dark:border-slate-800 dark:bg-slate-900">
                  <input
                    type="radio"
                    name="sku"
                    value={sku}
                    checked={(view.values.sku ?? 'free') === sku}
                    class="mt-1"
                  />
                  <span>
                    <span class="block font-medium">{definition?.displayName ?? sku}</span>
                    <span class="block text-sm text-slate-600 dark:text-slate-300">
                      {definition?.description}
                    </span>
                    <ul class="mt-2 list-disc pl-5 text-xs text-slate-600 dark:text-slate-400">
                      {definition?.features.map((feature) => (
                        <li>{feature}</li>
                      ))}
                    </ul>
                  </span>
                </label>
              );
            })}
          </div>
          <p class="mt-1 text-xs text-slate-500">
            SKU features shown for the selected type; every type offers both SKUs.
          </p>
        </fieldset>
        <div class="grid max-w-xl gap-4">
          <TextField
            label="Name"
            name="name"
            value={view.values.name}
            errors={view.errors}
            required
            maxlength={200}
          />
          <TextField
            label="Id (optional)"
            name="resource_id"
            value={view.values.resource_id}
            errors={view.errors}
            maxlength={63}
            help="Becomes the Kubernetes name of the workload; cannot change later. Leave empty to derive it from the name."
          />
        </div>
        <Button>Continue</Button>
      </form>
    </div>
  );
}

function BasicsHidden(props: { basics: WizardBasics }) {
  return (
    <>
      <input type="hidden" name="type" value={props.basics.type} />
      <input type="hidden" name="sku" value={props.basics.sku} />
      <input type="hidden" name="name" value={props.basics.name} />
      <input type="hidden" name="resource_id" value={props.basics.resource_id} />
    </>
  );
}

export interface ConfigureView {
  projectId: string;
  projectName: string;
  type: ResourceTypeDefinition;
  basics: WizardBasics;
  form: (hidden: Child) => Child;
}

export function ConfigurePage(view: ConfigureView) {
  const base = `/projects/${view.projectId}/resources/new/configure`;
  const query = (preset: string) => new URLSearchParams({ ...view.basics, preset }).toString();
  const basicsQuery = new URLSearchParams({ ...view.basics }).toString();
  const back = `/projects/${view.projectId}/resources/new?${basicsQuery}`;
  return (
    <div>
      <PageHeader
        title={`Configure ${view.basics.name}`}
        eyebrow={`${view.projectName} / ${view.type.displayName} (${view.basics.sku})`}
      />
      <Steps current={2} />
      <div class="grid gap-8 lg:grid-cols-3">
        <div class="lg:col-span-2">{view.form(<BasicsHidden basics={view.basics} />)}</div>
        <Card title="Start from a preset">
          <ul class="space-y-3 text-sm">
            {view.type.presets.map((preset) => (
              <li>
                <a
                  class="font-medium text-indigo-700 hover:underline dark:text-indigo-300"
                  href={`${base}?${query(preset.id)}`}
                >
                  {preset.name}
                </a>
                <span class="ml-1 text-xs text-slate-500">({preset.sku})</span>
                <p class="text-slate-600 dark:text-slate-300">{preset.description}</p>
              </li>
            ))}
          </ul>
          <p class="mt-4 text-sm">
            <a href={back} class="text-slate-600 hover:underline dark:text-slate-300">
              ← Back to type and SKU
            </a>
          </p>
        </Card>
      </div>
    </div>
  );
}

export interface ReviewView {
  projectId: string;
  projectName: string;
  basics: WizardBasics;
  /** The draft under review; creating posts only its id, never the settings themselves. */
  draftId: string;
  /** Settings as they will be stored, with secret values masked. */
  maskedSettings: Record<string, unknown>;
  /** What differs from the type's defaults (secrets masked). */
  changes: SettingsChange[];
  row: Record<string, unknown>;
  alert?: string;
  /** Set when the plan does not allow this resource (402): where to subscribe. */
  billingUrl?: string;
}

export function ReviewPage(view: ReviewView) {
  const back = `/projects/${view.projectId}/resources/new/configure?draft=${encodeURIComponent(view.draftId)}`;
  return (
    <div>
      <PageHeader
        title={`Review ${view.basics.name}`}
        eyebrow={`${view.projectName} / ${view.basics.type} (${view.basics.sku})`}
      />
      <Steps current={3} />
      <FormAlert message={view.alert} />
      {view.billingUrl && (
        <p class="mb-4">
          <a
            href={view.billingUrl}
            class="inline-flex rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
          >
            Go to billing
          </a>
        </p>
      )}
      <div class="grid gap-6 lg:grid-cols-2">
        <Card title="Settings">
          <SettingsDocument settings={view.maskedSettings} id="review-settings" />
        </Card>
        <Card title="The row the operator will read">
          <pre
            class="max-h-[32rem] overflow-auto rounded bg-slate-50 p-3 text-xs dark:bg-slate-950"
            data-testid="review-row"
          >
            {JSON.stringify(view.row, null, 2)}
          </pre>
        </Card>
        <div class="lg:col-span-2">
          <Card title="Changes from the type's defaults">
            <SettingsChanges
              changes={view.changes}
              empty="These are the type's default settings."
              caption="Settings that differ from the type's defaults"
            />
          </Card>
        </div>
      </div>
      <form
        method="post"
        action={`/projects/${view.projectId}/resources/new/review`}
        class="mt-6 flex items-center gap-4"
      >
        <input type="hidden" name="draft" value={view.draftId} />
        <Button>Create resource</Button>
        <a href={back} class="text-sm text-slate-600 hover:underline dark:text-slate-300">
          ← Back to configuration
        </a>
      </form>
    </div>
  );
}
