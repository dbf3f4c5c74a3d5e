import type { Child } from 'hono/jsx';
import type { z } from 'zod';
import { type FieldError, toJsonPointer } from '../../lib/errors.ts';
import {
  describeSchema,
  type FieldDescriptor,
  type FormFocus,
  fieldId,
  formatFieldName,
  isPlainObject,
  MAX_FORM_DEPTH,
  type PathSegment,
  parseFieldName,
  parseJsonPointer,
} from '../../lib/form-data.ts';
import { Button } from '../components/form.tsx';
import { ArrayField, ObjectField, objectFields, RecordField } from './collection-fields.tsx';
import {
  childAt,
  ErrorText,
  type FieldAt,
  type RenderContext,
  recordPartAt,
  register,
  rowAt,
  type SecretChoice,
  takeErrors,
} from './field-chrome.tsx';
import { BooleanField, EnumField, JsonField, NumberField, StringField } from './leaf-fields.tsx';
import { shownVariant, UnionField } from './union-field.tsx';

/**
 * The form engine's entry points: a form from ANY Zod schema, with no per-type code.
 *
 * - `SchemaForm`: a whole `<form>` (error summary, fields, submit) that works without JavaScript
 *   and with htmx.
 * - `renderSchemaFormParts` / `renderSchemaFields`: the summary and fields to put in a form of
 *   your own (a wizard step with other inputs).
 * - `renderSchemaField`: one field or container by name, for htmx answers: a row operation (the
 *   list), a variant choice (the union) or an inline validation (the field with its error).
 *
 * Values are a draft (what `readFormSubmission` gives back) or stored settings passed through
 * `maskSecrets` (or with `secretsSet`): secrets are never written into the page either way.
 */

export interface SchemaFormOptions {
  /** The values to show: a draft, or stored settings (defaults fill what is absent). */
  values?: unknown;
  /** Errors by JSON pointer into the values: a FieldError list, or pointer → message(s). */
  errors?: FieldError[] | Record<string, string | string[]>;
  /** Prefix of every field name (e.g. "settings" → `settings.instances`); pointers stay unprefixed. */
  namePrefix?: string;
  /** Pointers of secrets already stored (when the values are not masked with `maskSecrets`). */
  secretsSet?: Iterable<string>;
  /** Secrets a secret field may refer to instead of holding a value (keys only). */
  secretChoices?: readonly SecretChoice[];
  /** Inline validation endpoint: each field posts the form there as the user types. */
  validateUrl?: string;
  /** Row and variant operation endpoint (htmx). Without it, row buttons submit the whole form. */
  operationUrl?: string;
  /** Where focus goes (after an operation: `submission.operation.focus`). */
  focus?: FormFocus;
  /**
   * A hidden first submit button, so pressing Enter in a field submits the form instead of
   * "clicking" the first row button. Give it the name/value of your own submit button if it has
   * one; `false` leaves it out (then put your submit button before any list).
   */
  defaultSubmit?: { name: string; value: string } | false;
}

function errorMap(errors: SchemaFormOptions['errors']): Map<string, string[]> {
  const map = new Map<string, string[]>();
  if (!errors) return map;
  const add = (pointer: string, message: string) => map.set(pointer, [...(map.get(pointer) ?? []), message]);
  if (Array.isArray(errors)) for (const error of errors) add(error.pointer, error.message);
  else
    for (const [pointer, messages] of Object.entries(errors)) {
      for (const message of Array.isArray(messages) ? messages : [messages]) add(pointer, message);
    }
  return map;
}

function errorList(errors: SchemaFormOptions['errors']): FieldError[] {
  return [...errorMap(errors)].flatMap(([pointer, messages]) =>
    messages.map((message) => ({ pointer, message })),
  );
}

function dispatch(ctx: RenderContext, desc: FieldDescriptor, at: FieldAt, value: unknown): Child {
  const shown = value === undefined && desc.hasDefault ? desc.defaultValue() : value;
  if (at.depth > MAX_FORM_DEPTH) return JsonField({ desc, at, value: shown, ctx });
  switch (desc.kind) {
    case 'string':
      return StringField({ desc, at, value: shown, ctx });
    case 'number':
    case 'bigint':
      return NumberField({ desc, at, value: shown, ctx });
    case 'boolean':
      return BooleanField({ desc, at, value: shown, ctx });
    case 'enum':
      return EnumField({ desc, at, value: shown, ctx });
    case 'object':
      return ObjectField({ desc, at, value: shown, ctx });
    case 'array':
      return ArrayField({ desc, at, value: shown, ctx });
    case 'record':
      return RecordField({ desc, at, value: shown, ctx });
    case 'union':
      return UnionField({ desc, at, value: shown, ctx });
    case 'json':
      return JsonField({ desc, at, value: shown, ctx });
  }
}

function createContext(options: SchemaFormOptions): RenderContext {
  const ctx: RenderContext = {
    errors: errorMap(options.errors),
    secretsSet: new Set(options.secretsSet ?? []),
    secretChoices: options.secretChoices ?? [],
    validateUrl: options.validateUrl,
    operationUrl: options.operationUrl,
    focus: options.focus,
    focusDone: false,
    registry: new Map(),
    shown: new Set(),
    render: () => null,
  };
  ctx.render = (desc, at, value) => dispatch(ctx, desc, at, value);
  return ctx;
}

function rootAt(namePrefix: string | undefined, label: string): FieldAt {
  const prefix = namePrefix ? (parseFieldName(namePrefix)?.path ?? []) : [];
  const name = formatFieldName(prefix);
  return { name, path: [], pointer: '', id: fieldId(name), label, trail: [], required: true, depth: 0 };
}

export interface SchemaFormParts {
  /** The error summary (null without errors): put it first in the form. */
  summary: Child;
  fields: Child;
}

/** The summary and the fields of a schema's form, to place in a form of your own. */
export function renderSchemaFormParts(
  schema: z.core.$ZodType,
  options: SchemaFormOptions = {},
): SchemaFormParts {
  const ctx = createContext(options);
  const root = describeSchema(schema);
  const at = rootAt(options.namePrefix, root.meta.label ?? 'Settings');
  let fields: Child;
  if (root.kind === 'object') {
    register(ctx, at);
    const messages = takeErrors(ctx, '');
    const value = options.values === undefined && root.hasDefault ? root.defaultValue() : options.values;
    fields = (
      <div id={at.id} class="space-y-5">
        <DefaultSubmit option={options.defaultSubmit} />
        <ErrorText id={messages.length > 0 ? `${at.id}-error` : undefined} messages={messages} />
        {objectFields(root, at, value, ctx)}
      </div>
    );
  } else {
    fields = (
      <div class="space-y-5">
        <DefaultSubmit option={options.defaultSubmit} />
        {ctx.render(root, at, options.values)}
      </div>
    );
  }
  // Field renderers are called as plain functions (not <Components/>, which Hono evaluates lazily),
  // so every field has registered itself by now and the summary can link to them.
  const summary = ErrorSummary({
    errors: errorList(options.errors),
    registry: ctx.registry,
    autofocus: !options.focus,
  });
  return { summary, fields };
}

/** The fields alone (no summary): errors still show beside each field. */
export function renderSchemaFields(schema: z.core.$ZodType, options: SchemaFormOptions = {}): Child {
  return renderSchemaFormParts(schema, options).fields;
}

function DefaultSubmit(props: { option: SchemaFormOptions['defaultSubmit'] }) {
  if (props.option === false) return null;
  return (
    <button type="submit" name={props.option?.name} value={props.option?.value} class="sr-only" tabindex={-1}>
      Submit
    </button>
  );
}

/**
 * Every error at the top of the form, each linking to its field (or the nearest container that is
 * on the page), so a keyboard or screen reader user can go from the list to the fix.
 */
export function ErrorSummary(props: {
  errors: FieldError[];
  registry: ReadonlyMap<string, { id: string; trail: string[] }>;
  id?: string;
  autofocus?: boolean;
}) {
  if (props.errors.length === 0) return null;
  const count = props.errors.length;
  return (
    <div
      id={props.id ?? 'form-errors'}
      role="alert"
      tabindex={-1}
      autofocus={props.autofocus || undefined}
      class="rounded-md border border-rose-200 bg-rose-50 p-4 text-sm text-rose-800 dark:border-rose-900 dark:bg-rose-950 dark:text-rose-200"
    >
      <h2 class="font-semibold">
        {count === 1 ? 'There is a problem with 1 field' : `There are problems with ${count} fields`}
      </h2>
      <ul class="mt-2 list-disc space-y-1 pl-5">
        {props.errors.map((error) => {
          const target = nearestField(props.registry, error.pointer);
          const where = target?.trail.join(' › ');
          return (
            <li>
              {target ? (
                <a href={`#${target.id}`} class="underline hover:no-underline">
                  {where ? `${where}: ${error.message}` : error.message}
                </a>
              ) : (
                error.message
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function nearestField(
  registry: ReadonlyMap<string, { id: string; trail: string[] }>,
  pointer: string,
): { id: string; trail: string[] } | undefined {
  const segments = parseJsonPointer(pointer);
  if (!segments) return undefined;
  for (let length = segments.length; length >= 0; length--) {
    const found = registry.get(toJsonPointer(segments.slice(0, length)));
    if (found) return found;
  }
  return undefined;
}

/** A form for a schema: summary, fields and a submit button; works with and without htmx. */
export function SchemaForm(
  props: SchemaFormOptions & {
    schema: z.core.$ZodType;
    /** Where the form posts; also the default operation endpoint. */
    action: string;
    id?: string;
    submitLabel?: string;
    /** More inputs (hidden fields, a name field…), rendered before the schema's fields. */
    children?: Child;
    /** Buttons instead of the default submit button. */
    actions?: Child;
  },
) {
  const { schema, action, id, submitLabel, children, actions, ...options } = props;
  const formId = id ?? 'schema-form';
  const parts = renderSchemaFormParts(schema, { operationUrl: action, ...options });
  return (
    <form
      id={formId}
      method="post"
      action={action}
      hx-post={action}
      hx-target="this"
      hx-swap="outerHTML"
      novalidate
      class="space-y-6"
    >
      {parts.summary}
      {children}
      {parts.fields}
      <div class="flex gap-2">{actions ?? <Button>{submitLabel ?? 'Save'}</Button>}</div>
    </form>
  );
}

/**
 * One field or container, by field name, for htmx answers:
 * - after a row operation, `renderSchemaField(schema, submission.operation.target, { values:
 *   submission.draft, focus: submission.operation.focus, … })` gives the list with its rows;
 * - after a variant choice, the same with the union's name gives the union with the new fields;
 * - for inline validation, `renderSchemaField(schema, submission.field, { values: submission.draft,
 *   errors: validateField(…) , … })` gives the field's wrapper (`#<id>-field`) with its error.
 * Null when the name is not a field of the schema (answer 400 or re-render the whole form).
 */
export function renderSchemaField(
  schema: z.core.$ZodType,
  name: string,
  options: SchemaFormOptions = {},
): Child {
  const ctx = createContext(options);
  const root = describeSchema(schema);
  const prefix = options.namePrefix ? (parseFieldName(options.namePrefix)?.path ?? []) : [];
  const parsed = parseFieldName(name);
  if (name === formatFieldName(prefix)) {
    return renderSchemaFields(schema, options);
  }
  if (!parsed || parsed.marker) return null;
  if (!prefix.every((segment, i) => String(parsed.path[i]) === String(segment))) return null;
  const at = rootAt(options.namePrefix, root.meta.label ?? 'Settings');
  const value = options.values === undefined && root.hasDefault ? root.defaultValue() : options.values;
  const located = locate(root, at, value, parsed.path.slice(prefix.length));
  if (!located) return null;
  return located(ctx);
}

type Renderer = (ctx: RenderContext) => Child;

/** Walks the schema and the values along a form path, the same way the full render does. */
function locate(
  root: FieldDescriptor,
  rootPosition: FieldAt,
  rootValue: unknown,
  path: PathSegment[],
): Renderer | null {
  let desc: FieldDescriptor = root;
  let at = rootPosition;
  let value = rootValue;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as PathSegment;
    if (value === undefined && desc.hasDefault) value = desc.defaultValue();
    if (desc.kind === 'union') {
      if (segment === desc.discriminator) {
        // The choice itself: answer with the whole union (the choice and its fields).
        const union = desc;
        const unionAt = at;
        const unionValue = value;
        return i === path.length - 1 ? (ctx) => ctx.render(union, unionAt, unionValue) : null;
      }
      const variant = shownVariant(desc, value);
      if (!variant) return null;
      desc = variant.object;
    }
    if (desc.kind === 'object' && typeof segment === 'string') {
      const field = desc.fields().find(([key]) => key === segment)?.[1];
      if (!field) return null;
      at = childAt(at, segment, field);
      value = isPlainObject(value) ? value[segment] : undefined;
      desc = field;
    } else if (desc.kind === 'array' && typeof segment === 'number') {
      const element = desc.element();
      const itemLabel = desc.meta.itemLabel ?? element.meta.label ?? at.label;
      at = rowAt(at, segment, `${itemLabel} ${segment + 1}`);
      value = Array.isArray(value) ? value[segment] : undefined;
      desc = element;
      if (
        element.kind !== 'object' &&
        element.kind !== 'union' &&
        element.kind !== 'array' &&
        element.kind !== 'record'
      ) {
        at = { ...at, hideLabel: true };
      }
    } else if (desc.kind === 'record' && typeof segment === 'number') {
      const part = path[i + 1];
      const entry = isPlainObject(value) ? Object.entries(value)[segment] : undefined;
      if (!entry || (part !== 'key' && part !== 'value')) return null;
      const record = desc;
      const label =
        part === 'key'
          ? (record.meta.keyLabel ?? record.key().meta.label ?? 'Name')
          : (record.meta.valueLabel ?? record.value().meta.label ?? 'Value');
      at = recordPartAt(at, segment, entry[0], part, label);
      desc = part === 'key' ? record.key() : record.value();
      value = part === 'key' ? entry[0] : entry[1];
      i += 1;
    } else {
      return null;
    }
  }
  const finalDesc = desc;
  const finalAt = at;
  const finalValue = value;
  return (ctx) => ctx.render(finalDesc, finalAt, finalValue);
}
