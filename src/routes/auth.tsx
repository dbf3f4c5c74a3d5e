import { type Context, Hono } from 'hono';
import { deleteSession } from '../db/sessions.repository.ts';
import { findUserById } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import {
  fieldErrors,
  formFailure,
  invalidForm,
  redirectAfterWrite,
  safeNext,
  textFieldsOf,
  validate,
} from '../lib/forms.tsx';
import { readBody } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { loginInput, signupInput, userJson } from '../schemas/auth.ts';
import { signIn, signUp } from '../services/accounts.ts';
import { recordAudit } from '../services/audit.ts';
import { acceptInvitation, invitationLanding } from '../services/invitations.ts';
import { oidcSignInEnabled } from '../services/oidc.ts';
import { beginSignedInSession, clearSessionCookie } from '../services/sessions.ts';
import { LoginPage, type LoginView, SignupPage, type SignupView } from '../views/pages/auth-pages.tsx';

/** Sign-up, sign-in and sign-out for local accounts: forms for browsers, JSON for API clients. */
export const authRoutes = new Hono<AppEnv>();

function queryValues(c: Context<AppEnv>) {
  return textFieldsOf(
    { next: c.req.query('next'), invitation: c.req.query('invitation'), email: c.req.query('email') },
    ['next', 'invitation', 'email'],
  );
}

function signupView(
  c: Context<AppEnv>,
  values: SignupView['values'],
  extra: Partial<SignupView> = {},
): SignupView {
  const { config } = c.get('deps');
  return { mode: config.SIGNUP_MODE, oidc: oidcSignInEnabled(config), values, ...extra };
}

function loginView(
  c: Context<AppEnv>,
  values: LoginView['values'],
  extra: Partial<LoginView> = {},
): LoginView {
  const { config } = c.get('deps');
  return { oidc: oidcSignInEnabled(config), signupOpen: config.SIGNUP_MODE !== 'disabled', values, ...extra };
}

authRoutes.get('/auth/signup', (c) =>
  respond(c, signupView(c, queryValues(c)), SignupPage, { title: 'Sign up' }),
);

authRoutes.post('/auth/signup', async (c) => {
  const deps = c.get('deps');
  const body = await readBody(c);
  const values = textFieldsOf(body, ['email', 'name', 'next', 'invitation']);
  const parsed = validate(signupInput, body);
  if (!parsed.ok) {
    return invalidForm(
      c,
      parsed.errors,
      SignupPage(signupView(c, values, { errors: fieldErrors(parsed.errors) })),
      'Sign up',
    );
  }
  let result: Awaited<ReturnType<typeof signUp>>;
  try {
    result = await signUp(deps, parsed.data, c.get('auditActor'));
  } catch (error) {
    return formFailure(c, error, (alert) => SignupPage(signupView(c, values, { alert })), 'Sign up');
  }
  if (result.kind === 'check_email') {
    // The same answer for a free and a taken address: the mail says which it was, to its owner.
    if (representationFor(c) === 'json') return c.json({ status: 'verification_sent' }, 202);
    return redirectAfterWrite(c, '/auth/signup/check-email');
  }
  await beginSignedInSession(c, deps, result.user.user_id);
  if (representationFor(c) === 'json')
    return c.json({ user: userJson(result.user), invitation: result.accepted }, 201);
  return redirectAfterWrite(c, invitationLanding(result.accepted));
});

authRoutes.get('/auth/login', (c) => {
  if (c.get('principal') && representationFor(c) !== 'json' && !c.req.query('invitation')) {
    return c.redirect(safeNext(c.req.query('next')), 303);
  }
  return respond(c, loginView(c, queryValues(c)), LoginPage, { title: 'Sign in' });
});

authRoutes.post('/auth/login', async (c) => {
  const deps = c.get('deps');
  const body = await readBody(c);
  const values = textFieldsOf(body, ['email', 'next', 'invitation']);
  const parsed = validate(loginInput, body);
  if (!parsed.ok) {
    return invalidForm(
      c,
      parsed.errors,
      LoginPage(loginView(c, values, { errors: fieldErrors(parsed.errors) })),
      'Sign in',
    );
  }
  const actor = c.get('auditActor');
  let user: Awaited<ReturnType<typeof signIn>>;
  try {
    user = await signIn(deps, parsed.data, actor);
  } catch (error) {
    return formFailure(c, error, (alert) => LoginPage(loginView(c, values, { alert })), 'Sign in');
  }
  const now = deps.clock.now();
  const accepted = await deps.db.transaction().execute(async (trx) => {
    await recordAudit(
      trx,
      { ...actor, actorType: 'user', actorId: user.user_id, actorLabel: user.email },
      { action: 'auth.login', targetType: 'user', targetId: user.user_id, orgId: null },
      now,
    );
    return parsed.data.invitation ? acceptInvitation(trx, parsed.data.invitation, user, actor, now) : null;
  });
  await beginSignedInSession(c, deps, user.user_id);
  if (representationFor(c) === 'json') return c.json({ user: userJson(user), invitation: accepted });
  return redirectAfterWrite(c, accepted ? invitationLanding(accepted) : safeNext(parsed.data.next));
});

authRoutes.post('/auth/logout', async (c) => {
  const deps = c.get('deps');
  const principal = c.get('principal');
  if (principal?.sessionHash) {
    await deleteSession(deps.db, principal.sessionHash);
    const user = await findUserById(deps.db, principal.userId);
    await recordAudit(
      deps.db,
      c.get('auditActor'),
      { action: 'auth.logout', targetType: 'user', targetId: user?.user_id ?? null, orgId: null },
      deps.clock.now(),
    );
  }
  clearSessionCookie(c, deps.config);
  if (representationFor(c) === 'json') return c.body(null, 204);
  return redirectAfterWrite(c, '/auth/login');
});
