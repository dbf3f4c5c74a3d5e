import type { Child } from 'hono/jsx';

/** Form building blocks shared by every page; field errors come keyed by field name. */
export type FieldErrors = Record<string, string>;

const inputClass =
  'mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-900';
const invalidClass = ' border-rose-500 dark:border-rose-500';

export function TextField(props: {
  label: string;
  name: string;
  type?: 'text' | 'email' | 'password' | 'datetime-local' | 'date' | 'search' | 'number';
  value?: string | null | undefined;
  errors?: FieldErrors | undefined;
  help?: string;
  placeholder?: string;
  autocomplete?: string;
  required?: boolean;
  autofocus?: boolean;
  pattern?: string;
  maxlength?: number;
}) {
  const error = props.errors?.[props.name];
  const id = `field-${props.name}`;
  const describedBy =
    [error ? `${id}-error` : '', props.help ? `${id}-help` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div>
      <label for={id} class="block text-sm font-medium text-slate-700 dark:text-slate-200">
        {props.label}
      </label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.type === 'password' ? undefined : (props.value ?? undefined)}
        placeholder={props.placeholder}
        autocomplete={props.autocomplete}
        required={props.required}
        autofocus={props.autofocus}
        pattern={props.pattern}
        maxlength={props.maxlength}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
        class={inputClass + (error ? invalidClass : '')}
      />
      {props.help && (
        <p id={`${id}-help`} class="mt-1 text-xs text-slate-500 dark:text-slate-400">
          {props.help}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} class="mt-1 text-sm text-rose-600 dark:text-rose-400">
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  options: Array<{ value: string; label: string }>;
  value?: string | null | undefined;
  errors?: FieldErrors | undefined;
  help?: string;
}) {
  const error = props.errors?.[props.name];
  const id = `field-${props.name}`;
  return (
    <div>
      <label for={id} class="block text-sm font-medium text-slate-700 dark:text-slate-200">
        {props.label}
      </label>
      <select
        id={id}
        name={props.name}
        class={inputClass + (error ? invalidClass : '')}
        aria-invalid={error ? 'true' : undefined}
      >
        {props.options.map((option) => (
          <option value={option.value} selected={option.value === props.value}>
            {option.label}
          </option>
        ))}
      </select>
      {props.help && <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{props.help}</p>}
      {error && <p class="mt-1 text-sm text-rose-600 dark:text-rose-400">{error}</p>}
    </div>
  );
}

/** An error about the form as a whole (wrong password, sign-up closed, …). */
export function FormAlert(props: { message?: string | undefined }) {
  if (!props.message) return null;
  return (
    <div
      role="alert"
      class="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-700 dark:border-rose-900 dark:bg-rose-950 dark:text-rose-300"
    >
      {props.message}
    </div>
  );
}

const buttonStyles = {
  primary: 'bg-indigo-600 text-white hover:bg-indigo-500 focus-visible:outline-indigo-600',
  secondary:
    'bg-white text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700 dark:hover:bg-slate-700',
  danger: 'bg-rose-600 text-white hover:bg-rose-500 focus-visible:outline-rose-600',
};

export function Button(props: {
  children: Child;
  variant?: keyof typeof buttonStyles;
  type?: 'submit' | 'button';
  name?: string;
  value?: string;
}) {
  return (
    <button
      type={props.type ?? 'submit'}
      name={props.name}
      value={props.value}
      class={`inline-flex items-center justify-center rounded-md px-3 py-2 text-sm font-semibold shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 disabled:opacity-50 ${buttonStyles[props.variant ?? 'primary']}`}
    >
      {props.children}
    </button>
  );
}

export function Card(props: { title?: string; children: Child; tone?: 'default' | 'danger' }) {
  const border =
    props.tone === 'danger'
      ? 'border-rose-300 dark:border-rose-900'
      : 'border-slate-200 dark:border-slate-800';
  return (
    <section class={`rounded-lg border bg-white p-5 shadow-sm dark:bg-slate-900 ${border}`}>
      {props.title && <h2 class="mb-4 text-base font-semibold">{props.title}</h2>}
      {props.children}
    </section>
  );
}

export function PageHeader(props: { title: string; eyebrow?: Child; subtitle?: Child; actions?: Child }) {
  return (
    <div class="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div>
        {props.eyebrow && <p class="text-sm text-slate-500 dark:text-slate-400">{props.eyebrow}</p>}
        <h1 class="text-2xl font-semibold tracking-tight">{props.title}</h1>
        {props.subtitle && <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{props.subtitle}</p>}
      </div>
      {props.actions && <div class="flex gap-2">{props.actions}</div>}
    </div>
  );
}
