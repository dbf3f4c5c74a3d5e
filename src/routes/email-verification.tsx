import { type Context, Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireUser } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { redirectAfterWrite } from '../lib/forms.tsx';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { userJson } from '../schemas/auth.ts';
import { resendVerification, verificationTarget, verifyEmail } from '../services/email-verification.ts';
import {
  CheckEmailPage,
  ConfirmEmailPage,
  EmailVerifiedPage,
  LinkUnusablePage,
} from '../views/pages/email-verification-pages.tsx';

/**
 * Email verification: the page after sign-up, the mailed link (a page, then a POST that confirms)
 * and the resend from the account page. The token in the path is a secret: the access log records
 * only the route template, and these pages are never cached.
 */
export const emailVerificationRoutes = new Hono<AppEnv>();

/** Verification tokens are 32 random bytes in base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const UNUSABLE =
  'This verification link has expired or was used already. Sign in and send a new one from your account page.';

function unusable(c: Context<AppEnv>, detail = UNUSABLE) {
  if (representationFor(c) === 'json') throw new AppError(400, 'Link not usable', detail);
  return respond(c, { detail }, LinkUnusablePage, { title: 'Link not usable', status: 400 });
}

emailVerificationRoutes.get('/auth/signup/check-email', (c) =>
  respond(c, { status: 'verification_sent' }, CheckEmailPage, { title: 'Check your inbox' }),
);

emailVerificationRoutes.get('/auth/verify-email/:token', async (c) => {
  const { db, clock } = c.get('deps');
  c.header('Cache-Control', 'no-store');
  const token = c.req.param('token');
  const target = TOKEN.test(token) ? await verificationTarget(db, token, clock.now()) : null;
  if (!target) return unusable(c);
  return respond(c, { token, email: target.email }, ConfirmEmailPage, { title: 'Confirm your email' });
});

emailVerificationRoutes.post('/auth/verify-email/:token', async (c) => {
  const { db, clock } = c.get('deps');
  c.header('Cache-Control', 'no-store');
  const token = c.req.param('token');
  if (!TOKEN.test(token)) return unusable(c);
  let user: Awaited<ReturnType<typeof verifyEmail>>;
  try {
    user = await verifyEmail(db, token, c.get('auditActor'), clock.now());
  } catch (error) {
    if (error instanceof AppError && error.status === 400) return unusable(c, error.detail);
    throw error;
  }
  if (representationFor(c) === 'json') return c.json({ user: userJson(user), email_verified: true });
  const signedIn = c.get('principal')?.userId === user.user_id;
  return respond(c, { email: user.email, signedIn }, EmailVerifiedPage, { title: 'Email confirmed' });
});

emailVerificationRoutes.post('/account/email-verification', requireUser(), async (c) => {
  const { db, clock, config } = c.get('deps');
  const principal = currentPrincipal(c);
  await resendVerification(db, principal.userId, config.BASE_URL, c.get('auditActor'), clock.now());
  if (representationFor(c) === 'json') return c.json({ status: 'verification_sent' }, 202);
  return redirectAfterWrite(c, '/account?verification=sent');
});
