import type { Child } from 'hono/jsx';
import {
  type BigIntDescriptor,
  type BooleanDescriptor,
  type EnumDescriptor,
  type FieldDescriptor,
  type NumberDescriptor,
  StoredSecret,
  type StringDescriptor,
} from '../../lib/form-data.ts';
import { isSecretKeyRef } from '../../lib/secret-refs.ts';
import {
  describe,
  ErrorText,
  type FieldAt,
  HelpText,
  helpClass,
  inlineValidation,
  inputClass,
  invalidClass,
  labelClass,
  OptionalMark,
  type RenderContext,
  register,
  wantsFocus,
} from './field-chrome.tsx';

/**
 * Leaf fields of the form engine: one control each, wrapped in `#<id>-field` (what inline
 * validation morphs), with its label, help and error wired through aria-describedby.
 */

/** The text a control shows for a value; objects (a draft gone wrong) show nothing. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return '';
}

function Label(props: { at: FieldAt; optional: boolean; children?: Child }) {
  return (
    <label for={props.at.id} class={props.at.hideLabel ? 'sr-only' : labelClass}>
      {props.at.label}
      <OptionalMark show={props.optional} />
      {props.children}
    </label>
  );
}

function isOptional(desc: { optional: boolean; hasDefault: boolean; nullable: boolean }): boolean {
  return (desc.optional && !desc.hasDefault) || desc.nullable;
}

const INPUT_TYPES: Record<string, string> = { email: 'email', url: 'url', date: 'date' };

export function StringField(props: {
  desc: StringDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  if (desc.secret) return SecretField(props);
  register(ctx, at);
  const text = textOf(props.value);
  if (desc.meta.widget === 'hidden') {
    return (
      <div id={`${at.id}-field`}>
        <input type="hidden" id={at.id} name={at.name} value={text} />
      </div>
    );
  }
  const d = describe(ctx, at, desc.meta.help);
  const common = {
    id: at.id,
    name: at.name,
    required: at.required || undefined,
    placeholder: desc.meta.placeholder,
    autofocus: wantsFocus(ctx, at.id, at.name) || undefined,
    'aria-describedby': d.describedBy,
    'aria-invalid': d.invalid,
    class: inputClass + (d.invalid ? invalidClass : ''),
    ...inlineValidation(ctx, at, 'typing'),
  };
  return (
    <div id={`${at.id}-field`}>
      <Label at={at} optional={isOptional(desc)} />
      {/* A textarea drops one newline right after its start tag; the one written here, so a
          value that starts with a newline keeps it. */}
      {desc.multiline ? (
        <textarea rows={4} maxlength={desc.maxLength} minlength={desc.minLength} {...common}>
          {`\n${text}`}
        </textarea>
      ) : (
        <input
          type={INPUT_TYPES[desc.format ?? ''] ?? 'text'}
          value={text}
          maxlength={desc.maxLength}
          minlength={desc.minLength}
          pattern={desc.pattern}
          {...common}
        />
      )}
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
    </div>
  );
}

/**
 * A write-only field. Its value is never written into the page: a stored one shows "set" and an
 * empty input ("leave empty to keep it"), with a hidden `<name>@stored` holding the pointer it was
 * stored at so the parser can keep it even after rows move; an optional one can be removed.
 */
export function SecretField(props: {
  desc: StringDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx, value } = props;
  register(ctx, at);
  const ref = isSecretKeyRef(value) ? value.valueFrom.secretKeyRef : undefined;
  const from =
    value instanceof StoredSecret
      ? value.from
      : ctx.secretsSet.has(at.pointer) && (value === undefined || typeof value === 'string')
        ? at.pointer
        : undefined;
  const retype = from === undefined && typeof value === 'string' && value !== '';
  const stateId = `${at.id}-state`;
  const stateText = from
    ? 'A value is stored and is never shown. Type a new one to replace it, or leave this empty to keep it.'
    : retype
      ? 'Type it again: a secret is never sent back to the browser.'
      : undefined;
  const d = describe(ctx, at, desc.meta.help, stateText ? [stateId] : []);
  return (
    <div id={`${at.id}-field`}>
      {desc.secretRefs ? <SecretSourcePicker at={at} ctx={ctx} chosen={ref} /> : null}
      <Label at={at} optional={isOptional(desc) && !from}>
        {from ? (
          <span class="ml-2 rounded bg-emerald-100 px-1.5 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200">
            set — replace
          </span>
        ) : null}
      </Label>
      <input
        type="password"
        id={at.id}
        name={at.name}
        value=""
        autocomplete="new-password"
        placeholder={from ? 'Leave empty to keep the stored value' : desc.meta.placeholder}
        required={(at.required && !from && !desc.secretRefs) || undefined}
        maxlength={desc.maxLength}
        autofocus={wantsFocus(ctx, at.id, at.name) || undefined}
        aria-describedby={d.describedBy}
        aria-invalid={d.invalid}
        class={inputClass + (d.invalid ? invalidClass : '')}
        {...inlineValidation(ctx, at, 'typing')}
      />
      {from ? <input type="hidden" name={`${at.name}@stored`} value={from} /> : null}
      {stateText ? (
        <p id={stateId} class={helpClass}>
          {stateText}
        </p>
      ) : null}
      {from && desc.optional ? (
        <label class="mt-1 inline-flex items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
          <input type="checkbox" id={`${at.id}-clear`} name={`${at.name}@clear`} value="true" />
          Remove the stored value
        </label>
      ) : null}
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
    </div>
  );
}

/**
 * "Enter a value" or "use a Secret": a select of the project's Secrets and their keys, posted as
 * `<name>@ref` = `<secret id>/<key>`. A chosen reference wins over a typed value; keys are shown,
 * values never (the choices carry none).
 */
function SecretSourcePicker(props: {
  at: FieldAt;
  ctx: RenderContext;
  chosen: { name: string; key: string } | undefined;
}) {
  const { at, ctx, chosen } = props;
  const chosenValue = chosen ? `${chosen.name}/${chosen.key}` : '';
  const known = ctx.secretChoices.some(
    (secret) => secret.id === chosen?.name && secret.keys.includes(chosen?.key ?? ''),
  );
  return (
    <div class="mb-1">
      <label for={`${at.id}-ref`} class={helpClass}>
        {at.label}: value from
      </label>
      <select id={`${at.id}-ref`} name={`${at.name}@ref`} class={inputClass}>
        <option value="" selected={chosenValue === ''}>
          Enter a value below
        </option>
        {ctx.secretChoices.map((secret) => (
          <optgroup label={`Secret ${secret.name} (${secret.id})`}>
            {secret.keys.map((key) => (
              <option value={`${secret.id}/${key}`} selected={chosenValue === `${secret.id}/${key}`}>
                {`${secret.name}: ${key}`}
              </option>
            ))}
          </optgroup>
        ))}
        {chosen && !known ? (
          <option value={chosenValue} selected>
            {`${chosen.name}: ${chosen.key} (not found in this project)`}
          </option>
        ) : null}
      </select>
      {ctx.secretChoices.length === 0 ? (
        <p class={helpClass}>This project has no Secrets yet; create one to take this value from it.</p>
      ) : null}
    </div>
  );
}

export function NumberField(props: {
  desc: NumberDescriptor | BigIntDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  const numeric = desc.kind === 'number';
  return (
    <div id={`${at.id}-field`}>
      <Label at={at} optional={isOptional(desc)} />
      <input
        type={numeric ? 'number' : 'text'}
        inputmode={numeric && !desc.integer ? 'decimal' : 'numeric'}
        id={at.id}
        name={at.name}
        value={textOf(props.value)}
        min={numeric ? desc.min : undefined}
        max={numeric ? desc.max : undefined}
        step={numeric ? (desc.step ?? 'any') : undefined}
        pattern={numeric ? undefined : '[+\\-]?[0-9]+'}
        placeholder={desc.meta.placeholder}
        required={at.required || undefined}
        autofocus={wantsFocus(ctx, at.id, at.name) || undefined}
        aria-describedby={d.describedBy}
        aria-invalid={d.invalid}
        class={inputClass + (d.invalid ? invalidClass : '')}
        {...inlineValidation(ctx, at, 'typing')}
      />
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
    </div>
  );
}

/** A checkbox with a hidden "false" before it, so an unchecked box posts false, not nothing. */
export function BooleanField(props: {
  desc: BooleanDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  return (
    <div id={`${at.id}-field`} class="flex items-start gap-3">
      <input type="hidden" name={at.name} value="false" />
      <input
        type="checkbox"
        id={at.id}
        name={at.name}
        value="true"
        checked={props.value === true}
        role={desc.meta.widget === 'switch' ? 'switch' : undefined}
        autofocus={wantsFocus(ctx, at.id, at.name) || undefined}
        aria-describedby={d.describedBy}
        aria-invalid={d.invalid}
        class="mt-1 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500 dark:border-slate-600 dark:bg-slate-900"
        {...inlineValidation(ctx, at, 'change')}
      />
      <div>
        <label for={at.id} class={at.hideLabel ? 'sr-only' : labelClass}>
          {at.label}
        </label>
        <HelpText id={d.helpId} text={desc.meta.help} />
        <ErrorText id={d.errorId} messages={d.messages} />
      </div>
    </div>
  );
}

/**
 * A choice: radios for up to four options (or `widget: 'radio'`), a select otherwise. `behaviour`
 * replaces inline validation (a union's discriminator swaps its variant instead).
 */
export function EnumField(props: {
  desc: EnumDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
  behaviour?: Record<string, string>;
  /** Offer an empty choice even when the schema requires one (nothing chosen yet). */
  allowEmpty?: boolean;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  const current = props.value === undefined ? undefined : String(props.value);
  const known = desc.options.some((option) => String(option.value) === current);
  const optional = isOptional(desc);
  const withEmpty = optional || !known || props.allowEmpty === true;
  const attrs = props.behaviour ?? inlineValidation(ctx, at, 'change');
  const useRadios =
    desc.meta.widget === 'radio' || (desc.meta.widget !== 'select' && desc.options.length <= 4);
  if (useRadios) {
    const choices = [
      ...(optional ? [{ value: '', label: 'None', checked: !known }] : []),
      ...desc.options.map((option) => ({
        value: String(option.value),
        label: option.label,
        checked: known && String(option.value) === current,
      })),
    ];
    return (
      <fieldset id={`${at.id}-field`} aria-describedby={d.describedBy} aria-invalid={d.invalid}>
        <legend class={at.hideLabel ? 'sr-only' : labelClass}>{at.label}</legend>
        <div class="mt-1 flex flex-wrap gap-x-5 gap-y-1">
          {choices.map((choice, i) => {
            const id = i === 0 ? at.id : `${at.id}--${i}`;
            return (
              <label class="inline-flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
                <input
                  type="radio"
                  id={id}
                  name={at.name}
                  value={choice.value}
                  checked={choice.checked}
                  required={at.required || undefined}
                  autofocus={wantsFocus(ctx, id, at.name) || undefined}
                  class="h-4 w-4 border-slate-300 text-indigo-600 focus:ring-indigo-500 dark:border-slate-600"
                  {...attrs}
                />
                {choice.label}
              </label>
            );
          })}
        </div>
        <HelpText id={d.helpId} text={desc.meta.help} />
        <ErrorText id={d.errorId} messages={d.messages} />
      </fieldset>
    );
  }
  return (
    <div id={`${at.id}-field`}>
      <Label at={at} optional={optional} />
      <select
        id={at.id}
        name={at.name}
        required={at.required || undefined}
        autofocus={wantsFocus(ctx, at.id, at.name) || undefined}
        aria-describedby={d.describedBy}
        aria-invalid={d.invalid}
        class={inputClass + (d.invalid ? invalidClass : '')}
        {...attrs}
      >
        {withEmpty ? (
          <option value="" selected={!known}>
            {optional ? '(none)' : 'Choose…'}
          </option>
        ) : null}
        {desc.options.map((option) => (
          <option value={String(option.value)} selected={known && String(option.value) === current}>
            {option.label}
          </option>
        ))}
      </select>
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
    </div>
  );
}

/** What the engine has no widget for (tuples, plain unions, …): edited as JSON text. */
export function JsonField(props: {
  desc: Pick<FieldDescriptor, 'meta' | 'optional' | 'hasDefault' | 'nullable'>;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx, value } = props;
  register(ctx, at);
  const help = desc.meta.help ?? 'Edited as JSON.';
  const d = describe(ctx, at, help);
  // Strings too are shown as JSON ("123" stays a string), so what is posted back parses the same.
  let text = '';
  if (value !== undefined) {
    try {
      text = JSON.stringify(value, null, 2) ?? '';
    } catch {
      text = '';
    }
  }
  return (
    <div id={`${at.id}-field`}>
      <Label at={at} optional={isOptional(desc)} />
      <textarea
        id={at.id}
        name={at.name}
        rows={4}
        spellcheck={false}
        autofocus={wantsFocus(ctx, at.id, at.name) || undefined}
        aria-describedby={d.describedBy}
        aria-invalid={d.invalid}
        class={`${inputClass} font-mono${d.invalid ? invalidClass : ''}`}
        {...inlineValidation(ctx, at, 'typing')}
      >
        {`\n${text}`}
      </textarea>
      <HelpText id={d.helpId} text={help} />
      <ErrorText id={d.errorId} messages={d.messages} />
    </div>
  );
}
