import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { notFound } from '../lib/errors.ts';
import { respond } from '../lib/negotiate.tsx';
import { invitationByToken } from '../services/invitations.ts';
import { InvitationPage, type InvitationPageView } from '../views/pages/invitation-page.tsx';

/**
 * The page an invitation email links to. No sign-in needed: the token in the path is the
 * permission, so the page shows only this invitation, and an unknown, used, revoked or expired
 * token answers 404 like any other unknown address. Accepting happens at sign-up or sign-in, which
 * take the token along (?invitation=…).
 */
export const invitationsRoutes = new Hono<AppEnv>();

invitationsRoutes.get('/invitations/:token', async (c) => {
  const { db, clock, config } = c.get('deps');
  const token = c.req.param('token');
  // The token is a secret: keep the page out of shared and browser caches.
  c.header('Cache-Control', 'no-store');
  const invitation = await invitationByToken(db, token, clock.now());
  if (!invitation) {
    throw notFound(
      'This invitation link is not valid: it may have expired, been used or been revoked. Ask the person who invited you to send it again.',
    );
  }
  const query = (extra: Record<string, string>) =>
    new URLSearchParams({ invitation: token, ...extra }).toString();
  const view: InvitationPageView = {
    invitation,
    signup_url: `/auth/signup?${query({ email: invitation.email })}`,
    login_url: `/auth/login?${query({ email: invitation.email })}`,
    signup_open: config.SIGNUP_MODE !== 'disabled',
  };
  return respond(c, view, InvitationPage, { title: 'Invitation' });
});
