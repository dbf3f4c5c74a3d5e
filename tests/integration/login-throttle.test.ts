import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { forwardedClient } from '../../src/lib/client-ip.ts';
import {
  ACCOUNT_CEILING,
  MAX_FAILURES_PER_IP,
  PAIR,
  throttleKeyOf,
} from '../../src/services/login-throttle.ts';
import { ORIGIN, signUpUser, type TestUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Sign-in throttling and proxy trust (issue 15, finding 9): no hard lock that an attacker can
 * use against the owner, atomic counting under parallel attempts, and a client address a client
 * cannot choose.
 */
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN };

describe('sign-in throttling behind a trusted proxy', () => {
  const t = useTestApp({ TRUST_PROXY: 'true' });

  /** A sign-in that our proxy forwarded from `ip`, with whatever the client put in front. */
  function signIn(user: TestUser, password: string, ip: string, spoofed?: string) {
    return t.app.request('/auth/login', {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'X-Forwarded-For': spoofed ? `${spoofed}, ${ip}` : ip },
      body: JSON.stringify({ email: user.email, password }),
    });
  }

  const failures = () =>
    t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['ip'])
      .where('action', '=', 'auth.login_failed')
      .execute();

  it('lets exactly the free attempts through when 30 wrong ones arrive in parallel', async () => {
    const user = await signUpUser(t, 'ada@example.com');
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => signIn(user, 'wrong password', '203.0.113.7')),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses.filter((status) => status === 401)).toHaveLength(PAIR.free);
    expect(statuses.filter((status) => status === 429)).toHaveLength(30 - PAIR.free);
    // Only the admitted ones reached the password check.
    expect(await failures()).toHaveLength(PAIR.free);
  });

  it('the owner signs in from their own address while an attacker hammers from another', async () => {
    const user = await signUpUser(t, 'bob@example.com');
    for (let i = 0; i < 40; i++) {
      // A fresh forged left-most hop every time: ignored, the attacker is the proxy's hop.
      const res = await signIn(user, `guess ${i}`, '198.51.100.66', `10.0.${i}.1`);
      expect(res.status).toBe(i < PAIR.free ? 401 : 429);
    }
    const refused = await signIn(user, user.password, '198.51.100.66');
    expect(refused.status).toBe(429);
    const owner = await signIn(user, user.password, '192.0.2.10');
    expect(owner.status).toBe(200);
    expect(owner.headers.get('Set-Cookie')).toMatch(/^session=/);
    // Every failure was recorded at the attacker's real address, never at a forged one.
    expect(new Set((await failures()).map((row) => row.ip))).toEqual(new Set(['198.51.100.66']));
  });

  it('holds a guessing address back with a delay that doubles up to the cap (Retry-After)', async () => {
    const user = await signUpUser(t, 'cy@example.com');
    const ip = '203.0.113.9';
    for (let i = 0; i < PAIR.free; i++) expect((await signIn(user, 'wrong', ip)).status).toBe(401);
    const waits: number[] = [];
    for (let round = 0; round < 7; round++) {
      const held = await signIn(user, 'wrong', ip);
      expect(held.status).toBe(429);
      expect(held.headers.get('Content-Type')).toContain('application/problem+json');
      const wait = Number(held.headers.get('Retry-After'));
      waits.push(wait);
      // One second early is still too early; on time the attempt is let through again.
      t.clock.advance(wait * 1000 - 1000);
      expect((await signIn(user, 'wrong', ip)).status).toBe(429);
      t.clock.advance(1000);
      expect((await signIn(user, 'wrong', ip)).status).toBe(401);
    }
    expect(waits).toEqual([30, 60, 120, 240, 480, 900, 900]);
    // The right password from the held address waits too; once let through, it starts over.
    expect((await signIn(user, user.password, ip)).status).toBe(429);
    t.clock.advance(900_000);
    expect((await signIn(user, user.password, ip)).status).toBe(200);
    for (let i = 0; i < PAIR.free; i++) expect((await signIn(user, 'wrong', ip)).status).toBe(401);
  });

  it('past the account ceiling, spread-out guessers get one try per address; the owner still gets in', async () => {
    const user = await signUpUser(t, 'dee@example.com');
    // A botnet: one guess from each of many addresses, over the account's hourly ceiling.
    for (let i = 0; i < ACCOUNT_CEILING + 5; i++) {
      expect((await signIn(user, `guess ${i}`, `100.64.${i >> 8}.${i & 255}`)).status).toBe(401);
    }
    // An address that has already failed on this account gets no second guess this hour…
    const again = await signIn(user, 'guess again', '100.64.0.1');
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('Retry-After'))).toBeGreaterThan(0);
    // …even with the right password, while an address with no failures gets in with it.
    expect((await signIn(user, user.password, '100.64.0.2')).status).toBe(429);
    expect((await signIn(user, user.password, '192.0.2.44')).status).toBe(200);
    // Other accounts are untouched.
    const other = await signUpUser(t, 'eli@example.com');
    expect((await signIn(other, other.password, '100.64.0.1')).status).toBe(200);
  });

  it('limits one address across many accounts, and a success does not count against it', async () => {
    const ip = '203.0.113.50';
    const user = await signUpUser(t, 'fay@example.com');
    for (let i = 0; i < 5; i++) expect((await signIn(user, user.password, ip)).status).toBe(200);
    for (let i = 0; i < MAX_FAILURES_PER_IP; i++) {
      const res = await t.app.request('/auth/login', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'X-Forwarded-For': ip },
        body: JSON.stringify({ email: `victim${i}@example.com`, password: 'Winter2026!' }),
      });
      expect(res.status).toBe(401);
    }
    expect((await signIn(user, user.password, ip)).status).toBe(429);
    expect((await signIn(user, user.password, '203.0.113.51')).status).toBe(200);
  });

  it('counts IPv6 addresses by their /64', async () => {
    const user = await signUpUser(t, 'gil@example.com');
    for (let i = 0; i < PAIR.free; i++) {
      expect((await signIn(user, 'wrong', `2001:db8:1:2::${(i + 1).toString(16)}`)).status).toBe(401);
    }
    expect((await signIn(user, 'wrong', '2001:db8:1:2:ffff::1')).status).toBe(429);
    expect((await signIn(user, user.password, '2001:db8:1:3::1')).status).toBe(200);
  });
});

describe('the client address', () => {
  it('takes the right-most hop our proxies wrote, never a client-supplied one', () => {
    expect(forwardedClient('203.0.113.1', 1)).toBe('203.0.113.1');
    expect(forwardedClient('6.6.6.6, 203.0.113.1', 1)).toBe('203.0.113.1');
    expect(forwardedClient('6.6.6.6, 203.0.113.1, 10.0.0.2', 2)).toBe('203.0.113.1');
    expect(forwardedClient('203.0.113.1', 2)).toBeNull();
    expect(forwardedClient('[2001:db8::1]:443', 1)).toBe('2001:db8::1');
    expect(forwardedClient('203.0.113.1:5555', 1)).toBe('203.0.113.1');
    expect(forwardedClient('1.1.1.1, not-an-address', 1)).toBeNull();
    expect(forwardedClient(undefined, 1)).toBeNull();
  });

  it('groups IPv6 addresses by /64 and unwraps IPv4-mapped ones', () => {
    expect(throttleKeyOf('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(throttleKeyOf('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(throttleKeyOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(throttleKeyOf('::ffff:203.0.113.4')).toBe('203.0.113.4');
    expect(throttleKeyOf('203.0.113.4')).toBe('203.0.113.4');
  });

  it('reads the settings', () => {
    const config = loadConfig({ TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '2', TRUST_CLOUDFLARE: 'true' });
    expect(config).toMatchObject({ TRUST_PROXY: true, TRUST_PROXY_HOPS: 2, TRUST_CLOUDFLARE: true });
    expect(loadConfig({})).toMatchObject({
      TRUST_PROXY: false,
      TRUST_PROXY_HOPS: 1,
      TRUST_CLOUDFLARE: false,
    });
    expect(() => loadConfig({ TRUST_PROXY_HOPS: '0' })).toThrow(/TRUST_PROXY_HOPS/);
  });
});

describe('forwarded headers without the settings', () => {
  const t = useTestApp();

  it('ignores X-Forwarded-For and CF-Connecting-IP and uses the peer address', async () => {
    t.deps.remoteAddress = () => '192.0.2.200';
    try {
      const user = await signUpUser(t, 'hal@example.com');
      for (let i = 0; i < PAIR.free; i++) {
        const res = await t.app.request('/auth/login', {
          method: 'POST',
          headers: { ...JSON_HEADERS, 'X-Forwarded-For': `10.1.0.${i}`, 'CF-Connecting-IP': `10.2.0.${i}` },
          body: JSON.stringify({ email: user.email, password: 'wrong' }),
        });
        expect(res.status).toBe(401);
      }
      const held = await t.app.request('/auth/login', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'X-Forwarded-For': '10.9.9.9', 'CF-Connecting-IP': '10.8.8.8' },
        body: JSON.stringify({ email: user.email, password: user.password }),
      });
      expect(held.status).toBe(429);
      const ips = await t.database.db
        .selectFrom('ktrlplane.audit_events')
        .select('ip')
        .where('action', '=', 'auth.login_failed')
        .execute();
      expect(new Set(ips.map((row) => row.ip))).toEqual(new Set(['192.0.2.200']));
    } finally {
      delete t.deps.remoteAddress;
    }
  });
});

describe('behind Cloudflare', () => {
  const t = useTestApp({ TRUST_CLOUDFLARE: 'true', TRUST_PROXY: 'true' });

  it('takes CF-Connecting-IP over X-Forwarded-For', async () => {
    const user = await signUpUser(t, 'ida@example.com');
    const res = await t.app.request('/auth/login', {
      method: 'POST',
      headers: {
        ...JSON_HEADERS,
        'CF-Connecting-IP': '198.51.100.23',
        'X-Forwarded-For': '6.6.6.6, 10.0.0.1',
      },
      body: JSON.stringify({ email: user.email, password: 'wrong' }),
    });
    expect(res.status).toBe(401);
    const row = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select('ip')
      .where('action', '=', 'auth.login_failed')
      .executeTakeFirstOrThrow();
    expect(row.ip).toBe('198.51.100.23');
  });
});
