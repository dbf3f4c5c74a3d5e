export interface ErrorView {
  status: number;
  title: string;
  detail: string;
  requestId: string;
  /** The request's trace id, when tracing is on. */
  traceId?: string;
  errors: Array<{ pointer: string; message: string }>;
  /** What to do about it, e.g. subscribe on the billing page after a 402. */
  action?: { href: string; label: string };
}

/** The body of an error, as a page section or an htmx fragment (htmx 4 swaps 4xx/5xx responses). */
export function ErrorPage(props: ErrorView) {
  return (
    <section
      class="mx-auto max-w-xl rounded-lg border border-rose-200 bg-white p-6 shadow-sm dark:border-rose-900 dark:bg-slate-900"
      role="alert"
    >
      <p class="text-sm font-medium text-rose-600 dark:text-rose-400">Error {props.status}</p>
      <h1 class="mt-1 text-2xl font-semibold">{props.title}</h1>
      <p class="mt-3 text-slate-700 dark:text-slate-300">{props.detail}</p>
      {props.errors.length > 0 && (
        <ul class="mt-3 list-disc pl-5 text-sm text-slate-700 dark:text-slate-300">
          {props.errors.map((error) => (
            <li>
              <code>{error.pointer || '(body)'}</code>: {error.message}
            </li>
          ))}
        </ul>
      )}
      {props.action && (
        <p class="mt-4">
          <a
            href={props.action.href}
            class="inline-flex rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
          >
            {props.action.label}
          </a>
        </p>
      )}
      <p class="mt-6 text-xs text-slate-500">
        Request id: <code>{props.requestId}</code>
        {props.traceId && (
          <>
            <br />
            Trace id: <code>{props.traceId}</code>
          </>
        )}
      </p>
      {props.status === 404 && (
        <p class="mt-4">
          <a href="/" class="text-indigo-600 hover:underline dark:text-indigo-400">
            Go to the start page
          </a>
        </p>
      )}
    </section>
  );
}
