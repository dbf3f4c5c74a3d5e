import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import {
  as,
  asJson,
  createOrgFor,
  createProjectFor,
  ORIGIN,
  signUpUser,
  type TestUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Issue 15 finding 4: open sign-up never verified the address, and a grant by email went straight
 * to whoever registered it, so anyone could squat newhire@corp.example and receive the grant meant
 * for the real person.
 */
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN };
const HOUR = 3_600_000;

describe('email verification', () => {
  const t = useTestApp();

  async function mailsTo(address: string) {
    return t.database.db
      .selectFrom('ktrlplane.mail_outbox')
      .select(['subject', 'body_text'])
      .where('to_address', '=', address)
      .orderBy('created_at')
      .orderBy('mail_id')
      .execute();
  }

  async function linkTo(address: string): Promise<string> {
    const mails = await mailsTo(address);
    const match = /\/auth\/verify-email\/([A-Za-z0-9_-]{43})/.exec(mails.at(-1)?.body_text ?? '');
    if (!match?.[1]) throw new Error(`no verification mail to ${address}`);
    return match[1];
  }

  async function verifiedAt(userId: string) {
    const row = await t.database.db
      .selectFrom('ktrlplane.users')
      .select('email_verified_at')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return row.email_verified_at;
  }

  const confirm = (token: string, headers: Record<string, string> = {}) =>
    t.app.request(`/auth/verify-email/${token}`, { method: 'POST', headers: { Origin: ORIGIN, ...headers } });

  it('mails a link at sign-up; opening it shows a button, and only the POST verifies (once)', async () => {
    const user = await signUpUser(t, 'nina@example.com', 'Nina', { verified: false });
    expect(await verifiedAt(user.userId)).toBeNull();
    const token = await linkTo('nina@example.com');
    // Only the hash is stored.
    const rows = await t.database.db.selectFrom('ktrlplane.email_verifications').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).not.toContain(token);
    expect(rows[0]?.expires_at.getTime()).toBe(t.clock.now().getTime() + 24 * HOUR);

    // A mail scanner fetching the link verifies nothing.
    const page = await t.app.request(`/auth/verify-email/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Cache-Control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain(`action="/auth/verify-email/${token}"`);
    expect(html).toContain('nina@example.com');
    expect(await verifiedAt(user.userId)).toBeNull();

    const done = await confirm(token);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Email address confirmed');
    expect(await verifiedAt(user.userId)).toEqual(t.clock.now());
    const again = await confirm(token);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('expired or was used already');
    const audit = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['actor_id', 'target_id', 'changes'])
      .where('action', '=', 'auth.email_verified')
      .execute();
    expect(audit).toEqual([
      {
        actor_id: user.userId,
        target_id: user.userId,
        changes: { email: { to: 'nina@example.com' }, method: { to: 'link' } },
      },
    ]);
  });

  it('refuses a link after 24 hours, a made-up one, and one for an address the account no longer has', async () => {
    const user = await signUpUser(t, 'otto@example.com', 'Otto', { verified: false });
    const token = await linkTo('otto@example.com');
    t.clock.advance(24 * HOUR + 1);
    expect((await confirm(token)).status).toBe(400);
    expect((await t.app.request(`/auth/verify-email/${token}`)).status).toBe(400);
    expect((await confirm('A'.repeat(43))).status).toBe(400);
    expect((await confirm('not-a-token')).status).toBe(400);

    const resent = await t.app.request('/account/email-verification', {
      method: 'POST',
      headers: asJson(user),
    });
    expect(resent.status).toBe(202);
    const fresh = await linkTo('otto@example.com');
    await t.database.db
      .updateTable('ktrlplane.users')
      .set({ email: 'otto@elsewhere.example' })
      .where('user_id', '=', user.userId)
      .execute();
    const moved = await confirm(fresh, { Accept: 'application/json' });
    expect(moved.status).toBe(400);
    expect((await moved.json()).detail).toContain('no longer has');
    expect(await verifiedAt(user.userId)).toBeNull();
  });

  it('shows the state on the account page (HTML and JSON) and resends at most three times an hour', async () => {
    const user = await signUpUser(t, 'pia@example.com', 'Pia', { verified: false });
    const json = await (await t.app.request('/account', { headers: asJson(user) })).json();
    expect(json).toMatchObject({ email_verified: false, email_verified_at: null });
    const html = await (await t.app.request('/account', { headers: as(user) })).text();
    expect(html).toContain('Not verified');
    expect(html).toContain('action="/account/email-verification"');

    const resend = () =>
      t.app.request('/account/email-verification', {
        method: 'POST',
        headers: as(user, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      });
    for (let i = 0; i < 3; i++) {
      const res = await resend();
      expect(res.status).toBe(303);
      expect(res.headers.get('Location')).toBe('/account?verification=sent');
    }
    const limited = await resend();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    // One mail at sign-up, three resends; the fourth was refused.
    expect(await mailsTo('pia@example.com')).toHaveLength(4);
    const sent = await t.app.request('/account?verification=sent', { headers: as(user) });
    expect(await sent.text()).toContain('A new link is on its way');

    await confirm(await linkTo('pia@example.com'));
    const after = await (await t.app.request('/account', { headers: asJson(user) })).json();
    expect(after.email_verified).toBe(true);
    expect(await (await t.app.request('/account', { headers: as(user) })).text()).toContain('Verified');
    const verified = await t.app.request('/account/email-verification', {
      method: 'POST',
      headers: asJson(user),
    });
    expect(verified.status).toBe(409);
  });

  it('keeps the verification token out of the log when the mail goes out', async () => {
    await signUpUser(t, 'quinn@example.com', 'Quinn', { verified: false });
    const token = await linkTo('quinn@example.com');
    const { runJob } = await import('../../src/jobs/run-job.ts');
    const { deliverMailJob } = await import('../../src/jobs/deliver-mail.ts');
    await runJob(t.deps, deliverMailJob, 'test');
    const logged = JSON.stringify(t.logs);
    expect(logged).toContain('/auth/verify-email/[REDACTED]');
    expect(logged).not.toContain(token);
  });

  describe('grants by email', () => {
    async function owner(): Promise<TestUser> {
      const ada = await signUpUser(t, 'ada@corp.example', 'Ada');
      await createOrgFor(t, ada, 'Corp', 'corp');
      await createProjectFor(t, ada, 'corp', 'Web', 'web');
      return ada;
    }

    it('a squatter’s unverified account gets nothing; the invitation reaches the real owner, who accepts it', async () => {
      const ada = await owner();
      const squatter = await signUpUser(t, 'newhire@corp.example', 'Squatter', { verified: false });
      const grantRes = await t.app.request('/projects/web/access', {
        method: 'POST',
        headers: asJson(ada),
        body: JSON.stringify({ email: 'newhire@corp.example', role_id: ROLE.editor }),
      });
      expect(grantRes.status).toBe(201);
      expect(await grantRes.json()).toHaveProperty('invitation');
      const assignments = () =>
        t.database.db
          .selectFrom('ktrlplane.role_assignments')
          .select(['user_id', 'role_id'])
          .where('scope_id', '=', 'web')
          .where('user_id', '!=', ada.userId)
          .execute();
      expect(await assignments()).toEqual([]);
      // The squatter's own sign-in changes nothing: the invitation token went to the mailbox.
      const login = await t.app.request('/auth/login', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ email: 'newhire@corp.example', password: squatter.password }),
      });
      expect(login.status).toBe(200);
      expect((await login.json()).invitation).toBeNull();
      expect(await assignments()).toEqual([]);

      // The mailbox's owner (here, the account's owner after all) accepts with the mailed token.
      const mail = (await mailsTo('newhire@corp.example')).find((m) => m.body_text.includes('/invitations/'));
      const token = /\/invitations\/([A-Za-z0-9_-]+)/.exec(mail?.body_text ?? '')?.[1];
      const accept = await t.app.request('/auth/login', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({
          email: 'newhire@corp.example',
          password: squatter.password,
          invitation: token,
        }),
      });
      expect((await accept.json()).invitation).toMatchObject({ roleId: ROLE.editor });
      expect(await assignments()).toEqual([{ user_id: squatter.userId, role_id: ROLE.editor }]);
      // Accepting an invitation mailed to the address verifies it.
      expect(await verifiedAt(squatter.userId)).not.toBeNull();
    });

    it('a verified account receives the grant directly', async () => {
      const ada = await owner();
      const bob = await signUpUser(t, 'bob@corp.example', 'Bob');
      const res = await t.app.request('/projects/web/access', {
        method: 'POST',
        headers: asJson(ada),
        body: JSON.stringify({ email: 'bob@corp.example', role_id: ROLE.viewer }),
      });
      expect(res.status).toBe(201);
      expect((await res.json()).assignment.user_id).toBe(bob.userId);
    });
  });
});
