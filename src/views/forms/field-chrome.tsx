import type { Child } from 'hono/jsx';
import { toJsonPointer } from '../../lib/errors.ts';
import { type FieldDescriptor, type FormFocus, fieldId, type PathSegment } from '../../lib/form-data.ts';

/**
 * What every field renderer of the form engine shares: where a field is (name, pointer, id, label
 * trail), the render context (errors by pointer, secrets, htmx endpoints, focus), and the chrome
 * around a control (label, help, error, aria wiring). Same classes as components/form.tsx.
 */

export const inputClass =
  'mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-900';
export const invalidClass = ' border-rose-500 dark:border-rose-500';
export const labelClass = 'block text-sm font-medium text-slate-700 dark:text-slate-200';
export const helpClass = 'mt-1 text-xs text-slate-500 dark:text-slate-400';
export const errorClass = 'mt-1 text-sm text-rose-600 dark:text-rose-400';
export const fieldsetClass =
  'space-y-4 rounded-lg border border-slate-200 p-4 dark:border-slate-800 aria-[invalid=true]:border-rose-400';
export const legendClass = 'px-1 text-sm font-semibold text-slate-800 dark:text-slate-100';
export const smallButtonClass =
  'inline-flex items-center justify-center rounded-md bg-white px-2 py-1 text-xs font-semibold text-slate-700 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-40 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700 dark:hover:bg-slate-700';

/** Where a field sits in the form and in the data. */
export interface FieldAt {
  /** The posted name, prefix included: `settings.eventSinks.kafka[0].brokerList`. */
  name: string;
  /** The data path (record rows use their key), for the error pointer. */
  path: PathSegment[];
  pointer: string;
  id: string;
  label: string;
  /** Labels from the root down, for the error summary ("Event sinks › Kafka sink 1 › Topic"). */
  trail: string[];
  /** Every container above is required too, so leaving this empty is an error. */
  required: boolean;
  depth: number;
  /** The label is read by screen readers only (a list row already shows its title). */
  hideLabel?: boolean;
}

/** A Secret of the project a secret field may take a value from (keys only, never values). */
export interface SecretChoice {
  id: string;
  name: string;
  keys: string[];
}

export interface RenderContext {
  errors: Map<string, string[]>;
  secretsSet: ReadonlySet<string>;
  /** The project's Secrets, for the "use a Secret" picker of fields that accept a reference. */
  secretChoices: readonly SecretChoice[];
  validateUrl: string | undefined;
  operationUrl: string | undefined;
  focus: FormFocus | undefined;
  focusDone: boolean;
  /** Every rendered field by pointer (first wins), for the error summary's links. */
  registry: Map<string, { id: string; trail: string[] }>;
  /** Pointers whose errors were shown beside a field. */
  shown: Set<string>;
  /** The dispatcher, passed down so container renderers can recurse without import cycles. */
  render: (desc: FieldDescriptor, at: FieldAt, value: unknown) => Child;
}

export function register(ctx: RenderContext, at: FieldAt, id = at.id): void {
  if (!ctx.registry.has(at.pointer)) ctx.registry.set(at.pointer, { id, trail: at.trail });
}

/** Messages for a pointer, marking them as shown beside a field. */
export function takeErrors(ctx: RenderContext, pointer: string): string[] {
  const messages = ctx.errors.get(pointer) ?? [];
  if (messages.length > 0) ctx.shown.add(pointer);
  return messages;
}

/** `autofocus` for the element with this id, or for the first input inside the focused row. */
export function wantsFocus(ctx: RenderContext, id: string, name?: string): boolean {
  if (ctx.focusDone || !ctx.focus) return false;
  const focus = ctx.focus;
  const hit =
    'id' in focus
      ? focus.id === id
      : name !== undefined &&
        (name === focus.within || name.startsWith(`${focus.within}.`) || name.startsWith(`${focus.within}[`));
  if (hit) ctx.focusDone = true;
  return hit;
}

/** The aria wiring of a control: which help and error elements describe it. */
export interface Described {
  helpId: string | undefined;
  errorId: string | undefined;
  messages: string[];
  describedBy: string | undefined;
  invalid: 'true' | undefined;
}

export function describe(
  ctx: RenderContext,
  at: FieldAt,
  help: string | undefined,
  extra: string[] = [],
): Described {
  const messages = takeErrors(ctx, at.pointer);
  // The summary links to the field that shows the error (a record's value rather than its key).
  if (messages.length > 0) ctx.registry.set(at.pointer, { id: at.id, trail: at.trail });
  const helpId = help ? `${at.id}-help` : undefined;
  const errorId = messages.length > 0 ? `${at.id}-error` : undefined;
  const ids = [errorId, helpId, ...extra].filter(Boolean);
  return {
    helpId,
    errorId,
    messages,
    describedBy: ids.length > 0 ? ids.join(' ') : undefined,
    invalid: messages.length > 0 ? 'true' : undefined,
  };
}

export function HelpText(props: { id: string | undefined; text: string | undefined }) {
  if (!props.id || !props.text) return null;
  return (
    <p id={props.id} class={helpClass}>
      {props.text}
    </p>
  );
}

export function ErrorText(props: { id: string | undefined; messages: string[] }) {
  if (!props.id || props.messages.length === 0) return null;
  return (
    <p id={props.id} class={errorClass}>
      {props.messages.join(' ')}
    </p>
  );
}

export function OptionalMark(props: { show: boolean }) {
  if (!props.show) return null;
  return <span class="font-normal text-slate-500 dark:text-slate-400"> (optional)</span>;
}

/**
 * htmx attributes that validate a field as the user types: the whole form posts (cross-field rules
 * need it) with `__field` naming this one, and the field's wrapper is morphed in place, which keeps
 * focus and what the user is typing.
 */
export function inlineValidation(
  ctx: RenderContext,
  at: FieldAt,
  trigger: 'typing' | 'change',
): Record<string, string> {
  if (!ctx.validateUrl) return {};
  return {
    'hx-post': ctx.validateUrl,
    'hx-trigger': trigger === 'typing' ? 'input changed delay:300ms, change' : 'change',
    'hx-target': `#${at.id}-field`,
    'hx-swap': 'outerMorph',
    'hx-sync': 'this:replace',
    'hx-vals': JSON.stringify({ __field: at.name }),
  };
}

/**
 * A button that posts the whole form with `__op=<value>`: without JavaScript it is a plain submit
 * (the form's handler re-renders the page), with htmx it posts to the operation endpoint and swaps
 * the element `targetId` (picked out of the answer with hx-select, so a full page answer works too).
 */
export function OperationButton(props: {
  ctx: RenderContext;
  id: string;
  value: string;
  targetId: string;
  label: string;
  text: Child;
  disabled?: boolean;
  autofocus?: boolean;
}) {
  const url = props.ctx.operationUrl;
  return (
    <button
      type="submit"
      id={props.id}
      name="__op"
      value={props.value}
      formnovalidate
      disabled={props.disabled}
      autofocus={props.autofocus}
      aria-label={props.label}
      title={props.label}
      class={smallButtonClass}
      hx-post={url}
      hx-target={url ? `#${props.targetId}` : undefined}
      hx-select={url ? `#${props.targetId}` : undefined}
      hx-swap={url ? 'outerHTML' : undefined}
    >
      {props.text}
    </button>
  );
}

/** "brokerList" → "Broker list", "storage_class" → "Storage class". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.length > 0 ? words.charAt(0).toUpperCase() + words.slice(1) : key;
}

// Positions: how a child, a row, a record row and a discriminator derive their name, pointer and id.

export function childAt(at: FieldAt, key: string, desc: FieldDescriptor, label?: string): FieldAt {
  const name = at.name === '' ? key : `${at.name}.${key}`;
  const path = [...at.path, key];
  const text = label ?? desc.meta.label ?? humanize(key);
  return {
    name,
    path,
    pointer: toJsonPointer(path),
    id: fieldId(name),
    label: text,
    trail: [...at.trail, text],
    required: at.required && !desc.optional && !desc.nullable,
    depth: at.depth + 1,
  };
}

/** Row `index` of a list; rows exist, so what they require is required. */
export function rowAt(at: FieldAt, index: number, label: string): FieldAt {
  const name = `${at.name}[${index}]`;
  const path = [...at.path, index];
  return {
    name,
    path,
    pointer: toJsonPointer(path),
    id: fieldId(name),
    label,
    trail: [...at.trail, label],
    required: true,
    depth: at.depth + 1,
  };
}

/** The key and value inputs of record row `index`: both point at `/record/<key>` in the data. */
export function recordPartAt(
  at: FieldAt,
  index: number,
  key: string,
  part: 'key' | 'value',
  label: string,
): FieldAt {
  const name = `${at.name}[${index}].${part}`;
  const path = [...at.path, key];
  const rowLabel = key === '' ? `Row ${index + 1}` : key;
  return {
    name,
    path,
    pointer: toJsonPointer(path),
    id: fieldId(name),
    label,
    trail: [...at.trail, rowLabel, label],
    required: true,
    depth: at.depth + 1,
  };
}
