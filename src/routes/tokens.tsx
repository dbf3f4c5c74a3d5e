import { type Context, Hono } from 'hono';
import { listOrganizationsForUser } from '../db/organizations.repository.ts';
import { listProjectsForUser } from '../db/projects.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireOwnSignIn, requireUser } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { fieldErrors, invalidForm, redirectAfterWrite, textFieldsOf, validate } from '../lib/forms.tsx';
import { readBody } from '../lib/input.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { createTokenInput } from '../schemas/tokens.ts';
import { createApiToken, describeCallerToken, listTokensOf, revokeTokenOf } from '../services/api-tokens.ts';
import {
  type TokenFormValues,
  TokenRow,
  type TokenScopeChoices,
  TokenSelfPage,
  TokensPage,
  type TokensView,
} from '../views/pages/tokens-page.tsx';

/**
 * Personal API tokens: list, create (the secret is shown once), revoke, and /tokens/self for a
 * bearer token to learn what it is. Mounted at / and under /api/v1. Listing, creating and revoking
 * take the user's own sign-in (session or OIDC), never an API token (403): a leaked token must not
 * be able to mint successors that outlive its revocation (services/token-limits.ts). The one
 * exception: a read-write token may revoke itself.
 *
 * Tenancy: a token belongs to the user who made it, so these routes have no tenant id to check
 * with requireAccess. Every query goes through services/api-tokens.ts, which scopes it by the
 * caller's user id (the repository takes the user id second); another user's token is a 404.
 */
export const tokensRoutes = new Hono<AppEnv>();

const TITLE = 'API tokens';

/** Organizations and projects offered as a token's scope. */
async function scopeChoices(c: Context<AppEnv>): Promise<TokenScopeChoices> {
  const { db, clock } = c.get('deps');
  const principal = currentPrincipal(c);
  const now = clock.now();
  const [organizations, projects] = await Promise.all([
    listOrganizationsForUser(db, principal, now),
    listProjectsForUser(db, principal, now),
  ]);
  return { organizations, projects };
}

async function tokensView(c: Context<AppEnv>, extra: Partial<TokensView> = {}): Promise<TokensView> {
  const { db, clock } = c.get('deps');
  const tokens = await listTokensOf(db, currentPrincipal(c), clock.now());
  return { tokens, scopes: await scopeChoices(c), ...extra };
}

tokensRoutes.get('/tokens', requireOwnSignIn(TITLE), async (c) => {
  const { db, clock } = c.get('deps');
  if (representationFor(c) === 'json') {
    return c.json({ tokens: await listTokensOf(db, currentPrincipal(c), clock.now()) });
  }
  return respond(c, await tokensView(c), TokensPage, { title: TITLE });
});

tokensRoutes.post('/tokens', requireOwnSignIn(TITLE), async (c) => {
  const { db, clock } = c.get('deps');
  const principal = currentPrincipal(c);
  const body = await readBody(c);
  const values: TokenFormValues = textFieldsOf(body, ['name', 'access', 'scope', 'expires_in_days']);
  const parsed = validate(createTokenInput, body);
  if (!parsed.ok) {
    if (representationFor(c) === 'json') return invalidForm(c, parsed.errors, null, TITLE);
    const view = await tokensView(c, { form: { values, errors: fieldErrors(parsed.errors) } });
    return invalidForm(c, parsed.errors, TokensPage(view), TITLE);
  }
  let created: Awaited<ReturnType<typeof createApiToken>>;
  try {
    created = await createApiToken(db, principal, parsed.data, c.get('auditActor'), clock.now());
  } catch (error) {
    if (!(error instanceof AppError) || error.status >= 500 || representationFor(c) === 'json') throw error;
    // A failure the user can fix on the form: a bad field (422) beside it, anything else as an alert.
    const form =
      error.errors.length > 0
        ? { values, errors: fieldErrors(error.errors) }
        : { values, alert: error.detail };
    return respond(c, await tokensView(c, { form }), TokensPage, { title: TITLE, status: error.status });
  }
  // The one answer that carries the secret: no cache may keep it.
  c.header('Cache-Control', 'no-store');
  if (representationFor(c) === 'json') return c.json(created, 201);
  return respond(c, await tokensView(c, { created }), TokensPage, { title: TITLE, status: 201 });
});

tokensRoutes.get('/tokens/self', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const self = await describeCallerToken(db, currentPrincipal(c), clock.now());
  if (representationFor(c) === 'json') return c.json(self);
  return respond(c, self, TokenSelfPage, { title: `Token ${self.name}` });
});

// A tenant-less id: the token is the caller's own, so there is no requireAccess here. revokeTokenOf
// scopes every query by the caller's user id, and answers 404 for anyone else's token.
tokensRoutes.delete('/tokens/:tokenId', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const token = await revokeTokenOf(
    db,
    currentPrincipal(c),
    c.req.param('tokenId'),
    c.get('auditActor'),
    clock.now(),
  );
  switch (representationFor(c)) {
    case 'json':
      return c.json(token);
    case 'fragment':
      return c.html(<TokenRow token={token} />);
    case 'page':
      return redirectAfterWrite(c, '/tokens');
  }
});
