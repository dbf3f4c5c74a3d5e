import type { LookupFunction } from 'node:net';
import { type HostResolver, systemResolver } from './outbound-target.ts';

/**
 * One POST to a tenant-given URL, connected to the addresses outbound-target.ts checked. On Node
 * the request goes through node:http(s) with a `lookup` that answers the checked addresses instead
 * of asking DNS again, so a name cannot resolve public at the check and private at the connection
 * (DNS rebinding); TLS still verifies the certificate against the name. Redirects are not followed.
 *
 * On Cloudflare Workers there is no hook into name resolution (fetch() resolves inside Cloudflare's
 * network, which does not route into the installation's own), so the request is a plain fetch and
 * only literal addresses and local names are refused there (README "Security").
 */

export interface OutboundAnswer {
  status: number;
}

export interface OutboundPost {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** What the host was checked to resolve to; null connects wherever the name resolves (policy allow). */
  addresses: string[] | null;
}

export class OutboundTimeoutError extends Error {
  override name = 'TimeoutError';
}

export function onWorkers(): boolean {
  return (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';
}

/** The resolver the target check uses in this runtime (none on Workers, see above). */
export function runtimeResolver(): HostResolver | null {
  return onWorkers() ? null : systemResolver;
}

/** A net `lookup` that answers only `addresses` (both call forms: one address, or `all`). */
export function pinnedLookup(addresses: string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const first = entries[0];
    if (!first) {
      callback(Object.assign(new Error('no checked address to connect to'), { code: 'ENOTFOUND' }));
      return;
    }
    if (options?.all) callback(null, entries);
    else callback(null, first.address, first.family);
  }) as LookupFunction;
}

export async function postOutbound(url: string, post: OutboundPost): Promise<OutboundAnswer> {
  if (onWorkers()) {
    const response = await fetch(url, {
      method: 'POST',
      headers: post.headers,
      body: post.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(post.timeoutMs),
    });
    await response.body?.cancel();
    return { status: response.status };
  }
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<OutboundAnswer>((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...post.headers, 'Content-Length': Buffer.byteLength(post.body).toString() },
        ...(post.addresses ? { lookup: pinnedLookup(post.addresses) } : {}),
        // No keep-alive pool: a pooled socket would skip the lookup for the next request.
        agent: false,
      },
      (response) => {
        clearTimeout(timer);
        // The body is never read into ktrlplane (it would be a window into whatever answered).
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      },
    );
    const timer = setTimeout(
      () => request.destroy(new OutboundTimeoutError(`no answer within ${post.timeoutMs} ms`)),
      post.timeoutMs,
    );
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(post.body);
  });
}
