import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { deleteEmailVerificationsOf } from '../db/email-verifications.repository.ts';
import { deleteExpiredOidcLogins, insertOidcLogin, takeOidcLogin } from '../db/oidc-logins.repository.ts';
import { hasLocalPassword, isPlaceholderInvitee } from '../db/placeholder-invitees.repository.ts';
import { deleteSessionsOfUser } from '../db/sessions.repository.ts';
import type { Database, User } from '../db/types.ts';
import { findLinkedUser } from '../db/user-identities.repository.ts';
import {
  findUserByEmail,
  findUserById,
  releaseUnverifiedEmail,
  upsertExternalUser,
} from '../db/users.repository.ts';
import { base64url, constantTimeEqual, randomToken } from '../lib/crypto.ts';
import { AppError, conflict } from '../lib/errors.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { claimPlaceholderInvitee } from './placeholder-invitees.ts';

/**
 * OpenID Connect, Auth0-compatible, in two roles:
 * - API access tokens: RS256 JWTs verified against the issuer's JWKS (fetched once and cached by
 *   jose, refreshed when an unknown key id appears), with the exact issuer and audience and 60 s of
 *   clock skew, at the time of the injected clock.
 * - Browser sign-in: authorization code + PKCE (S256), with a single-use state row that expires
 *   after ten minutes and an ID token bound to the request by its nonce.
 * Tokens, codes and verifiers are secrets: nothing here logs them or puts them in an error message.
 */
export interface OidcDiscovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
}

type OidcConfig = Pick<Config, 'OIDC_ISSUER' | 'OIDC_AUDIENCE'>;
type SignInConfig = Pick<Config, 'OIDC_ISSUER' | 'OIDC_CLIENT_ID' | 'OIDC_CLIENT_SECRET' | 'BASE_URL'>;
export type OidcSignInConfig = SignInConfig & { OIDC_ISSUER: string; OIDC_CLIENT_ID: string };

/** How long a started browser sign-in may take before its state is refused. */
const SIGN_IN_TTL_MS = 10 * 60_000;
/** An identity provider that does not answer within this is treated as unreachable. */
const PROVIDER_TIMEOUT_MS = 10_000;
const CLOCK_SKEW_SECONDS = 60;

const discoveries = new Map<string, Promise<OidcDiscovery>>();
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** Bearer JWTs on /api/v1 need the issuer and the API's audience. */
export function oidcEnabled(
  config: OidcConfig,
): config is OidcConfig & { OIDC_ISSUER: string; OIDC_AUDIENCE: string } {
  return Boolean(config.OIDC_ISSUER && config.OIDC_AUDIENCE);
}

/** Browser sign-in needs the issuer and ktrlplane's client id (the secret is optional: PKCE). */
export function oidcSignInEnabled(config: SignInConfig): config is OidcSignInConfig {
  return Boolean(config.OIDC_ISSUER && config.OIDC_CLIENT_ID);
}

/**
 * The identity provider could not be reached, or answered something unusable. The message names
 * the endpoint and the status, never a credential, so it may be logged.
 */
export class OidcProviderError extends Error {
  override name = 'OidcProviderError';
}

async function fetchProvider(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (error) {
    throw new OidcProviderError(
      `${new URL(url).origin}${new URL(url).pathname} did not answer: ${String(error)}`,
    );
  }
}

/** The issuer's metadata (/.well-known/openid-configuration), fetched once per process. */
export function discover(issuer: string): Promise<OidcDiscovery> {
  let pending = discoveries.get(issuer);
  if (!pending) {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    pending = fetchProvider(url).then(async (res) => {
      if (!res.ok) throw new OidcProviderError(`OIDC discovery at ${url} answered ${res.status}`);
      const metadata = (await res.json()) as OidcDiscovery;
      // Tokens must name exactly the configured issuer; a mismatch here would refuse every token.
      if (metadata.issuer !== issuer) {
        throw new OidcProviderError(
          `OIDC discovery at ${url} names the issuer ${metadata.issuer}, not the configured ${issuer}`,
        );
      }
      return metadata;
    });
    // A failure is not cached: the next request tries again.
    pending.catch(() => discoveries.delete(issuer));
    discoveries.set(issuer, pending);
  }
  return pending;
}

async function keySet(issuer: string) {
  let set = keySets.get(issuer);
  if (!set) {
    set = createRemoteJWKSet(new URL((await discover(issuer)).jwks_uri), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
      timeoutDuration: PROVIDER_TIMEOUT_MS,
    });
    keySets.set(issuer, set);
  }
  return set;
}

export interface OidcIdentity {
  userId: string;
  email: string | null;
  /** True only when the provider said `email_verified: true`. */
  emailVerified: boolean;
  name: string | null;
  kind: 'user' | 'service';
}

/**
 * Verifies a JWT from `issuer` for `audience` (the API's, or the client id for ID tokens) at
 * `now`: RS256 only, exact issuer and audience, an expiry, 60 s of skew, and the nonce when one is
 * expected. Answers null for any token that fails, and when the issuer's keys cannot be fetched.
 */
export async function verifyOidcJwt(
  issuer: string,
  audience: string,
  jwt: string,
  options: { now?: Date | undefined; nonce?: string } = {},
): Promise<JWTPayload | null> {
  try {
    const { payload } = await jwtVerify(jwt, await keySet(issuer), {
      issuer,
      audience,
      algorithms: ['RS256'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'sub'],
      ...(options.now ? { currentDate: options.now } : {}),
    });
    if (options.nonce !== undefined && payload.nonce !== options.nonce) return null;
    return payload;
  } catch {
    return null;
  }
}

/**
 * Who a verified token speaks for. A token with `gty: client-credentials` is a service account named
 * `<client_id>@clients` (Auth0's convention); otherwise the user is the token's `sub`. An email the
 * provider says is unverified is not kept: an address decides who an invitation or a grant by
 * email reaches.
 */
export function identityFromClaims(payload: JWTPayload): OidcIdentity | null {
  const claims = payload as JWTPayload & {
    gty?: string;
    azp?: string;
    client_id?: string;
    email?: unknown;
    email_verified?: unknown;
    name?: unknown;
  };
  if (claims.gty === 'client-credentials') {
    const clientId = claims.azp ?? claims.client_id ?? claims.sub?.replace(/@clients$/, '');
    return clientId
      ? { userId: `${clientId}@clients`, email: null, emailVerified: false, name: clientId, kind: 'service' }
      : null;
  }
  if (!claims.sub) return null;
  const email =
    typeof claims.email === 'string' && claims.email.includes('@') && claims.email_verified !== false
      ? claims.email.toLowerCase()
      : null;
  return {
    userId: claims.sub,
    email,
    emailVerified: email !== null && claims.email_verified === true,
    name: typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : null,
    kind: 'user',
  };
}

/** The caller named by a bearer JWT on /api/v1 at `now`, or null when it is not a valid token. */
export async function verifyAccessToken(
  config: OidcConfig,
  jwt: string,
  now?: Date,
): Promise<OidcIdentity | null> {
  if (!oidcEnabled(config)) return null;
  const payload = await verifyOidcJwt(config.OIDC_ISSUER, config.OIDC_AUDIENCE, jwt, { now });
  return payload ? identityFromClaims(payload) : null;
}

/**
 * The account an OIDC identity signs in as: the local account its `sub` is linked to (account
 * page), else the user the `sub` names, created or refreshed from the claims. Emails are unique:
 * - an address held by another account that has verified it is never taken over: an API caller
 *   gets no email, a browser sign-in (`onEmailTaken: 'refuse'`) is told, since the person can act;
 * - an address held by an account that never verified it goes to a browser sign-in whose provider
 *   verified it (`email_verified: true`): the provider has shown this person owns the mailbox,
 *   while the holder never did (it may be a squatter). The holder keeps its account and grants but
 *   loses the address (and so its password sign-in, which is by email); its sessions and pending
 *   links end. Audited as `auth.email_released` in the same transaction. Linking the identity to
 *   the holder instead would hand whoever set the holder's password an account the real owner now
 *   uses.
 * - an address held by a Go-era placeholder invitee (its user id is the email, no password) goes
 *   to the first sign-in whose provider verified it, with the roles granted to it
 *   (claimPlaceholderInvitee), as the Go service did.
 */
export async function upsertOidcUser(
  db: Kysely<Database>,
  identity: OidcIdentity,
  now: Date,
  onEmailTaken: 'drop' | 'refuse' = 'drop',
  actor?: AuditActor,
): Promise<User> {
  const linked = await findLinkedUser(db, identity.userId);
  if (linked) return linked;
  const email = identity.email;
  const holder = email ? await findUserByEmail(db, email) : undefined;
  if (
    holder &&
    holder.user_id !== identity.userId &&
    identity.kind === 'user' &&
    identity.emailVerified &&
    isPlaceholderInvitee(holder) &&
    !(await hasLocalPassword(db, holder.user_id)) &&
    !(await findUserById(db, identity.userId))
  )
    return claimPlaceholderInvitee(db, holder, identity, now);
  const fields = {
    user_id: identity.userId,
    email,
    email_verified: identity.emailVerified,
    name: identity.name,
    kind: identity.kind,
  };
  if (!holder || holder.user_id === identity.userId) return upsertExternalUser(db, fields, now);
  const claims = onEmailTaken === 'refuse' && identity.emailVerified && holder.email_verified_at === null;
  if (claims && actor) {
    return db.transaction().execute(async (trx) => {
      const released = await releaseUnverifiedEmail(trx, holder.user_id, now);
      if (!released) throw emailTaken(email);
      await deleteEmailVerificationsOf(trx, holder.user_id);
      await deleteSessionsOfUser(trx, holder.user_id);
      await recordAudit(
        trx,
        { ...actor, actorType: 'user', actorId: identity.userId, actorLabel: email },
        {
          action: 'auth.email_released',
          targetType: 'user',
          targetId: holder.user_id,
          orgId: null,
          before: { email: holder.email },
          after: { email: null, claimed_by: identity.userId },
        },
        now,
      );
      return upsertExternalUser(trx, fields, now);
    });
  }
  if (onEmailTaken === 'refuse') throw emailTaken(email);
  return upsertExternalUser(db, { ...fields, email: null, email_verified: false }, now);
}

function emailTaken(email: string | null) {
  return conflict(
    `An account with the email ${email} already exists here. Sign in with its password instead, or ask an administrator to remove it first.`,
  );
}

// ——— Browser sign-in: authorization code + PKCE ———

/**
 * Where to go after signing in, and the invitation to accept on the way (kept in `return_to`).
 * `link` names the signed-in local account that started the flow to link an identity to it
 * (account page) instead of signing in.
 */
export interface SignInReturn {
  next: string;
  invitation: string | null;
  link?: string | null;
}

/** The redirect URI registered at the provider: BASE_URL + /auth/oidc/callback. */
export function oidcCallbackUrl(config: Pick<Config, 'BASE_URL'>): string {
  return `${config.BASE_URL.replace(/\/$/, '')}/auth/oidc/callback`;
}

async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function encodeReturn(value: SignInReturn): string {
  return JSON.stringify(value);
}

function decodeReturn(text: string): SignInReturn {
  try {
    const value = JSON.parse(text) as Partial<SignInReturn>;
    return {
      next: typeof value.next === 'string' ? value.next : '/',
      invitation: typeof value.invitation === 'string' ? value.invitation : null,
      link: typeof value.link === 'string' ? value.link : null,
    };
  } catch {
    return { next: '/', invitation: null };
  }
}

/**
 * Starts a sign-in: stores a fresh state, PKCE verifier and nonce (single use, ten minutes) and
 * answers the provider's authorization URL to send the browser to. `ret.next` must already be a
 * safe local path. Expired rows of abandoned sign-ins are swept here, so the table stays small
 * without a job.
 */
export async function beginOidcSignIn(
  db: Kysely<Database>,
  config: OidcSignInConfig,
  ret: SignInReturn,
  now: Date,
  browserHash: string,
): Promise<string> {
  const discovery = await discover(config.OIDC_ISSUER);
  const state = randomToken();
  const nonce = randomToken();
  const codeVerifier = randomToken(48);
  await deleteExpiredOidcLogins(db, now);
  await insertOidcLogin(db, {
    state,
    code_verifier: codeVerifier,
    nonce,
    return_to: encodeReturn(ret),
    expires_at: new Date(now.getTime() + SIGN_IN_TTL_MS),
    browser_hash: browserHash,
  });
  const url = new URL(discovery.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.OIDC_CLIENT_ID);
  url.searchParams.set('redirect_uri', oidcCallbackUrl(config));
  url.searchParams.set('scope', 'openid email profile');
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  url.searchParams.set('code_challenge', await pkceChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return url.href;
}

/**
 * Ends a started sign-in without completing it (the provider answered with an error): its state
 * row is used up, and its return target is handed back so the user can try again from there.
 */
export async function abandonOidcSignIn(
  db: Kysely<Database>,
  state: string,
  now: Date,
): Promise<SignInReturn | null> {
  const row = await takeOidcLogin(db, state, now);
  return row ? decodeReturn(row.return_to) : null;
}

/** The browser's binding did not match the state's: the callback was opened in another browser. */
const OTHER_BROWSER =
  'This sign-in was started in another browser, or this browser no longer has its cookie, so it was not completed and nobody was signed in.';

function sameHash(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
}

const startAgain = (detail: string) =>
  new AppError(400, 'Sign-in could not be completed', `${detail} Start the sign-in again.`);

/**
 * Completes a sign-in at the callback: uses up the state row (unknown, used or expired → 400),
 * redeems the code with the PKCE verifier, verifies the ID token (issuer, audience = client id,
 * nonce, time) and answers who signed in. Claims the ID token lacks (strict providers put email
 * and name only in userinfo) are read from userinfo, whose `sub` must be the ID token's.
 */
export async function completeOidcSignIn(
  db: Kysely<Database>,
  config: OidcSignInConfig,
  params: { code: string; state: string; browserHash: string | null },
  now: Date,
): Promise<{ identity: OidcIdentity; ret: SignInReturn }> {
  const row = await takeOidcLogin(db, params.state, now);
  if (!row) throw startAgain('This sign-in has expired or was already used.');
  // Checked before the code is redeemed: a callback from another browser gets nothing further.
  if (!params.browserHash || !row.browser_hash || !sameHash(params.browserHash, row.browser_hash)) {
    throw startAgain(OTHER_BROWSER);
  }
  const ret = decodeReturn(row.return_to);
  const discovery = await discover(config.OIDC_ISSUER);
  const tokens = await redeemCode(discovery, config, params.code, row.code_verifier);
  const payload = await verifyOidcJwt(config.OIDC_ISSUER, config.OIDC_CLIENT_ID, tokens.idToken, {
    now,
    nonce: row.nonce,
  });
  // With several audiences, the ID token must also say it was issued to us (OIDC Core 3.1.3.7).
  const audiences = Array.isArray(payload?.aud) ? payload.aud : [];
  if (!payload || (audiences.length > 1 && payload.azp !== config.OIDC_CLIENT_ID)) {
    throw startAgain('The identity provider’s answer could not be verified.');
  }
  let claims: JWTPayload = payload;
  if ((payload.email === undefined || payload.name === undefined) && tokens.accessToken) {
    const info = await userInfo(discovery, tokens.accessToken);
    if (info && info.sub === payload.sub) claims = { ...info, ...payload };
  }
  const identity = identityFromClaims(claims);
  if (identity?.kind !== 'user') throw startAgain('The identity provider did not name a user.');
  return { identity, ret };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replaceAll('%20', '+');
}

/**
 * Redeems the authorization code. A confidential client authenticates with HTTP Basic
 * (client_secret_basic, the OAuth default) unless the provider only offers client_secret_post; a
 * public client (no secret) sends its id and relies on PKCE alone.
 */
async function redeemCode(
  discovery: OidcDiscovery,
  config: OidcSignInConfig,
  code: string,
  codeVerifier: string,
): Promise<{ idToken: string; accessToken: string | null }> {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: oidcCallbackUrl(config),
    code_verifier: codeVerifier,
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  const methods = discovery.token_endpoint_auth_methods_supported;
  if (!config.OIDC_CLIENT_SECRET) {
    body.set('client_id', config.OIDC_CLIENT_ID);
  } else if (methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')) {
    body.set('client_id', config.OIDC_CLIENT_ID);
    body.set('client_secret', config.OIDC_CLIENT_SECRET);
  } else {
    // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
    const pair = `${formEncode(config.OIDC_CLIENT_ID)}:${formEncode(config.OIDC_CLIENT_SECRET)}`;
    headers.Authorization = `Basic ${btoa(pair)}`;
  }
  const res = await fetchProvider(discovery.token_endpoint, { method: 'POST', headers, body });
  const answer = (await res.json().catch(() => ({}))) as {
    id_token?: unknown;
    access_token?: unknown;
    error?: unknown;
  };
  if (!res.ok) {
    // An OAuth error code (invalid_grant, …) is safe to show; the description may echo input.
    const reason =
      typeof answer.error === 'string' && /^[\w.-]{1,64}$/.test(answer.error) ? answer.error : null;
    if (res.status >= 500 || !reason)
      throw new OidcProviderError(`the token endpoint answered ${res.status}${reason ? ` (${reason})` : ''}`);
    throw startAgain(`The identity provider did not accept the sign-in (${reason}).`);
  }
  if (typeof answer.id_token !== 'string') {
    throw new OidcProviderError('the token endpoint answered without an ID token');
  }
  return {
    idToken: answer.id_token,
    accessToken: typeof answer.access_token === 'string' ? answer.access_token : null,
  };
}

/** The userinfo claims, or null when the provider has no userinfo endpoint or does not answer. */
async function userInfo(discovery: OidcDiscovery, accessToken: string): Promise<JWTPayload | null> {
  if (!discovery.userinfo_endpoint) return null;
  try {
    const res = await fetchProvider(discovery.userinfo_endpoint, {
      headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
    });
    if (!res.ok || !(res.headers.get('Content-Type') ?? '').includes('json')) return null;
    return (await res.json()) as JWTPayload;
  } catch {
    return null;
  }
}
