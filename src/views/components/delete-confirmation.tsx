import { Button, Card, type FieldErrors, TextField } from './form.tsx';

/**
 * A danger-zone form that deletes only after the user types the exact name. Sends DELETE through
 * htmx; the 422 for a wrong name swaps this form back with the error.
 */
export function DeleteConfirmation(props: {
  action: string;
  noun: string;
  name: string;
  consequences: string;
  errors?: FieldErrors;
}) {
  const id = `delete-${props.noun}`;
  return (
    <div id={id}>
      <Card title={`Delete this ${props.noun}`} tone="danger">
        <form hx-delete={props.action} hx-target={`#${id}`} hx-swap="outerHTML" class="space-y-3">
          <p class="text-sm text-slate-600 dark:text-slate-300">{props.consequences}</p>
          <TextField
            label={`Type "${props.name}" to confirm`}
            name="confirm"
            errors={props.errors}
            autocomplete="off"
            required
          />
          <Button variant="danger">Delete {props.noun}</Button>
        </form>
      </Card>
    </div>
  );
}
