import { Button, FormAlert } from '../components/form.tsx';
import { AuthCard } from './auth-pages.tsx';

const link = 'text-indigo-600 hover:underline dark:text-indigo-400';

/** After sign-up, whether the address was free or taken: the page is the same (no enumeration). */
export function CheckEmailPage() {
  return (
    <AuthCard title="Check your inbox" subtitle="We sent a message to the address you entered.">
      <p role="status" class="text-sm text-slate-700 dark:text-slate-300">
        Open the link in it to confirm that the address is yours. It works for 24 hours. Then sign in with
        your email and password.
      </p>
      <p class="text-sm text-slate-600 dark:text-slate-400">
        No message after a few minutes? Look in your spam folder, or sign in and send a new link from your
        account page.
      </p>
      <a
        href="/auth/login"
        class="block w-full rounded-md bg-indigo-600 px-3 py-2 text-center text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
      >
        Sign in
      </a>
    </AuthCard>
  );
}

export interface ConfirmEmailView {
  token: string;
  email: string;
  alert?: string;
}

/**
 * What a verification link opens: a button that confirms. Confirming is a POST so that mail
 * scanners, which fetch every link in a message, cannot confirm an address on their own.
 */
export function ConfirmEmailPage(view: ConfirmEmailView) {
  return (
    <AuthCard title="Confirm your email address" subtitle={view.email}>
      <FormAlert message={view.alert} />
      <p class="text-sm text-slate-700 dark:text-slate-300">
        Confirm that this address is yours. Access that people share with it by email then reaches your
        account directly.
      </p>
      <form method="post" action={`/auth/verify-email/${view.token}`}>
        <Button>Confirm {view.email}</Button>
      </form>
    </AuthCard>
  );
}

export function EmailVerifiedPage(view: { email: string | null; signedIn: boolean }) {
  return (
    <AuthCard title="Email address confirmed" subtitle={view.email ?? ''}>
      <p role="status" class="text-sm text-slate-700 dark:text-slate-300">
        Thank you: your address is confirmed.
      </p>
      <a class={link} href={view.signedIn ? '/account' : '/auth/login'}>
        {view.signedIn ? 'Back to your account' : 'Sign in'}
      </a>
    </AuthCard>
  );
}

export function LinkUnusablePage(view: { detail: string }) {
  return (
    <AuthCard title="This link cannot be used" subtitle="Nothing was changed.">
      <p role="alert" class="text-sm text-slate-700 dark:text-slate-300">
        {view.detail}
      </p>
      <a class={link} href="/account">
        Your account
      </a>
    </AuthCard>
  );
}
