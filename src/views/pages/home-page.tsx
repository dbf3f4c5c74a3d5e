export interface HomeView {
  firstRun: boolean;
  database: 'pglite' | 'postgres' | 'neon';
}

const databaseLabel: Record<HomeView['database'], string> = {
  pglite: 'the embedded database (PGlite, in ./data)',
  postgres: 'PostgreSQL (DATABASE_URL)',
  neon: 'PostgreSQL through Neon',
};

export function HomePage(view: HomeView) {
  if (!view.firstRun) {
    return (
      <section class="space-y-3">
        <h1 class="text-3xl font-semibold tracking-tight">ktrlplane</h1>
        <p class="text-slate-600 dark:text-slate-300">Organizations, projects and the resources they run.</p>
      </section>
    );
  }
  return (
    <section class="mx-auto max-w-2xl space-y-6">
      <div>
        <p class="text-sm font-medium text-indigo-600 dark:text-indigo-400">First run</p>
        <h1 class="mt-1 text-3xl font-semibold tracking-tight">Welcome to ktrlplane</h1>
        <p class="mt-3 text-slate-600 dark:text-slate-300">
          ktrlplane is running on {databaseLabel[view.database]} and its schema is up to date. There are no
          accounts yet.
        </p>
      </div>
      <ol class="space-y-4">
        <li class="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
          <h2 class="font-medium">1. Create the first account</h2>
          <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            The first person to sign up becomes the platform administrator.
          </p>
        </li>
        <li class="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
          <h2 class="font-medium">2. Create an organization and a project</h2>
          <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            Organizations own projects; projects hold the resources you deploy.
          </p>
        </li>
        <li class="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
          <h2 class="font-medium">3. Check the service</h2>
          <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            <a class="text-indigo-600 hover:underline dark:text-indigo-400" href="/health">
              /health
            </a>{' '}
            reports whether the database answers; the same pages answer JSON under <code>/api/v1</code>.
          </p>
        </li>
      </ol>
    </section>
  );
}
