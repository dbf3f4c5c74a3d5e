import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { accessLog, requestLogger } from './lib/access-log.ts';
import { apiUsageCounter } from './lib/api-usage-middleware.ts';
import type { AppDeps, AppEnv } from './lib/app-env.ts';
import { authentication, csrfProtection } from './lib/auth-middleware.ts';
import { bufferedRandomBytes } from './lib/crypto.ts';
import { handleError, handleNotFound } from './lib/error-handler.tsx';
import { payloadTooLarge } from './lib/errors.ts';
import { metricsExposed } from './lib/metrics.ts';
import { loadNavigation } from './lib/navigation.ts';
import { redirectGuard } from './lib/redirect-guard.ts';
import { streamSlotsFor } from './lib/stream-slots.ts';
import { requestTracing } from './lib/tracing.ts';
import { accessRoutes } from './routes/access.tsx';
import { accountRoutes } from './routes/account.tsx';
import { alertsRoutes } from './routes/alerts.tsx';
import { auditRoutes } from './routes/audit.tsx';
import { authRoutes } from './routes/auth.tsx';
import { billingRoutes } from './routes/billing.tsx';
import { deploymentRoutes } from './routes/deployments.tsx';
import { emailVerificationRoutes } from './routes/email-verification.tsx';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home.tsx';
import { ingestTokensRoutes } from './routes/ingest-tokens.tsx';
import { invitationsRoutes } from './routes/invitations.tsx';
import { logIngestRoutes } from './routes/log-ingest.ts';
import { logsRoutes } from './routes/logs.tsx';
import { metricsRoutes } from './routes/metrics.ts';
import { monitoringRoutes } from './routes/monitoring.tsx';
import { notificationsRoutes } from './routes/notifications.tsx';
import { oidcRoutes } from './routes/oidc.tsx';
import { organizationsRoutes } from './routes/organizations.tsx';
import { permissionsRoutes } from './routes/permissions.tsx';
import { projectsRoutes } from './routes/projects.tsx';
import { resourceEventsRoutes } from './routes/resource-events.tsx';
import { resourcePagesRoutes } from './routes/resource-pages.tsx';
import { resourceTypesRoutes } from './routes/resource-types.tsx';
import { resourcesRoutes } from './routes/resources.tsx';
import { stripeWebhookRoutes } from './routes/stripe-webhooks.ts';
import { tokensRoutes } from './routes/tokens.tsx';
import { usageEventsRoutes } from './routes/usage-events.ts';
import { ApiUsageRecorder } from './services/usage/api-calls.ts';

export interface AppOptions {
  /** Serves /static/* on Node; on Workers the platform's asset binding serves it before the app. */
  staticFiles?: MiddlewareHandler;
  /** More sub-apps behind the same pipeline (tests compose probe routes this way). */
  extraRoutes?: Hono<AppEnv>[];
}

/** Sub-apps that answer both at their own path and under /api/v1 (which always answers JSON). */
const sharedRoutes = [
  healthRoutes,
  organizationsRoutes,
  projectsRoutes,
  accessRoutes,
  auditRoutes,
  tokensRoutes,
  resourcesRoutes,
  deploymentRoutes,
  billingRoutes,
  resourceEventsRoutes,
  alertsRoutes,
  monitoringRoutes,
  notificationsRoutes,
  ingestTokensRoutes,
  logsRoutes,
];

/** JSON endpoints of the data-plane contract, only under /api/v1. */
const apiOnlyRoutes = [permissionsRoutes, resourceTypesRoutes, usageEventsRoutes];

/** Browser-facing sub-apps that have no /api/v1 twin (sign-in flows, the start page). */
const pageRoutes = [
  homeRoutes,
  authRoutes,
  oidcRoutes,
  accountRoutes,
  invitationsRoutes,
  emailVerificationRoutes,
];

/**
 * hono's NONCE (the page's scripts carry it; render-page.tsx reads it back), with its 128 random
 * bits from the buffered draw: every response sends the CSP, so this runs on every request.
 */
function scriptNonce(c: Context<AppEnv>): string {
  let nonce = c.get('secureHeadersNonce');
  if (!nonce) {
    nonce = btoa(String.fromCharCode(...bufferedRandomBytes(16)));
    c.set('secureHeadersNonce', nonce);
  }
  return `'nonce-${nonce}'`;
}

/** Where Stripe's hosted checkout and portal pages live (the local Stripe server serves its own). */
function stripePageOrigins(config: AppDeps['config']): string[] {
  if (!config.STRIPE_SECRET_KEY) return [];
  return config.STRIPE_API_BASE
    ? [new URL(config.STRIPE_API_BASE).origin]
    : ['https://checkout.stripe.com', 'https://billing.stripe.com'];
}

/**
 * The composition root. Middleware order is DESIGN.md §3: request id → secure headers → body
 * limit → (auth, CSRF, rate limit, tenant: later issues) → routes.
 */
export function createApp(deps: AppDeps, options: AppOptions = {}) {
  const app = new Hono<AppEnv>();

  app.use(
    requestId({
      headerName: 'X-Request-Id',
      generator: () => crypto.randomUUID(),
    }),
  );
  // A server span per request (caller's traceparent as parent); everything below runs inside it.
  if (!deps.config.OTEL_SDK_DISABLED) app.use(requestTracing());
  app.use(async (c, next) => {
    c.set('deps', deps);
    c.set('log', requestLogger(c, deps.logger));
    await next();
    // On the response's own headers: c.header() after the handler answered would rebuild the
    // response around a stream of its body (on Node a full Response and a second copy of the body).
    const headers = c.res.headers;
    if (!headers.has('Vary')) headers.set('Vary', 'Accept, HX-Request');
  });
  app.use(accessLog({ metrics: deps.runtime !== 'workers' && metricsExposed(deps.config) }));
  app.use(
    secureHeaders({
      strictTransportSecurity: 'max-age=31536000; includeSubDomains',
      xFrameOptions: 'DENY',
      referrerPolicy: 'strict-origin-when-cross-origin',
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", scriptNonce],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        // Subscribing and managing payment post a form that redirects to Stripe's hosted pages.
        formAction: ["'self'", ...stripePageOrigins(deps.config)],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    }),
  );
  if (options.staticFiles) app.use('/static/*', options.staticFiles);
  const limitBody = bodyLimit({
    maxSize: deps.config.BODY_LIMIT_BYTES,
    onError: () => {
      throw payloadTooLarge(deps.config.BODY_LIMIT_BYTES);
    },
  });
  // GET and HEAD requests have no body (the Fetch API refuses one), and asking for it would make
  // the Node adapter build a full Request for nothing.
  app.use(redirectGuard());
  app.use(function limitRequestBody(c, next) {
    return c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next);
  });

  // Before authentication: its bearer token is the metrics token, not an API credential.
  app.route('/', metricsRoutes);
  // Also before authentication: Stripe authenticates by signing the body, not with a credential.
  app.route('/', stripeWebhookRoutes);
  // Also before authentication: shippers authenticate with a project's ingest token, checked there.
  app.route('/', logIngestRoutes);
  // Counts /api/v1 calls (billing's api_calls, the API usage charts); it reads the principal and
  // scope after the route ran, so it wraps authentication too and times the whole call.
  deps.apiUsage ??= new ApiUsageRecorder();
  deps.streamSlots ??= streamSlotsFor(deps.config);
  const apiUsage = deps.apiUsage;
  app.use(
    '/api/v1/*',
    apiUsageCounter(() => apiUsage),
  );
  app.use(authentication());
  app.use(csrfProtection());
  app.use(loadNavigation());

  // Before the resource API: its /projects/:projectId/resources/:resourceId would take /new.
  app.route('/', resourcePagesRoutes);
  for (const routes of sharedRoutes) app.route('/', routes);
  for (const routes of pageRoutes) app.route('/', routes);
  for (const routes of options.extraRoutes ?? []) app.route('/', routes);

  const api = new Hono<AppEnv>();
  for (const routes of sharedRoutes) api.route('/', routes);
  for (const routes of apiOnlyRoutes) api.route('/', routes);
  app.route('/api/v1', api);

  app.notFound(handleNotFound);
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;
