import { type Context, Hono } from 'hono';
import { listOwnSecurityEvents } from '../db/audit.repository.ts';
import { findPasswordHash, findUserById } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireOwnSignIn, requireUser } from '../lib/auth-middleware.ts';
import { AppError, notFound, unprocessable } from '../lib/errors.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, validate } from '../lib/forms.tsx';
import { readBody } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { changePasswordInput, unlinkIdentityInput, userJson } from '../schemas/auth.ts';
import { changePassword } from '../services/accounts.ts';
import { identitiesOf, LOCAL_USER_PREFIX, unlinkIdentity } from '../services/identities.ts';
import { oidcSignInEnabled } from '../services/oidc.ts';
import { AccountPage, type AccountView, ChangePasswordForm } from '../views/pages/account-page.tsx';

/** The signed-in user's own account: profile, password, recent security events. */
export const accountRoutes = new Hono<AppEnv>();

// Every account route, present and future, takes the user's own sign-in: never an API token.
accountRoutes.use('/account', requireOwnSignIn('your account'));
accountRoutes.use('/account/*', requireOwnSignIn('your account'));

async function accountView(
  c: Context<AppEnv>,
  passwordForm?: AccountView['passwordForm'],
): Promise<AccountView> {
  const { db } = c.get('deps');
  const principal = currentPrincipal(c);
  const { config } = c.get('deps');
  const [user, passwordHash, events, identities] = await Promise.all([
    findUserById(db, principal.userId),
    findPasswordHash(db, principal.userId),
    listOwnSecurityEvents(db, principal.userId),
    identitiesOf(db, principal.userId),
  ]);
  if (!user) throw notFound();
  return {
    user: userJson(user),
    hasPassword: Boolean(passwordHash),
    emailVerified: user.email_verified_at !== null,
    emailVerifiedAt: user.email_verified_at,
    verificationSent: c.req.query('verification') === 'sent',
    identities: identities.map((identity) => ({
      sub: identity.sub,
      email: identity.email,
      linked_at: identity.linked_at,
    })),
    // Linking needs browser sign-in configured, and is for local accounts only.
    canLink: oidcSignInEnabled(config) && user.user_id.startsWith(LOCAL_USER_PREFIX),
    events,
    ...(passwordForm ? { passwordForm } : {}),
  };
}

accountRoutes.get('/account', requireUser(), async (c) => {
  const view = await accountView(c);
  if (representationFor(c) === 'json')
    return c.json({
      user: view.user,
      has_password: view.hasPassword,
      email_verified: view.emailVerified,
      email_verified_at: view.emailVerifiedAt,
      identities: view.identities,
    });
  return respond(c, view, AccountPage, { title: 'Your account' });
});

accountRoutes.post('/account/password', requireUser(), async (c) => {
  const deps = c.get('deps');
  const principal = currentPrincipal(c);
  const body = await readBody(c);
  const parsed = validate(changePasswordInput, body);
  const render = async (form: NonNullable<AccountView['passwordForm']>) =>
    representationFor(c) === 'fragment' ? ChangePasswordForm(form) : AccountPage(await accountView(c, form));
  if (!parsed.ok)
    return invalidForm(
      c,
      parsed.errors,
      await render({ errors: fieldErrors(parsed.errors) }),
      'Your account',
    );
  try {
    await changePassword(deps, principal, parsed.data, c.get('auditActor'));
  } catch (error) {
    if (!(error instanceof AppError) || representationFor(c) === 'json') throw error;
    const form = error.errors.length > 0 ? { errors: fieldErrors(error.errors) } : { alert: error.detail };
    const content = await render(form);
    return respond(c, null, () => content, { title: 'Your account', status: error.status });
  }
  if (representationFor(c) === 'json') return c.body(null, 204);
  if (representationFor(c) === 'page') return redirectAfterWrite(c, '/account');
  return c.html(<ChangePasswordForm saved />);
});

/** Unlinks an identity from the signed-in account (allowed while it has a password). */
accountRoutes.post('/account/identities/unlink', requireUser(), async (c) => {
  const deps = c.get('deps');
  const principal = currentPrincipal(c);
  const parsed = validate(unlinkIdentityInput, await readBody(c));
  if (!parsed.ok) throw unprocessable(parsed.errors);
  await unlinkIdentity(deps.db, principal.userId, parsed.data.sub, c.get('auditActor'), deps.clock.now());
  if (representationFor(c) === 'json') return c.body(null, 204);
  return redirectAfterWrite(c, '/account');
});
