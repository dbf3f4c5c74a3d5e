/**
 * A table's header row from its column labels (a falsy entry is a column left out), so list
 * tables state their columns once instead of repeating the same `<th>` markup per column.
 */
/** The header style of the app's bordered list tables (projects, resources). */
export const LIST_TABLE_HEAD =
  'bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:bg-slate-800/50 dark:text-slate-400';

export function TableHeader(props: {
  columns: ReadonlyArray<string | false | null | undefined>;
  cellClass: string;
  class?: string;
}) {
  return (
    <thead class={props.class}>
      <tr>
        {props.columns
          .filter((label): label is string => Boolean(label))
          .map((label) => (
            <th scope="col" class={props.cellClass}>
              {label}
            </th>
          ))}
      </tr>
    </thead>
  );
}
