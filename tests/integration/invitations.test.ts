import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createDeliverMailJob, deliverMailJob } from '../../src/jobs/deliver-mail.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { sha256Hex } from '../../src/lib/crypto.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { invitationsRoutes } from '../../src/routes/invitations.tsx';
import { mailTransportFor } from '../../src/services/mail.ts';
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

const DAY = 86_400_000;
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN };

describe('invitations by email', () => {
  const t = useTestApp();
  /** The app with the invitation page mounted (app.ts mounts it too once wired; the first match wins). */
  const app = () => createApp(t.deps, { extraRoutes: [invitationsRoutes] });

  async function acme() {
    const ada = await signUpUser(t, 'ada@acme.example', 'Ada Owner');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    return { ada };
  }

  async function invite(
    owner: TestUser,
    email: string,
    roleId: string = ROLE.viewer,
    path = '/projects/web/access',
  ) {
    const res = await t.app.request(path, {
      method: 'POST',
      headers: asJson(owner),
      body: JSON.stringify({ email, role_id: roleId }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { invitation: { invitation_id: string; email: string; role_id: string } };
  }

  async function outbox() {
    return t.database.db.selectFrom('ktrlplane.mail_outbox').selectAll().orderBy('created_at').execute();
  }

  /** The token in the newest invitation email to `email`. */
  async function tokenFor(email: string): Promise<string> {
    const mails = (await outbox()).filter((mail) => mail.to_address === email);
    const match = /\/invitations\/([A-Za-z0-9_-]+)/.exec(mails.at(-1)?.body_text ?? '');
    if (!match?.[1]) throw new Error(`no invitation mail to ${email}`);
    return match[1];
  }

  async function signUpWith(email: string, invitation: string) {
    const res = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email, name: 'New Person', password: 'a long passphrase', invitation }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { user: { user_id: string }; invitation: unknown };
  }

  async function assignmentsOf(userId: string) {
    return t.database.db
      .selectFrom('ktrlplane.role_assignments')
      .select(['role_id', 'scope_type', 'scope_id'])
      .where('user_id', '=', userId)
      .execute();
  }

  it('an unknown email gets an invitation and an email; only the token’s hash is stored', async () => {
    const { ada } = await acme();
    const { invitation } = await invite(ada, 'New@Person.example');
    expect(invitation).toMatchObject({ email: 'new@person.example', role_id: ROLE.viewer });
    expect(JSON.stringify(invitation)).not.toMatch(/token/);

    const mails = await outbox();
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to_address: 'new@person.example', sent_at: null, attempts: 0 });
    expect(mails[0]?.subject).toContain('Web');
    expect(mails[0]?.body_text).toContain('http://localhost:8080/invitations/');
    expect(mails[0]?.body_text).toContain('Viewer');
    const token = await tokenFor('new@person.example');
    expect(token.length).toBeGreaterThanOrEqual(40);

    const row = await t.database.db.selectFrom('ktrlplane.invitations').selectAll().executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(await sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row.expires_at.getTime() - t.clock.now().getTime()).toBe(7 * DAY);

    const list = await t.app.request('/projects/web/access', { headers: asJson(ada) });
    expect((await list.json()).invitations).toEqual([
      expect.objectContaining({
        invitation_id: invitation.invitation_id,
        email: 'new@person.example',
        expired: false,
      }),
    ]);
    const events = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['action', 'changes'])
      .execute();
    expect(events.map((e) => e.action)).toContain('access.invited');
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('the invitation link shows who invited you to what, with sign-up and sign-in links', async () => {
    const { ada } = await acme();
    await invite(ada, 'new@person.example', ROLE.editor);
    const token = await tokenFor('new@person.example');

    const page = await app().request(`/invitations/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Cache-Control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('Ada Owner');
    expect(html).toContain('Web');
    expect(html).toContain('Editor');
    expect(html).toContain(`href="/auth/signup?invitation=${token}&amp;email=new%40person.example"`);
    expect(html).toContain(`href="/auth/login?invitation=${token}&amp;email=new%40person.example"`);

    const json = await app().request(`/invitations/${token}`, { headers: { Accept: 'application/json' } });
    expect(await json.json()).toMatchObject({
      invitation: {
        email: 'new@person.example',
        role_id: ROLE.editor,
        scope_type: 'project',
        scope_id: 'web',
        scope_name: 'Web',
        organization_name: 'Acme',
        inviter_email: 'ada@acme.example',
      },
      signup_url: `/auth/signup?invitation=${token}&email=new%40person.example`,
    });

    // The sign-up page it links to carries the token and the email.
    const signup = await t.app.request(`/auth/signup?invitation=${token}&email=new%40person.example`);
    const signupHtml = await signup.text();
    expect(signupHtml).toContain(`name="invitation" value="${token}"`);
    expect(signupHtml).toContain('value="new@person.example"');

    for (const bad of ['nope', 'x'.repeat(43), `${token}x`]) {
      expect((await app().request(`/invitations/${bad}`)).status).toBe(404);
      expect(
        (await app().request(`/invitations/${bad}`, { headers: { Accept: 'application/json' } })).status,
      ).toBe(404);
    }
    t.clock.advance(7 * DAY + 1);
    expect((await app().request(`/invitations/${token}`)).status).toBe(404);
  });

  it('signing up with the token turns the invitation into the assignment, once', async () => {
    const { ada } = await acme();
    await invite(ada, 'new@person.example');
    const token = await tokenFor('new@person.example');
    const body = await signUpWith('NEW@person.example', token);
    expect(body.invitation).toMatchObject({ scopeType: 'project', scopeId: 'web', roleId: ROLE.viewer });
    expect(await assignmentsOf(body.user.user_id)).toEqual([
      { role_id: ROLE.viewer, scope_type: 'project', scope_id: 'web' },
    ]);
    expect((await app().request(`/invitations/${token}`)).status).toBe(404);
    const list = await t.app.request('/projects/web/access', { headers: asJson(ada) });
    const listed = await list.json();
    expect(listed.invitations).toEqual([]);
    expect(listed.assignments.map((a: { email: string }) => a.email)).toContain('new@person.example');
  });

  it('signing in with the token accepts it for an account made meanwhile', async () => {
    const { ada } = await acme();
    await invite(ada, 'late@person.example');
    const token = await tokenFor('late@person.example');
    const late = await signUpUser(t, 'late@person.example');
    expect(await assignmentsOf(late.userId)).toEqual([]);
    const res = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: late.email, password: late.password, invitation: token }),
    });
    expect(res.status).toBe(200);
    expect(await assignmentsOf(late.userId)).toEqual([
      { role_id: ROLE.viewer, scope_type: 'project', scope_id: 'web' },
    ]);
  });

  it('a token sent to another email grants nothing', async () => {
    const { ada } = await acme();
    await invite(ada, 'invited@person.example');
    const token = await tokenFor('invited@person.example');
    const body = await signUpWith('forwarded@person.example', token);
    expect(body.invitation).toBeNull();
    expect(await assignmentsOf(body.user.user_id)).toEqual([]);
    // Still open for the right person.
    expect((await app().request(`/invitations/${token}`)).status).toBe(200);
  });

  it('resending (and inviting again) makes a new link and the old one stops working', async () => {
    const { ada } = await acme();
    const { invitation } = await invite(ada, 'new@person.example');
    const first = await tokenFor('new@person.example');

    const again = await invite(ada, 'new@person.example');
    expect(again.invitation.invitation_id).toBe(invitation.invitation_id);
    const second = await tokenFor('new@person.example');
    expect(second).not.toBe(first);
    expect((await app().request(`/invitations/${first}`)).status).toBe(404);

    t.clock.advance(6 * DAY);
    const resent = await t.app.request(
      `/projects/web/access/invitations/${invitation.invitation_id}/resend`,
      {
        method: 'POST',
        headers: asJson(ada),
      },
    );
    expect(resent.status).toBe(200);
    const renewed = (await resent.json()).invitation;
    expect(new Date(renewed.expires_at).getTime()).toBe(t.clock.now().getTime() + 7 * DAY);
    const third = await tokenFor('new@person.example');
    expect(third).not.toBe(second);
    expect(
      await t.database.db.selectFrom('ktrlplane.invitations').select('invitation_id').execute(),
    ).toHaveLength(1);
    expect(await outbox()).toHaveLength(3);

    expect((await app().request(`/invitations/${second}`)).status).toBe(404);
    const stale = await signUpWith('new@person.example', second);
    expect(stale.invitation).toBeNull();
    const res = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'new@person.example', password: 'a long passphrase', invitation: third }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).invitation).toMatchObject({ roleId: ROLE.viewer });

    // The htmx resend answers the invitation's row.
    await invite(ada, 'other@person.example');
    const [open] = (await (await t.app.request('/projects/web/access', { headers: asJson(ada) })).json())
      .invitations;
    const row = await t.app.request(`/projects/web/access/invitations/${open.invitation_id}/resend`, {
      method: 'POST',
      headers: as(ada, { 'HX-Request': 'true' }),
    });
    expect(row.status).toBe(200);
    const rowHtml = await row.text();
    expect(rowHtml).toMatch(/^<tr id="invitation-/);
    expect(rowHtml).toContain('Sent again');
  });

  it('a revoked invitation is gone from the page and its link is dead', async () => {
    const { ada } = await acme();
    const { invitation } = await invite(ada, 'new@person.example');
    const token = await tokenFor('new@person.example');
    const url = `/projects/web/access/invitations/${invitation.invitation_id}`;
    const res = await t.app.request(url, { method: 'DELETE', headers: as(ada, { 'HX-Request': 'true' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await app().request(`/invitations/${token}`)).status).toBe(404);
    expect((await signUpWith('new@person.example', token)).invitation).toBeNull();
    expect((await t.app.request(url, { method: 'DELETE', headers: asJson(ada) })).status).toBe(404);
    expect((await t.app.request(`${url}/resend`, { method: 'POST', headers: asJson(ada) })).status).toBe(404);
    // An invitation of another scope is not reachable through this one.
    const { invitation: onOrg } = await invite(
      ada,
      'org@person.example',
      ROLE.viewer,
      '/organizations/acme/access',
    );
    expect(
      (
        await t.app.request(`/projects/web/access/invitations/${onOrg.invitation_id}`, {
          method: 'DELETE',
          headers: asJson(ada),
        })
      ).status,
    ).toBe(404);
  });

  it('delivers queued mail through the log without the token, once, even when run twice', async () => {
    const { ada } = await acme();
    await invite(ada, 'new@person.example');
    const token = await tokenFor('new@person.example');
    const deps = { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config };

    // Two runs at once: one sends; the other finds the lock taken (Postgres) or nothing left (PGlite,
    // where the runs queue on the single connection).
    const runs = await Promise.all([
      runJob(deps, deliverMailJob, 'test'),
      runJob(deps, deliverMailJob, 'test'),
    ]);
    const details = runs.map((run) => run.detail).sort();
    expect(details[1]).toBe('sent 1 messages, 0 failed');
    expect(['another run holds the lock', 'no mail to send']).toContain(details[0]);
    const [mail] = await outbox();
    expect(mail).toMatchObject({ attempts: 1, last_error: null });
    expect(mail?.sent_at).toEqual(t.clock.now());
    expect(mail?.body_text).toContain(token);

    const logged = t.logs.filter((line) => String(line.msg).startsWith('mail'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ to: 'new@person.example' });
    expect(String(logged[0]?.body)).toContain('/invitations/[REDACTED]');
    expect(JSON.stringify(t.logs)).not.toContain(token);

    expect((await runJob(deps, deliverMailJob, 'test')).detail).toBe('no mail to send');
  });

  it('records failed attempts and the error, and tries again on the next run', async () => {
    const { ada } = await acme();
    await invite(ada, 'new@person.example');
    const deps = { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config };
    let fail = true;
    const sent: string[] = [];
    const job = createDeliverMailJob(() => ({
      async send(message) {
        if (fail) throw new Error('connection refused');
        sent.push(message.to);
      },
    }));
    expect((await runJob(deps, job, 'test')).detail).toBe('sent 0 messages, 1 failed');
    expect((await outbox())[0]).toMatchObject({
      attempts: 1,
      last_error: 'connection refused',
      sent_at: null,
    });
    fail = false;
    expect((await runJob(deps, job, 'test')).detail).toBe('sent 1 messages, 0 failed');
    expect((await outbox())[0]).toMatchObject({ attempts: 2, last_error: null });
    expect(sent).toEqual(['new@person.example']);
  });

  describe('through SMTP', () => {
    let server: SMTPServer | undefined;
    afterEach(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    });

    it('sends queued mail to the SMTP server of SMTP_URL', async () => {
      const received: Array<{ from: string; to: string[]; data: string }> = [];
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, session, callback) {
          let data = '';
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => {
            data += chunk;
          });
          stream.on('end', () => {
            received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              data,
            });
            callback();
          });
        },
      });
      const running = server;
      await new Promise<void>((resolve) => running.listen(0, '127.0.0.1', () => resolve()));
      const { port } = running.server.address() as AddressInfo;

      const { ada } = await acme();
      await invite(ada, 'new@person.example');
      const token = await tokenFor('new@person.example');
      const job = createDeliverMailJob((ctx) =>
        mailTransportFor(
          { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'ktrlplane <no-reply@acme.example>' },
          ctx.log,
        ),
      );
      const outcome = await runJob(
        { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config },
        job,
        'test',
      );
      expect(outcome.detail).toBe('sent 1 messages, 0 failed');
      expect(received).toHaveLength(1);
      expect(received[0]?.from).toBe('no-reply@acme.example');
      expect(received[0]?.to).toEqual(['new@person.example']);
      expect(received[0]?.data).toContain('Subject: Ada Owner (ada@acme.example) invited you to Web on');
      expect(received[0]?.data.replace(/=\r?\n/g, '')).toContain(`/invitations/${token}`);
      expect((await outbox())[0]?.sent_at).not.toBeNull();
      expect(JSON.stringify(t.logs)).not.toContain(token);
    });

    it('keeps the message queued with the error when the server is unreachable', async () => {
      const { ada } = await acme();
      await invite(ada, 'new@person.example');
      // A port nothing listens on: bind a server, note its port, close it.
      const probe = new SMTPServer({ logger: false });
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
      const { port } = probe.server.address() as AddressInfo;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const job = createDeliverMailJob((ctx) =>
        mailTransportFor({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'x <x@acme.example>' }, ctx.log),
      );
      const outcome = await runJob(
        { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config },
        job,
        'test',
      );
      expect(outcome.detail).toBe('sent 0 messages, 1 failed');
      const [mail] = await outbox();
      expect(mail).toMatchObject({ attempts: 1, sent_at: null });
      expect(mail?.last_error).toMatch(/ECONNREFUSED|connect/i);
    });
  });
});
