import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';

/**
 * The caller's address, for throttling and audit. Forwarded headers are trusted only by setting,
 * because anyone can send them:
 * - TRUST_CLOUDFLARE=true: Cloudflare's CF-Connecting-IP (Cloudflare overwrites it at its edge).
 *   Only when the origin is reachable through Cloudflare alone. On Workers the runtime entry reads
 *   it as the peer address already (the request always comes from Cloudflare), so no setting is
 *   needed there.
 * - TRUST_PROXY=true: X-Forwarded-For, read from the right. Each proxy appends the address it
 *   received the request from, so the right-most TRUST_PROXY_HOPS entries were written by our own
 *   proxies and the one they name last is the client; everything to the left of it came from the
 *   client and is ignored. A header with fewer entries than hops did not pass all our proxies, and
 *   the socket's peer is used.
 * - otherwise, and whenever the header holds no address: the socket's peer, which the runtime
 *   entry supplies.
 */
export function clientIp(c: Context<AppEnv>): string | null {
  const deps = c.get('deps');
  if (deps.config.TRUST_CLOUDFLARE) {
    const address = addressOf(c.req.header('CF-Connecting-IP'));
    if (address) return address;
  }
  if (deps.config.TRUST_PROXY) {
    const address = forwardedClient(c.req.header('X-Forwarded-For'), deps.config.TRUST_PROXY_HOPS);
    if (address) return address;
  }
  return deps.remoteAddress?.(c) ?? null;
}

/**
 * The client X-Forwarded-For names behind `hops` proxies of ours. Several headers arrive joined
 * with commas, in order, which is the same list.
 */
export function forwardedClient(header: string | undefined, hops: number): string | null {
  if (!header) return null;
  const entries = header.split(',').map((entry) => entry.trim());
  if (entries.length < hops) return null;
  return addressOf(entries[entries.length - hops]);
}

/** An IPv4 or IPv6 address without port or brackets, or null for anything else. */
function addressOf(value: string | undefined): string | null {
  if (!value) return null;
  let address = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed?.[1]) address = bracketed[1];
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(address))
    address = address.slice(0, address.lastIndexOf(':'));
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return address;
  if (address.length <= 45 && address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address)) return address;
  return null;
}
