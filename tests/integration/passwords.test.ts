import { describe, expect, it } from 'vitest';
import { findPasswordHash } from '../../src/db/users.repository.ts';
import {
  hashPassword,
  iterationsOf,
  passwordIterationsFor,
  verifyPassword,
  WORKERS_MAX_ITERATIONS,
} from '../../src/services/passwords.ts';
import { ORIGIN, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('password hashing', () => {
  it('stores algorithm, iterations and salt, and verifies with them', async () => {
    const stored = await hashPassword('a long passphrase', 2000);
    expect(stored).toMatch(/^pbkdf2-sha256\$2000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('a long passphrase', stored)).toBe(true);
    expect(await verifyPassword('a long passphrasE', stored)).toBe(false);
    expect(await hashPassword('a long passphrase', 2000)).not.toBe(stored); // fresh salt
  });

  it('never matches a malformed hash', async () => {
    for (const bad of ['', 'plain', 'md5$1$x$y', 'pbkdf2-sha256$0$AA$AA', 'pbkdf2-sha256$abc$AA$AA']) {
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });

  it('targets 600,000 iterations on Node and never more than 100,000 on Workers', () => {
    expect(passwordIterationsFor('node', 600_000)).toBe(600_000);
    expect(passwordIterationsFor('workers', 600_000)).toBe(WORKERS_MAX_ITERATIONS);
    expect(WORKERS_MAX_ITERATIONS).toBe(100_000);
    expect(passwordIterationsFor('workers', 50_000)).toBe(50_000);
  });
});

describe('hash upgrade on sign-in', () => {
  const t = useTestApp({ PASSWORD_ITERATIONS: '1000' });

  it('rehashes a weaker hash at the next successful sign-in', async () => {
    const user = await signUpUser(t, 'ada@example.com');
    expect(iterationsOf((await findPasswordHash(t.database.db, user.userId)) ?? '')).toBe(1000);
    const stronger = { ...t.deps, config: { ...t.deps.config, PASSWORD_ITERATIONS: 3000 } };
    const { createApp } = await import('../../src/app.ts');
    const app = createApp(stronger);
    const res = await app.request('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(res.status).toBe(200);
    const upgraded = (await findPasswordHash(t.database.db, user.userId)) ?? '';
    expect(iterationsOf(upgraded)).toBe(3000);
    expect(await verifyPassword(user.password, upgraded)).toBe(true);
  });
});
