import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
// @ts-expect-error oidc-provider ships no type declarations; the few members used here are typed below.
import ProviderModule from 'oidc-provider';

/**
 * A real OpenID Connect provider (panva's `oidc-provider`) on 127.0.0.1, in-process, for tests of
 * bearer JWTs and browser sign-in. It is shaped like Auth0 where ktrlplane cares: access tokens
 * for an API audience are RS256 JWTs, client-credentials tokens carry `gty: client-credentials`,
 * and user access tokens carry email and name claims (what an Auth0 Action adds). Its own
 * development login form stands in for a user typing their credentials.
 */

/** The API audience ktrlplane is configured with in the tests. */
export const API_AUDIENCE = 'https://api.ktrlplane.test';
/** Another API the provider also issues tokens for; ktrlplane must refuse them. */
export const OTHER_AUDIENCE = 'https://other.example.test';

/** ktrlplane's browser sign-in client (authorization code + PKCE, confidential). */
export const WEB_CLIENT = { id: 'ktrlplane-web', secret: 'web-client-secret-for-tests-only-0123456789' };
/** A machine client that gets tokens with the client-credentials grant. */
export const MACHINE_CLIENT = { id: 'billing-sync', secret: 'machine-client-secret-for-tests-only-012345' };
/** A second client that signs users in for the API (so tests get user access tokens). */
const CLI_CLIENT = {
  id: 'ktrl-cli',
  secret: 'cli-client-secret-for-tests-only-0123456789',
  redirect: 'http://127.0.0.1/cli',
};

export interface TestAccount {
  email: string;
  name: string;
  emailVerified?: boolean;
}

export interface TestOidcProvider {
  issuer: string;
  /** The provider's RS256 signing key (private JWK); another provider can be started with it. */
  signingKey: JWK;
  /** Paths the provider was asked for, in order (to see, say, how often the JWKS was fetched). */
  requests: string[];
  /** Accounts by id (`sub`); tests may add or change entries. Unknown ids sign in as `<id>@example.test`. */
  accounts: Map<string, TestAccount>;
  /** An access token from the client-credentials grant for `audience` (default: ktrlplane's). */
  clientCredentialsToken(audience?: string): Promise<string>;
  /** An access token for `audience` of the user `accountId`, after a full authorization-code flow. */
  userAccessToken(accountId: string, audience?: string): Promise<string>;
  /**
   * Plays the user's part of an authorization request: follows the provider's redirects with its
   * cookies, signs in as `accountId` on the development login form and consents when asked.
   * Answers the URL the provider finally sends the browser to (the client's redirect_uri), or
   * the abort URL's result when `abort` is set.
   */
  authorizeInBrowser(
    authorizationUrl: string,
    accountId: string,
    options?: { abort?: boolean },
  ): Promise<URL>;
  close(): Promise<void>;
}

interface GrantLike {
  addOIDCScope(scope: string): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

interface ProviderContext {
  oidc: {
    client: { clientId: string };
    session: { accountId: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    provider: {
      Grant: {
        new (init: { clientId: string; accountId: string }): GrantLike;
        find(id: string): Promise<GrantLike | undefined>;
      };
    };
  };
}

interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

const Provider = ProviderModule as unknown as ProviderConstructor;

async function freshSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
}

function basicAuth(client: { id: string; secret: string }): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
}

/**
 * Starts a provider on a free loopback port; ktrlplane's callback is `${baseUrl}/auth/oidc/callback`.
 * It signs with a fresh key unless given one.
 */
export async function startOidcProvider(options: {
  baseUrl: string;
  signingKey?: JWK;
}): Promise<TestOidcProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signingKey = options.signingKey ?? (await freshSigningKey());
  const requests: string[] = [];
  server.on('request', (req: IncomingMessage) => requests.push(new URL(req.url ?? '/', issuer).pathname));
  const accounts = new Map<string, TestAccount>();
  const accountOf = (id: string): TestAccount =>
    accounts.get(id) ?? { email: `${id}@example.test`, name: id, emailVerified: true };
  const audiences = new Set([API_AUDIENCE, OTHER_AUDIENCE]);

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: WEB_CLIENT.id,
        client_secret: WEB_CLIENT.secret,
        redirect_uris: [`${options.baseUrl.replace(/\/$/, '')}/auth/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: CLI_CLIENT.id,
        client_secret: CLI_CLIENT.secret,
        redirect_uris: [CLI_CLIENT.redirect],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: MACHINE_CLIENT.id,
        client_secret: MACHINE_CLIENT.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'email', 'profile', 'api'],
    async findAccount(_ctx: unknown, id: string) {
      return {
        accountId: id,
        async claims() {
          const account = accountOf(id);
          return {
            sub: id,
            email: account.email,
            email_verified: account.emailVerified ?? true,
            name: account.name,
          };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The CLI client asks for ktrlplane's API when it names no resource; the web client gets
        // an opaque token for userinfo, like a plain OIDC sign-in.
        defaultResource: (ctx: ProviderContext, _client: unknown, oneOf?: string) =>
          oneOf ?? (ctx.oidc.client.clientId === CLI_CLIENT.id ? API_AUDIENCE : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx: unknown, indicator: string) {
          if (!audiences.has(indicator)) throw new Error(`unknown resource ${indicator}`);
          return {
            scope: 'api',
            audience: indicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Auth0 marks client-credentials tokens with `gty`, and an Auth0 Action can put the user's
    // email and name into access tokens: the same claims here.
    async extraTokenClaims(_ctx: unknown, token: { kind: string; clientId: string; accountId?: string }) {
      if (token.kind === 'ClientCredentials') return { gty: 'client-credentials', azp: token.clientId };
      if (token.accountId) {
        const account = accountOf(token.accountId);
        return { email: account.email, name: account.name };
      }
      return undefined;
    },
    // First-party clients: grant what they ask for without a consent screen.
    async loadExistingGrant(ctx: ProviderContext) {
      const { Grant } = ctx.oidc.provider;
      const grantId =
        ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return Grant.find(grantId);
      const grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      for (const audience of audiences) grant.addResourceScope(audience, 'api');
      await grant.save();
      return grant;
    },
    pkce: { required: () => true },
    // Explicit lifetimes, which also keeps the provider from printing a notice for each default.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    // Keep the provider's refusals terse: they end up in test output.
    renderError(ctx: { type: string; body: string; status: number }, out: { error: string }) {
      ctx.type = 'text';
      ctx.body = `oidc-provider error: ${out.error}`;
    },
  });
  server.on('request', provider.callback());

  async function tokenRequest(client: { id: string; secret: string }, body: Record<string, string>) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { Authorization: basicAuth(client), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
    const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!res.ok || !json.access_token) {
      throw new Error(`token request failed: ${res.status} ${json.error} ${json.error_description}`);
    }
    return json.access_token;
  }

  async function authorizeInBrowser(
    authorizationUrl: string,
    accountId: string,
    opts: { abort?: boolean } = {},
  ) {
    const jar = new Map<string, string>();
    const remember = (res: Response) => {
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const index = pair.indexOf('=');
        const value = pair.slice(index + 1);
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, index));
        else jar.set(pair.slice(0, index), value);
      }
    };
    const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < 10; hop++) {
      if (url.origin !== issuer) return url;
      const interaction = /^\/interaction\/([^/]+)$/.exec(url.pathname);
      let res: Response;
      if (interaction) {
        const page = await fetch(url, { headers: { Cookie: cookieHeader() } });
        remember(page);
        const html = await page.text();
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
        if (opts.abort) {
          res = await fetch(`${url.href}/abort`, { headers: { Cookie: cookieHeader() }, redirect: 'manual' });
        } else {
          const form = new URLSearchParams({ prompt: prompt ?? 'login' });
          if (prompt === 'login') form.set('login', accountId);
          res = await fetch(url, {
            method: 'POST',
            headers: { Cookie: cookieHeader(), 'Content-Type': 'application/x-www-form-urlencoded' },
            body: form,
            redirect: 'manual',
          });
        }
      } else {
        res = await fetch(url, { headers: { Cookie: cookieHeader() }, redirect: 'manual' });
      }
      remember(res);
      const location = res.headers.get('Location');
      if (!location)
        throw new Error(`the provider stopped at ${url.pathname} with ${res.status}: ${await res.text()}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects at the provider');
  }

  return {
    issuer,
    signingKey,
    requests,
    accounts,
    clientCredentialsToken: (audience = API_AUDIENCE) =>
      tokenRequest(MACHINE_CLIENT, { grant_type: 'client_credentials', resource: audience, scope: 'api' }),
    async userAccessToken(accountId, audience = API_AUDIENCE) {
      const verifier = 'a-test-pkce-code-verifier-that-is-long-enough-0123456789';
      const challenge = Buffer.from(
        await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)),
      ).toString('base64url');
      const authorize = new URL(`${issuer}/auth`);
      for (const [name, value] of Object.entries({
        client_id: CLI_CLIENT.id,
        response_type: 'code',
        redirect_uri: CLI_CLIENT.redirect,
        scope: 'openid email profile api',
        resource: audience,
        state: 'cli-state',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        authorize.searchParams.set(name, value);
      const back = await authorizeInBrowser(authorize.href, accountId);
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`no code in ${back.search}`);
      return tokenRequest(CLI_CLIENT, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CLI_CLIENT.redirect,
        code_verifier: verifier,
        resource: audience,
      });
    },
    authorizeInBrowser,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
