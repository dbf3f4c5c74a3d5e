import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';

/**
 * The caller's address. Behind a proxy we trust (TRUST_PROXY=true) it is the first
 * X-Forwarded-For hop (or Cloudflare's CF-Connecting-IP); otherwise the socket's peer, which the
 * runtime entry supplies. Never trust forwarded headers by default: anyone can send them.
 */
export function clientIp(c: Context<AppEnv>): string | null {
  const deps = c.get('deps');
  if (deps.config.TRUST_PROXY) {
    const forwarded =
      c.req.header('CF-Connecting-IP') ?? c.req.header('X-Forwarded-For')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return deps.remoteAddress?.(c) ?? null;
}
