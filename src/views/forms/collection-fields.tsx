import type { Child } from 'hono/jsx';
import { z } from 'zod';
import {
  type ArrayDescriptor,
  isPlainObject,
  type ObjectDescriptor,
  operationValue,
  type RecordDescriptor,
} from '../../lib/form-data.ts';
import {
  childAt,
  describe,
  ErrorText,
  type FieldAt,
  fieldsetClass,
  HelpText,
  legendClass,
  OperationButton,
  OptionalMark,
  type RenderContext,
  recordPartAt,
  register,
  rowAt,
  wantsFocus,
} from './field-chrome.tsx';

/**
 * Containers of the form engine: nested objects (a fieldset), lists (rows with add, remove and
 * move buttons) and records (key/value rows). Row buttons post the whole form with `__op`; see
 * OperationButton for how that works with and without htmx.
 */

/** The fields of an object, without a fieldset around them (the root, a list row, a variant). */
export function objectFields(
  desc: ObjectDescriptor,
  at: FieldAt,
  value: unknown,
  ctx: RenderContext,
  skip?: string,
): Child[] {
  const object = isPlainObject(value) ? value : {};
  return desc
    .fields()
    .filter(([key]) => key !== skip)
    .map(([key, field]) => ctx.render(field, childAt(at, key, field), object[key]));
}

export function ObjectField(props: {
  desc: ObjectDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  return (
    <fieldset id={at.id} class={fieldsetClass} aria-describedby={d.describedBy} aria-invalid={d.invalid}>
      <legend class={at.hideLabel ? 'sr-only' : legendClass}>
        {at.label}
        <OptionalMark show={desc.optional && !desc.hasDefault} />
      </legend>
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
      {objectFields(desc, at, props.value, ctx)}
    </fieldset>
  );
}

export function ArrayField(props: {
  desc: ArrayDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  const rows = Array.isArray(props.value) ? props.value : [];
  const element = desc.element();
  const itemLabel = desc.meta.itemLabel ?? element.meta.label ?? at.label;
  const canAdd = desc.maxItems === undefined || rows.length < desc.maxItems;
  const canRemove = desc.minItems === undefined || rows.length > desc.minItems;
  const addId = `${at.id}-add`;
  return (
    <fieldset id={at.id} class={fieldsetClass} aria-describedby={d.describedBy} aria-invalid={d.invalid}>
      <legend class={at.hideLabel ? 'sr-only' : legendClass}>{at.label}</legend>
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
      {/* Says "this list is here" even with no rows, so removing every row can clear a default. */}
      <input type="hidden" name={at.name} value="" />
      {rows.length === 0 ? (
        <p class="text-sm text-slate-500 dark:text-slate-400">None yet.</p>
      ) : (
        <ol class="space-y-3">
          {rows.map((row, index) => {
            const label = `${itemLabel} ${index + 1}`;
            const position = rowAt(at, index, label);
            const buttons = (
              <div class="flex shrink-0 gap-1">
                <OperationButton
                  ctx={ctx}
                  id={`${position.id}-up`}
                  value={operationValue('up', position.name)}
                  targetId={at.id}
                  label={`Move ${label} up`}
                  text="↑"
                  disabled={index === 0}
                  autofocus={wantsFocus(ctx, `${position.id}-up`)}
                />
                <OperationButton
                  ctx={ctx}
                  id={`${position.id}-down`}
                  value={operationValue('down', position.name)}
                  targetId={at.id}
                  label={`Move ${label} down`}
                  text="↓"
                  disabled={index === rows.length - 1}
                  autofocus={wantsFocus(ctx, `${position.id}-down`)}
                />
                <OperationButton
                  ctx={ctx}
                  id={`${position.id}-remove`}
                  value={operationValue('remove', position.name)}
                  targetId={at.id}
                  label={`Remove ${label}`}
                  text="Remove"
                  disabled={!canRemove}
                  autofocus={wantsFocus(ctx, `${position.id}-remove`)}
                />
              </div>
            );
            if (
              element.kind !== 'object' &&
              element.kind !== 'union' &&
              element.kind !== 'array' &&
              element.kind !== 'record'
            ) {
              // A list of plain values: one line per row, the label for screen readers only.
              return (
                <li id={`${position.id}-row`} class="flex items-start gap-2">
                  <div class="flex-1">{ctx.render(element, { ...position, hideLabel: true }, row)}</div>
                  <div class="mt-2">{buttons}</div>
                </li>
              );
            }
            const titleId = `${position.id}-title`;
            return (
              <li
                id={`${position.id}-row`}
                class="rounded-md border border-slate-200 bg-slate-50 p-3 dark:border-slate-800 dark:bg-slate-900/40"
              >
                <div class="mb-3 flex items-center justify-between gap-2">
                  <span id={titleId} class="text-sm font-medium text-slate-800 dark:text-slate-100">
                    {label}
                  </span>
                  {buttons}
                </div>
                {element.kind === 'object'
                  ? ObjectRow({ desc: element, at: position, value: row, ctx, titleId })
                  : ctx.render(element, { ...position, hideLabel: true }, row)}
              </li>
            );
          })}
        </ol>
      )}
      <div>
        <OperationButton
          ctx={ctx}
          id={addId}
          value={operationValue('add', at.name)}
          targetId={at.id}
          label={`Add ${itemLabel}`}
          text={`+ Add ${itemLabel}`}
          disabled={!canAdd}
          autofocus={wantsFocus(ctx, addId)}
        />
      </div>
    </fieldset>
  );
}

/** An object row of a list: a borderless fieldset named by the row's title, with the row's own errors. */
function ObjectRow(props: {
  desc: ObjectDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
  titleId: string;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, undefined);
  return (
    <fieldset
      id={at.id}
      aria-labelledby={props.titleId}
      aria-describedby={d.describedBy}
      aria-invalid={d.invalid}
      tabindex={-1}
      class="space-y-4"
    >
      <ErrorText id={d.errorId} messages={d.messages} />
      {objectFields(desc, at, props.value, ctx)}
    </fieldset>
  );
}

/**
 * A record as key/value rows (`env[0].key`, `env[0].value`). Both inputs of a row point at
 * `/env/<key>` in the data; when the key itself is what fails, its own schema's message is shown
 * beside the key instead of the record's generic one.
 */
export function RecordField(props: {
  desc: RecordDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  const entries = isPlainObject(props.value) ? Object.entries(props.value) : [];
  const keyDesc = desc.key();
  const valueDesc = desc.value();
  const keyLabel = desc.meta.keyLabel ?? keyDesc.meta.label ?? 'Name';
  const valueLabel = desc.meta.valueLabel ?? valueDesc.meta.label ?? 'Value';
  const itemLabel = desc.meta.itemLabel ?? 'entry';
  const addId = `${at.id}-add`;
  return (
    <fieldset id={at.id} class={fieldsetClass} aria-describedby={d.describedBy} aria-invalid={d.invalid}>
      <legend class={at.hideLabel ? 'sr-only' : legendClass}>{at.label}</legend>
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
      <input type="hidden" name={at.name} value="" />
      {entries.length === 0 ? (
        <p class="text-sm text-slate-500 dark:text-slate-400">None yet.</p>
      ) : (
        <ol class="space-y-3">
          {entries.map(([key, value], index) => {
            const keyAt = recordPartAt(at, index, key, 'key', keyLabel);
            const valueAt = recordPartAt(at, index, key, 'value', valueLabel);
            const rowPointer = keyAt.pointer;
            const rowErrors = ctx.errors.get(rowPointer);
            const keyCheck = rowErrors ? z.safeParse(keyDesc.source, key) : undefined;
            let keyNode: Child;
            if (keyCheck && !keyCheck.success) {
              // The key is what fails: its message goes beside it, and the value keeps the
              // row's errors only if it is wrong too.
              const keyMessages = recordKeyMessages(desc, key, value) ?? [
                keyCheck.error.issues[0]?.message ?? 'Invalid name',
              ];
              const valueOk = z.safeParse(valueDesc.source, value).success;
              keyNode = renderWithErrors(ctx, rowPointer, keyMessages, () => ctx.render(keyDesc, keyAt, key));
              const valueNode = valueOk
                ? renderWithErrors(ctx, rowPointer, [], () => ctx.render(valueDesc, valueAt, value))
                : ctx.render(valueDesc, valueAt, value);
              return RecordRow({ ctx, at, index, label: key, keyNode, valueNode });
            }
            keyNode = renderWithErrors(ctx, rowPointer, [], () => ctx.render(keyDesc, keyAt, key));
            const valueNode = ctx.render(valueDesc, valueAt, value);
            return RecordRow({ ctx, at, index, label: key, keyNode, valueNode });
          })}
        </ol>
      )}
      <div>
        <OperationButton
          ctx={ctx}
          id={addId}
          value={operationValue('add', at.name)}
          targetId={at.id}
          label={`Add ${itemLabel}`}
          text={`+ Add ${itemLabel}`}
          autofocus={wantsFocus(ctx, addId)}
        />
      </div>
    </fieldset>
  );
}

/**
 * What to say beside a record key that fails. When the record's schema gives its own message for a
 * bad key (`z.record(k, v, { error })`), that one: it is what the schema reports at this row, to the
 * API as well as in the summary. Otherwise the key schema's own messages, which say more than Zod's
 * generic "Invalid key in record". Undefined when the record does not refuse the key.
 */
function recordKeyMessages(desc: RecordDescriptor, key: string, value: unknown): string[] | undefined {
  // fromEntries makes an own property even of a key such as `__proto__`.
  const result = z.safeParse(desc.schema, Object.fromEntries([[key, value]]));
  const issue = result.error?.issues.find(
    (candidate) =>
      candidate.code === 'invalid_key' && candidate.path.length === 1 && candidate.path[0] === key,
  );
  if (issue?.code !== 'invalid_key') return undefined;
  const recordError = (desc.schema._zod.def as { error?: (issue: unknown) => unknown }).error;
  if (recordError?.({ ...issue, input: key })) return [issue.message];
  const own = issue.issues.map((inner) => inner.message);
  return own.length > 0 ? own : [issue.message];
}

/** Renders with `messages` standing in for the errors at `pointer` (the originals come back after). */
function renderWithErrors(
  ctx: RenderContext,
  pointer: string,
  messages: string[],
  render: () => Child,
): Child {
  const original = ctx.errors.get(pointer);
  const wasShown = ctx.shown.has(pointer);
  if (messages.length > 0) ctx.errors.set(pointer, messages);
  else ctx.errors.delete(pointer);
  const node = render();
  if (original) ctx.errors.set(pointer, original);
  else ctx.errors.delete(pointer);
  if (wasShown || messages.length > 0) ctx.shown.add(pointer);
  return node;
}

function RecordRow(props: {
  ctx: RenderContext;
  at: FieldAt;
  index: number;
  label: string;
  keyNode: Child;
  valueNode: Child;
}) {
  const { ctx, at, index } = props;
  const name = `${at.name}[${index}]`;
  const rowId = rowAt(at, index, '').id;
  const label = props.label === '' ? `row ${index + 1}` : props.label;
  return (
    <li id={`${rowId}-row`} class="flex items-start gap-3">
      <div class="grid flex-1 gap-3 sm:grid-cols-2">
        <div>{props.keyNode}</div>
        <div>{props.valueNode}</div>
      </div>
      <div class="mt-7">
        <OperationButton
          ctx={ctx}
          id={`${rowId}-remove`}
          value={operationValue('remove', name)}
          targetId={at.id}
          label={`Remove ${label}`}
          text="Remove"
          autofocus={wantsFocus(ctx, `${rowId}-remove`)}
        />
      </div>
    </li>
  );
}
