import { type Context, Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireUser } from '../lib/auth-middleware.ts';
import { AppError, notFound } from '../lib/errors.ts';
import { safeNext } from '../lib/forms.tsx';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { recordAudit } from '../services/audit.ts';
import { linkIdentity } from '../services/identities.ts';
import { acceptInvitation, invitationLanding } from '../services/invitations.ts';
import {
  abandonOidcSignIn,
  beginOidcSignIn,
  completeOidcSignIn,
  OidcProviderError,
  type OidcSignInConfig,
  oidcSignInEnabled,
  type SignInReturn,
  upsertOidcUser,
} from '../services/oidc.ts';
import { bindBrowser, browserBindingHash, readBrowserBinding } from '../services/oidc-browser-binding.ts';
import { beginSignedInSession } from '../services/sessions.ts';

/**
 * Browser sign-in through the OIDC provider (authorization code + PKCE): /auth/oidc/start sends
 * the browser to the provider, /auth/oidc/callback takes it back, signs the user in and accepts
 * the invitation the sign-in started with. Both answer 404 when browser sign-in is not configured.
 * Codes, states and tokens appear in URLs here: nothing in this file logs a URL or a query.
 */
export const oidcRoutes = new Hono<AppEnv>();

/** Invitation tokens are base64url; anything else in the query is ignored rather than stored. */
const INVITATION_TOKEN = /^[A-Za-z0-9_-]{16,128}$/;
/** OAuth error codes are short words; only such a code is ever shown back. */
const OAUTH_ERROR_CODE = /^[\w.-]{1,64}$/;

function signInConfig(c: Context<AppEnv>): OidcSignInConfig {
  const { config } = c.get('deps');
  if (!oidcSignInEnabled(config)) throw notFound();
  return config;
}

function retryHref(ret: SignInReturn | null): string {
  if (ret?.link) return '/account';
  const query = new URLSearchParams();
  if (ret && ret.next !== '/') query.set('next', ret.next);
  if (ret?.invitation) query.set('invitation', ret.invitation);
  const qs = query.toString();
  return `/auth/oidc/start${qs ? `?${qs}` : ''}`;
}

function providerErrorDetail(code: string): string {
  if (code === 'access_denied') {
    return 'The identity provider did not sign you in: access was denied or the sign-in was cancelled.';
  }
  const shown = OAUTH_ERROR_CODE.test(code) ? ` (${code})` : '';
  return `The identity provider could not sign you in${shown}.`;
}

interface SignInFailedView {
  title: string;
  detail: string;
  retry: string;
}

function SignInFailed(view: SignInFailedView) {
  return (
    <section
      id="auth-card"
      role="alert"
      class="mx-auto mt-8 max-w-md rounded-lg border border-rose-200 bg-white p-6 shadow-sm dark:border-rose-900 dark:bg-slate-900"
    >
      <h1 class="text-2xl font-semibold tracking-tight">{view.title}</h1>
      <p class="mt-3 text-slate-700 dark:text-slate-300">{view.detail}</p>
      <div class="mt-6 flex flex-wrap gap-3">
        <a
          href={view.retry}
          class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
        >
          Try again
        </a>
        <a
          href="/auth/login"
          class="rounded-md bg-white px-3 py-2 text-sm font-semibold text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700"
        >
          Sign in another way
        </a>
      </div>
    </section>
  );
}

/**
 * A sign-in that failed: a page that says why with a way to try again (never a 500 for the
 * provider's refusals or outages), or problem+json for a JSON client. Errors that are bugs go on
 * to the error handler.
 */
function signInFailure(c: Context<AppEnv>, error: unknown, ret: SignInReturn | null) {
  let failure = error;
  if (error instanceof OidcProviderError) {
    c.get('log').warn('OIDC provider failure', { err: error });
    failure = new AppError(
      502,
      'The identity provider did not answer',
      'Signing in through the identity provider failed on its side or on the way to it. Try again in a moment.',
    );
  }
  if (!(failure instanceof AppError) || representationFor(c) === 'json') throw failure;
  return respond(c, { title: failure.title, detail: failure.detail, retry: retryHref(ret) }, SignInFailed, {
    title: 'Sign-in failed',
    status: failure.status,
  });
}

oidcRoutes.get('/auth/oidc/start', async (c) => {
  const config = signInConfig(c);
  const deps = c.get('deps');
  const invitation = c.req.query('invitation');
  const ret: SignInReturn = {
    next: safeNext(c.req.query('next')),
    invitation: invitation && INVITATION_TOKEN.test(invitation) ? invitation : null,
  };
  let location: string;
  try {
    location = await beginOidcSignIn(deps.db, config, ret, deps.clock.now(), await bindBrowser(c, config));
  } catch (error) {
    return signInFailure(c, error, ret);
  }
  c.header('Cache-Control', 'no-store');
  return c.redirect(location, 302);
});

/**
 * Starts the provider's flow to link an identity to the signed-in local account (account page).
 * A POST (the same-origin check applies), so another site cannot start a link for the user.
 */
oidcRoutes.post('/auth/oidc/link', requireUser(), async (c) => {
  const config = signInConfig(c);
  const deps = c.get('deps');
  const principal = currentPrincipal(c);
  if (principal.via !== 'session') {
    throw new AppError(403, 'Forbidden', 'Link an identity from the account page in your browser.');
  }
  const ret: SignInReturn = { next: '/account', invitation: null, link: principal.userId };
  let location: string;
  try {
    location = await beginOidcSignIn(deps.db, config, ret, deps.clock.now(), await bindBrowser(c, config));
  } catch (error) {
    return signInFailure(c, error, ret);
  }
  c.header('Cache-Control', 'no-store');
  if (c.req.header('HX-Request')) {
    c.header('HX-Redirect', location);
    return c.body(null, 204);
  }
  return c.redirect(location, 303);
});

oidcRoutes.get('/auth/oidc/callback', async (c) => {
  const config = signInConfig(c);
  const deps = c.get('deps');
  const now = deps.clock.now();
  const { code, state, error } = c.req.query();
  c.header('Cache-Control', 'no-store');
  let ret: SignInReturn | null = null;
  try {
    if (error) {
      // The provider refused (the user cancelled, say): the started sign-in is over either way.
      ret = state ? await abandonOidcSignIn(deps.db, state, now) : null;
      throw new AppError(400, 'Sign-in was not completed', providerErrorDetail(error));
    }
    if (!code || !state) {
      throw new AppError(
        400,
        'Sign-in could not be completed',
        'The identity provider sent you back without a sign-in code. Start the sign-in again.',
      );
    }
    const browserHash = await browserBindingHash(readBrowserBinding(c, config));
    const completed = await completeOidcSignIn(deps.db, config, { code, state, browserHash }, now);
    ret = completed.ret;
    const actor = c.get('auditActor');
    if (ret.link) {
      // Linking, not signing in: the account that started it must still be the one signed in here.
      const principal = c.get('principal');
      if (principal?.via !== 'session' || principal.userId !== ret.link) {
        throw new AppError(
          400,
          'Linking could not be completed',
          'The account that started linking is no longer signed in on this browser. Sign in and start again from your account page.',
        );
      }
      await linkIdentity(deps.db, principal.userId, completed.identity, actor, now);
      return c.redirect('/account', 303);
    }
    const user = await upsertOidcUser(deps.db, completed.identity, now, 'refuse', actor);
    const invitation = ret.invitation;
    const accepted = await deps.db.transaction().execute(async (trx) => {
      await recordAudit(
        trx,
        { ...actor, actorType: 'user', actorId: user.user_id, actorLabel: user.email ?? user.name },
        {
          action: 'auth.login',
          targetType: 'user',
          targetId: user.user_id,
          orgId: null,
          after: { method: 'oidc' },
        },
        now,
      );
      return invitation ? acceptInvitation(trx, invitation, user, actor, now) : null;
    });
    await beginSignedInSession(c, deps, user.user_id);
    return c.redirect(accepted ? invitationLanding(accepted) : safeNext(ret.next), 303);
  } catch (failure) {
    return signInFailure(c, failure, ret);
  }
});
