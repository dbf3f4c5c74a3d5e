import { Button, type FieldErrors, FormAlert, TextField } from '../components/form.tsx';

export interface SignupView {
  mode: 'open' | 'invite' | 'disabled';
  oidc: boolean;
  values: { email?: string; name?: string; next?: string; invitation?: string };
  errors?: FieldErrors;
  alert?: string;
}

export interface LoginView {
  oidc: boolean;
  signupOpen: boolean;
  values: { email?: string; next?: string; invitation?: string };
  errors?: FieldErrors;
  alert?: string;
}

export function AuthCard(props: { title: string; subtitle: string; children: unknown }) {
  return (
    <div
      id="auth-card"
      class="mx-auto mt-8 max-w-md rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <h1 class="text-2xl font-semibold tracking-tight">{props.title}</h1>
      <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{props.subtitle}</p>
      <div class="mt-6 space-y-4">{props.children}</div>
    </div>
  );
}

function Hidden(props: { name: string; value?: string | undefined }) {
  return props.value ? <input type="hidden" name={props.name} value={props.value} /> : null;
}

function OidcButton(props: { next?: string | undefined; invitation?: string | undefined }) {
  const query = new URLSearchParams();
  if (props.next) query.set('next', props.next);
  if (props.invitation) query.set('invitation', props.invitation);
  const qs = query.toString();
  return (
    <a
      href={`/auth/oidc/start${qs ? `?${qs}` : ''}`}
      class="block w-full rounded-md bg-white px-3 py-2 text-center text-sm font-semibold text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700"
    >
      Continue with single sign-on
    </a>
  );
}

export function SignupPage(view: SignupView) {
  if (view.mode === 'disabled') {
    return (
      <AuthCard
        title="Sign-up is disabled"
        subtitle="Accounts here come from your organization’s identity provider."
      >
        {view.oidc ? <OidcButton next={view.values.next} invitation={view.values.invitation} /> : null}
        <p class="text-sm">
          Already have an account?{' '}
          <a class="text-indigo-600 hover:underline dark:text-indigo-400" href="/auth/login">
            Sign in
          </a>
        </p>
      </AuthCard>
    );
  }
  const errors = view.errors ?? {};
  return (
    <AuthCard
      title="Create your account"
      subtitle={
        view.mode === 'invite'
          ? 'Sign-up here is by invitation: use the email the invitation was sent to.'
          : 'It takes a few seconds.'
      }
    >
      <FormAlert message={view.alert} />
      <form
        method="post"
        action="/auth/signup"
        hx-post="/auth/signup"
        hx-target="#auth-card"
        hx-swap="outerHTML"
        class="space-y-4"
        novalidate
      >
        <TextField
          label="Name"
          name="name"
          value={view.values.name}
          errors={errors}
          autocomplete="name"
          required
          autofocus
        />
        <TextField
          label="Email"
          name="email"
          type="email"
          value={view.values.email}
          errors={errors}
          autocomplete="email"
          required
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          errors={errors}
          autocomplete="new-password"
          help="At least 10 characters. A passphrase of a few words is easy to remember and hard to guess."
          required
        />
        <Hidden name="next" value={view.values.next} />
        <Hidden name="invitation" value={view.values.invitation} />
        <Button>Create account</Button>
      </form>
      {view.oidc ? <OidcButton next={view.values.next} invitation={view.values.invitation} /> : null}
      <p class="text-sm">
        Already have an account?{' '}
        <a
          class="text-indigo-600 hover:underline dark:text-indigo-400"
          href={`/auth/login${view.values.invitation ? `?invitation=${encodeURIComponent(view.values.invitation)}` : ''}`}
        >
          Sign in
        </a>
      </p>
    </AuthCard>
  );
}

export function LoginPage(view: LoginView) {
  const errors = view.errors ?? {};
  return (
    <AuthCard
      title="Sign in"
      subtitle={view.values.invitation ? 'Sign in to accept your invitation.' : 'Welcome back.'}
    >
      <FormAlert message={view.alert} />
      <form
        method="post"
        action="/auth/login"
        hx-post="/auth/login"
        hx-target="#auth-card"
        hx-swap="outerHTML"
        class="space-y-4"
        novalidate
      >
        <TextField
          label="Email"
          name="email"
          type="email"
          value={view.values.email}
          errors={errors}
          autocomplete="username"
          required
          autofocus
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          errors={errors}
          autocomplete="current-password"
          required
        />
        <Hidden name="next" value={view.values.next} />
        <Hidden name="invitation" value={view.values.invitation} />
        <Button>Sign in</Button>
      </form>
      {view.oidc ? <OidcButton next={view.values.next} invitation={view.values.invitation} /> : null}
      {view.signupOpen && (
        <p class="text-sm">
          New here?{' '}
          <a
            class="text-indigo-600 hover:underline dark:text-indigo-400"
            href={`/auth/signup${view.values.invitation ? `?invitation=${encodeURIComponent(view.values.invitation)}` : ''}`}
          >
            Create an account
          </a>
        </p>
      )}
    </AuthCard>
  );
}
