import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { MAX_SIGNUPS_PER_IP } from '../../src/services/signup-throttle.ts';
import { createOrgFor, ORIGIN, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Issue 15 finding 8: sign-up answered 409 for a taken email, sign-in for an unknown email was
 * measurably slower (a fresh dummy hash each time), and sign-up ran PBKDF2 with no rate limit.
 */
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN };
const FORM_HEADERS = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN };

describe('sign-up and sign-in without enumeration', () => {
  // A real PBKDF2 cost, so hashing dominates the timing comparison below.
  const t = useTestApp({ PASSWORD_ITERATIONS: '100000' });

  const signUp = (
    app: { request: typeof t.app.request },
    email: string,
    headers: Record<string, string> = JSON_HEADERS,
  ) =>
    app.request('/auth/signup', {
      method: 'POST',
      headers,
      body:
        headers === JSON_HEADERS
          ? JSON.stringify({ email, name: 'Someone', password: 'a long passphrase' })
          : `email=${encodeURIComponent(email)}&name=Someone&password=a+long+passphrase`,
    });

  /** What a client can see of an answer, minus what differs on every request. */
  async function visible(res: Response) {
    const headers = Object.fromEntries(
      [...res.headers].filter(
        ([name]) => !['x-request-id', 'date', 'content-security-policy'].includes(name),
      ),
    );
    return { status: res.status, headers, body: await res.text() };
  }

  it('answers a taken address exactly like a free one, and mails the owner instead', async () => {
    const owner = await signUpUser(t, 'taken@example.com');
    const free = await visible(await signUp(t.app, 'free@example.com'));
    const taken = await visible(await signUp(t.app, 'TAKEN@example.com'));
    expect(taken).toEqual(free);
    expect(free.status).toBe(202);
    const freeForm = await visible(await signUp(t.app, 'free-form@example.com', FORM_HEADERS));
    const takenForm = await visible(await signUp(t.app, 'taken@example.com', FORM_HEADERS));
    expect(takenForm).toEqual(freeForm);
    expect(freeForm.status).toBe(303);

    // No second account; the owner was told, with a way to sign in, and the attempt is in their activity.
    const accounts = await t.database.db
      .selectFrom('ktrlplane.users')
      .select('user_id')
      .where('email', '=', 'taken@example.com')
      .execute();
    expect(accounts).toEqual([{ user_id: owner.userId }]);
    const mails = await t.database.db
      .selectFrom('ktrlplane.mail_outbox')
      .select(['subject', 'body_text'])
      .where('to_address', '=', 'taken@example.com')
      .execute();
    expect(mails).toHaveLength(2);
    expect(mails[0]?.subject).toBe('Someone tried to sign up to ktrlplane with your email address');
    expect(mails[0]?.body_text).toContain(`${t.deps.config.BASE_URL}/auth/login`);
    expect(mails[0]?.body_text).not.toContain('/auth/verify-email/');
    const account = await (await t.app.request('/account', { headers: { Cookie: owner.cookie } })).text();
    expect(account).toContain('Someone tried to sign up with your address');
    // A free address got a verification link instead.
    const freeMail = await t.database.db
      .selectFrom('ktrlplane.mail_outbox')
      .select('body_text')
      .where('to_address', '=', 'free@example.com')
      .executeTakeFirstOrThrow();
    expect(freeMail.body_text).toContain('/auth/verify-email/');
  });

  it('mails the owner of a taken address at most three times an hour, and still answers alike', async () => {
    await signUpUser(t, 'popular@example.com');
    for (let i = 0; i < 5; i++) expect((await signUp(t.app, 'popular@example.com')).status).toBe(202);
    const mails = await t.database.db
      .selectFrom('ktrlplane.mail_outbox')
      .select('mail_id')
      .where('to_address', '=', 'popular@example.com')
      .execute();
    expect(mails).toHaveLength(3);
  });

  it('rate-limits sign-up per client IP with 429 and Retry-After, taken and free addresses alike', async () => {
    await signUpUser(t, 'existing@example.com');
    const fromIp = (ip: string) => createApp({ ...t.deps, remoteAddress: () => ip });
    const app = fromIp('203.0.113.7');
    for (let i = 0; i < MAX_SIGNUPS_PER_IP; i++) {
      const email = i % 2 === 0 ? `person${i}@example.com` : 'existing@example.com';
      expect((await signUp(app, email)).status).toBe(202);
    }
    const limited = await signUp(app, 'one-more@example.com');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(
      await t.database.db.selectFrom('ktrlplane.users').where('email', '=', 'one-more@example.com').execute(),
    ).toEqual([]);
    // Another address is not held back, and the window ends.
    expect((await signUp(fromIp('198.51.100.2'), 'elsewhere@example.com')).status).toBe(202);
    t.clock.advance(Number(limited.headers.get('Retry-After')) * 1000);
    expect((await signUp(app, 'one-more@example.com')).status).toBe(202);
  });

  it('takes as long to refuse an unknown email as a known one with a wrong password', async () => {
    const login = (email: string) =>
      t.app.request('/auth/login', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ email, password: 'not the password at all' }),
      });
    const timed = async (email: string) => {
      const started = performance.now();
      const res = await login(email);
      expect(res.status).toBe(401);
      return performance.now() - started;
    };
    // One warm-up of each path (the dummy hash is computed on first use, as in production).
    await signUpUser(t, 'warm@example.com');
    await timed('warm@example.com');
    await timed('warm-unknown@example.com');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 7; i++) {
      // A fresh account and a fresh unknown address each round, so no throttle counter grows.
      await signUpUser(t, `known${i}@example.com`);
      known.push(await timed(`known${i}@example.com`));
      unknown.push(await timed(`unknown${i}@example.com`));
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const ratio = Math.max(median(known), median(unknown)) / Math.min(median(known), median(unknown));
    // A fresh dummy hash per attempt doubled the unknown path's PBKDF2 work (ratio ≈ 2).
    expect(ratio).toBeLessThan(1.5);
  });

  it('member search does not confirm a stranger’s exact address', async () => {
    const ada = await signUpUser(t, 'ada@acme.example');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await signUpUser(t, 'stranger@else.example');
    const res = await t.app.request('/organizations/acme/access/candidates?q=stranger%40else.example', {
      headers: { Cookie: ada.cookie, Accept: 'application/json' },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).candidates).toEqual([]);
  });
});
