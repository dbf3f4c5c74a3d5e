export interface HomeView {
  firstRun: boolean;
  signedIn: boolean;
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
      <section class="mx-auto mt-8 max-w-2xl space-y-4 text-center">
        <h1 class="text-3xl font-semibold tracking-tight">ktrlplane</h1>
        <p class="text-slate-600 dark:text-slate-300">Organizations, projects and the resources they run.</p>
        <div class="flex justify-center gap-3">
          <a
            href="/auth/login"
            class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
          >
            Sign in
          </a>
          <a
            href="/auth/signup"
            class="rounded-md px-4 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-100 dark:ring-slate-700 dark:hover:bg-slate-800"
          >
            Create an account
          </a>
        </div>
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
          <a
            href="/auth/signup"
            class="mt-3 inline-block rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
          >
            Create the first account
          </a>
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
