import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Config } from '../config.ts';

/**
 * OIDC (Auth0-compatible) access tokens: RS256 JWTs verified against the issuer's JWKS (fetched
 * once and cached by jose, refreshed when an unknown key id appears), with the exact issuer and
 * audience and 60 s of clock skew.
 */
export interface OidcDiscovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

type OidcConfig = Pick<Config, 'OIDC_ISSUER' | 'OIDC_AUDIENCE'>;

const discoveries = new Map<string, Promise<OidcDiscovery>>();
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

export function oidcEnabled(
  config: OidcConfig,
): config is OidcConfig & { OIDC_ISSUER: string; OIDC_AUDIENCE: string } {
  return Boolean(config.OIDC_ISSUER && config.OIDC_AUDIENCE);
}

/** The issuer's metadata (/.well-known/openid-configuration), fetched once per process. */
export function discover(issuer: string): Promise<OidcDiscovery> {
  let pending = discoveries.get(issuer);
  if (!pending) {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    pending = fetch(url).then(async (res) => {
      if (!res.ok) throw new Error(`OIDC discovery at ${url} answered ${res.status}`);
      return (await res.json()) as OidcDiscovery;
    });
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
    });
    keySets.set(issuer, set);
  }
  return set;
}

export interface OidcIdentity {
  userId: string;
  email: string | null;
  name: string | null;
  kind: 'user' | 'service';
}

/** Verifies a JWT for `audience` (the API's, or the client id for id tokens); null when invalid. */
export async function verifyOidcJwt(
  issuer: string,
  audience: string,
  jwt: string,
  nonce?: string,
): Promise<JWTPayload | null> {
  try {
    const { payload } = await jwtVerify(jwt, await keySet(issuer), {
      issuer,
      audience,
      algorithms: ['RS256'],
      clockTolerance: 60,
    });
    if (nonce !== undefined && payload.nonce !== nonce) return null;
    return payload;
  } catch {
    return null;
  }
}

/**
 * Who a verified token speaks for. A token with `gty: client-credentials` is a service account named
 * `<client_id>@clients` (Auth0's convention); otherwise the user is the token's `sub`.
 */
export function identityFromClaims(payload: JWTPayload): OidcIdentity | null {
  const claims = payload as JWTPayload & {
    gty?: string;
    azp?: string;
    client_id?: string;
    email?: string;
    name?: string;
  };
  if (claims.gty === 'client-credentials') {
    const clientId = claims.azp ?? claims.client_id ?? claims.sub?.replace(/@clients$/, '');
    return clientId ? { userId: `${clientId}@clients`, email: null, name: clientId, kind: 'service' } : null;
  }
  if (!claims.sub) return null;
  return {
    userId: claims.sub,
    email: typeof claims.email === 'string' ? claims.email : null,
    name: typeof claims.name === 'string' ? claims.name : null,
    kind: 'user',
  };
}

export async function verifyAccessToken(config: OidcConfig, jwt: string): Promise<OidcIdentity | null> {
  if (!oidcEnabled(config)) return null;
  const payload = await verifyOidcJwt(config.OIDC_ISSUER, config.OIDC_AUDIENCE, jwt);
  return payload ? identityFromClaims(payload) : null;
}
