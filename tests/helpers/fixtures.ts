import { insertApiToken } from '../../src/db/api-tokens.repository.ts';
import { grantRole } from '../../src/db/role-assignments.repository.ts';
import { insertSession } from '../../src/db/sessions.repository.ts';
import type { ScopeType, TokenAccess } from '../../src/db/types.ts';
import { findUserByEmail, markEmailVerified } from '../../src/db/users.repository.ts';
import { randomToken, sha256Hex } from '../../src/lib/crypto.ts';
import type { AuditActor } from '../../src/services/audit.ts';
import { API_TOKEN_PREFIX } from '../../src/services/authentication.ts';
import { billingPolicyOf } from '../../src/services/billing/policy.ts';
import { emailVerificationMessage } from '../../src/services/mail.ts';
import type { Principal } from '../../src/services/principal.ts';
import { authorize } from '../../src/services/rbac.ts';
import { sessionCookieName } from '../../src/services/sessions.ts';
import { createOrganization, createProject } from '../../src/services/tenancy.ts';
import type { TestContext } from './test-app.ts';

/** The origin `app.request()` URLs have; unsafe cookie requests must send it (CSRF check). */
export const ORIGIN = 'http://localhost';

export interface TestUser {
  userId: string;
  email: string;
  password: string;
  /** The Cookie header of the user's browser session. */
  cookie: string;
}

const systemActor: AuditActor = {
  actorType: 'system',
  actorId: null,
  actorLabel: 'test fixture',
  requestId: null,
  ip: null,
  userAgent: null,
};

/**
 * Signs a user up through the real endpoint and gives them a browser session. Sign-up answers
 * "check your inbox" without signing in (a taken address must look the same), so the session is
 * started the way a sign-in starts one. The address counts as verified, as for someone who opened
 * their link, unless `verified: false` (tests of unverified accounts).
 */
export async function signUpUser(
  t: TestContext,
  email: string,
  name = email.split('@')[0] ?? 'User',
  options: { verified?: boolean } = {},
): Promise<TestUser> {
  const password = 'correct horse battery staple';
  const res = await t.app.request('/auth/signup', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN },
    body: JSON.stringify({ email, name, password }),
  });
  if (res.status !== 202) throw new Error(`sign-up of ${email} failed: ${res.status} ${await res.text()}`);
  const user = await findUserByEmail(t.database.db, email);
  if (!user) throw new Error(`sign-up of ${email} answered 202 but made no account (the address was taken)`);
  if (options.verified !== false) {
    // As if they had opened the link: the address is verified and the mail is out of the way, so
    // tests that count the outbox see only the mail they cause.
    await markEmailVerified(t.database.db, user.user_id, t.clock.now());
    await t.database.db
      .deleteFrom('ktrlplane.email_verifications')
      .where('user_id', '=', user.user_id)
      .execute();
    await t.database.db
      .deleteFrom('ktrlplane.mail_outbox')
      .where('to_address', '=', email)
      .where('subject', '=', emailVerificationMessage({ email, link: '', expiresAt: new Date() }).subject)
      .execute();
  }
  const token = randomToken();
  await insertSession(t.database.db, {
    session_hash: await sha256Hex(token),
    user_id: user.user_id,
    created_at: t.clock.now(),
    expires_at: new Date(t.clock.now().getTime() + t.deps.config.SESSION_TTL_HOURS * 3_600_000),
    ip: null,
    user_agent: null,
  });
  return { userId: user.user_id, email, password, cookie: `${sessionCookieName(t.deps.config)}=${token}` };
}

/** Headers of a browser request by `user` (session cookie and this site's Origin). */
export function as(user: TestUser, headers: Record<string, string> = {}): Record<string, string> {
  return { Cookie: user.cookie, Origin: ORIGIN, ...headers };
}

/** Headers of a JSON request by `user` through their session. */
export function asJson(user: TestUser, headers: Record<string, string> = {}): Record<string, string> {
  return as(user, { Accept: 'application/json', 'Content-Type': 'application/json', ...headers });
}

/** `user` signed in through a browser session, as services see them. */
function sessionPrincipal(user: TestUser): Principal {
  return {
    userId: user.userId,
    email: user.email,
    name: null,
    kind: 'user',
    isPlatformAdmin: false,
    via: 'session',
  };
}

/** An organization owned by `owner`, made through the service (not the route). */
export async function createOrgFor(t: TestContext, owner: TestUser, name: string, orgId?: string) {
  return createOrganization(
    t.database.db,
    sessionPrincipal(owner),
    { name, org_id: orgId },
    systemActor,
    t.clock.now(),
  );
}

/** A project in an organization `owner` may write to. */
export async function createProjectFor(
  t: TestContext,
  owner: TestUser,
  orgId: string,
  name: string,
  projectId?: string,
) {
  const principal = sessionPrincipal(owner);
  const scope = await authorize(t.database.db, principal, 'write', 'organization', orgId, t.clock.now());
  return createProject(
    t.database.db,
    scope,
    principal,
    { name, project_id: projectId, description: '' },
    systemActor,
    t.clock.now(),
    billingPolicyOf(t.deps),
  );
}

/** A resource row in a project (resource routes arrive with the resource issue). */
export async function createResourceRow(
  t: TestContext,
  projectId: string,
  resourceId: string,
  type = 'Konnektr.Graph',
) {
  await t.database.db
    .insertInto('ktrlplane.resources')
    .values({ resource_id: resourceId, project_id: projectId, name: resourceId, type, settings_json: {} })
    .execute();
}

export async function grant(
  t: TestContext,
  user: TestUser,
  roleId: string,
  scopeType: ScopeType,
  scopeId: string,
  expiresAt: Date | null = null,
) {
  return grantRole(t.database.db, {
    user_id: user.userId,
    role_id: roleId,
    scope_type: scopeType,
    scope_id: scopeId,
    expires_at: expiresAt,
    created_by: null,
  });
}

/** An API token for `user`, inserted directly; answers the bearer value. */
export async function apiTokenFor(
  t: TestContext,
  user: TestUser,
  options: {
    access?: TokenAccess;
    scopeType?: 'organization' | 'project';
    scopeId?: string;
    expiresAt?: Date | null;
    revoked?: boolean;
  } = {},
): Promise<string> {
  const secret = `${API_TOKEN_PREFIX}${randomToken()}`;
  await insertApiToken(t.database.db, {
    token_id: `tok-${randomToken(6).toLowerCase()}`,
    token_hash: await sha256Hex(secret),
    user_id: user.userId,
    name: 'test token',
    scope_type: options.scopeType ?? null,
    scope_id: options.scopeId ?? null,
    access: options.access ?? 'read-write',
    created_at: t.clock.now(),
    expires_at: options.expiresAt ?? null,
    last_used_at: null,
    revoked_at: options.revoked ? t.clock.now() : null,
  });
  return secret;
}

export function bearer(token: string, headers: Record<string, string> = {}): Record<string, string> {
  return {
    Authorization: `Bearer ${token}`,
    Accept: 'application/json',
    'Content-Type': 'application/json',
    ...headers,
  };
}
