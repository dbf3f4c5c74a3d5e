/** Section tabs of an organization or project; the current one is marked for screen readers too. */
export function Tabs(props: { items: Array<{ href: string; label: string; current?: boolean }> }) {
  return (
    <nav aria-label="Sections" class="mb-6 flex gap-1 border-b border-slate-200 dark:border-slate-800">
      {props.items.map((item) => (
        <a
          href={item.href}
          aria-current={item.current ? 'page' : undefined}
          class={`-mb-px border-b-2 px-3 py-2 text-sm font-medium ${
            item.current
              ? 'border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300'
              : 'border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-200'
          }`}
        >
          {item.label}
        </a>
      ))}
    </nav>
  );
}
