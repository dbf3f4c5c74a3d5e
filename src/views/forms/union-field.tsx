import {
  type EnumDescriptor,
  isPlainObject,
  operationValue,
  type UnionDescriptor,
  type UnionVariant,
  variantFor,
} from '../../lib/form-data.ts';
import { objectFields } from './collection-fields.tsx';
import {
  childAt,
  describe,
  ErrorText,
  type FieldAt,
  fieldsetClass,
  HelpText,
  humanize,
  legendClass,
  type RenderContext,
  register,
  smallButtonClass,
} from './field-chrome.tsx';
import { EnumField } from './leaf-fields.tsx';

/**
 * A discriminated union: a choice of the discriminator, then the chosen variant's fields. Changing
 * the choice posts the form (`__op=refresh:<union>`) and swaps this fieldset for the new variant's
 * fields; without JavaScript a "Show the fields" button does the same through a full page.
 */

/** The variant the form shows: the value's, else (required) the first one. */
export function shownVariant(desc: UnionDescriptor, value: unknown): UnionVariant | undefined {
  const variant = variantFor(desc, value);
  if (variant) return variant;
  const chosen = isPlainObject(value) ? value[desc.discriminator] : undefined;
  if (chosen !== undefined || desc.optional || desc.nullable) return undefined;
  return desc.variants()[0];
}

/** The discriminator as an enum field (its label from the variants' discriminator `.meta()`). */
export function discriminatorField(
  desc: UnionDescriptor,
  at: FieldAt,
): { desc: EnumDescriptor; at: FieldAt } {
  const variants = desc.variants();
  const first = variants[0]?.object.fields().find(([key]) => key === desc.discriminator)?.[1];
  const enumDesc: EnumDescriptor = {
    kind: 'enum',
    source: desc.source,
    schema: desc.schema,
    optional: desc.optional && !desc.hasDefault,
    nullable: desc.nullable,
    hasDefault: false,
    defaultValue: () => undefined,
    meta: { widget: desc.meta.widget === 'radio' ? 'radio' : 'select' },
    options: variants.map((variant) => ({ value: variant.value, label: variant.label })),
  };
  const label = first?.meta.label ?? humanize(desc.discriminator);
  const position = childAt(at, desc.discriminator, enumDesc, label);
  return { desc: enumDesc, at: { ...position, required: true } };
}

export function UnionField(props: {
  desc: UnionDescriptor;
  at: FieldAt;
  value: unknown;
  ctx: RenderContext;
}) {
  const { desc, at, ctx } = props;
  register(ctx, at);
  const d = describe(ctx, at, desc.meta.help);
  const variant = shownVariant(desc, props.value);
  const choice = discriminatorField(desc, at);
  const refresh = operationValue('refresh', at.name);
  const swap: Record<string, string> = ctx.operationUrl
    ? {
        'hx-post': ctx.operationUrl,
        'hx-trigger': 'change',
        'hx-target': `#${at.id}`,
        'hx-select': `#${at.id}`,
        'hx-swap': 'outerHTML',
        'hx-vals': JSON.stringify({ __op: refresh }),
      }
    : {};
  return (
    <fieldset id={at.id} class={fieldsetClass} aria-describedby={d.describedBy} aria-invalid={d.invalid}>
      <legend class={at.hideLabel ? 'sr-only' : legendClass}>{at.label}</legend>
      <HelpText id={d.helpId} text={desc.meta.help} />
      <ErrorText id={d.errorId} messages={d.messages} />
      {EnumField({
        desc: choice.desc,
        at: choice.at,
        value: variant?.value,
        ctx,
        behaviour: swap,
        allowEmpty: variant === undefined,
      })}
      <noscript>
        <button type="submit" name="__op" value={refresh} formnovalidate class={smallButtonClass}>
          Show the fields for this choice
        </button>
      </noscript>
      {variant ? (
        <div id={`${at.id}-variant`} class="space-y-4">
          {objectFields(variant.object, at, props.value, ctx, desc.discriminator)}
        </div>
      ) : null}
    </fieldset>
  );
}
