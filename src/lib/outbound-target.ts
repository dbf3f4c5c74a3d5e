/**
 * Where ktrlplane may send requests on a tenant's behalf (alert webhooks, Alertmanager). A URL a
 * tenant types must not make the control plane reach its own network: loopback, private ranges,
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT and the like are refused unless
 * the installation allows them (OUTBOUND_PRIVATE_TARGETS=allow, for a local Alertmanager or tests).
 *
 * Checked twice: when the channel is saved (literal addresses and what the name resolves to then)
 * and before each delivery (the name may resolve elsewhere since). A name that resolves to a public
 * address at the check and a private one at the connection (DNS rebinding) is not caught; pinning
 * the connection to the checked address would need a custom dispatcher.
 */

export type OutboundPolicy = 'deny' | 'allow';

function ipv4ToNumber(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/** [network, prefix length] of IPv4 ranges that are not the public internet. */
const PRIVATE_V4: Array<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

function isPrivateV4(ip: string): boolean {
  const value = ipv4ToNumber(ip);
  if (value === null) return false;
  return PRIVATE_V4.some(([network, bits]) => {
    const base = ipv4ToNumber(network) as number;
    const size = 2 ** (32 - bits);
    return value >= base && value < base + size;
  });
}

function isPrivateV6(ip: string): boolean {
  const lower = ip.toLowerCase().replace(/^\[|\]$/g, '');
  if (lower === '::' || lower === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped?.[1]) return isPrivateV4(mapped[1]);
  const first = Number.parseInt(lower.split(':')[0] || '0', 16);
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

/** Whether an IP address (v4 or v6) is outside the public internet. */
export function isPrivateAddress(ip: string): boolean {
  return ip.includes(':') ? isPrivateV6(ip) : isPrivateV4(ip);
}

/** What the host name resolves to, where the runtime can say (Node; Workers cannot reach private networks anyway). */
async function resolveHost(host: string): Promise<string[]> {
  try {
    const dns = await import('node:dns/promises');
    return (await dns.lookup(host, { all: true })).map((entry) => entry.address);
  } catch {
    return [];
  }
}

/**
 * Why `url` may not be used as an outbound target under `policy`, or null when it may. A name
 * that does not resolve is left to the delivery to fail (and be retried).
 */
export async function outboundTargetRefusal(url: string, policy: OutboundPolicy): Promise<string | null> {
  if (policy === 'allow') return null;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return 'it is not a URL';
  }
  const bare = host.replace(/^\[|\]$/g, '');
  const literal = ipv4ToNumber(bare) !== null || bare.includes(':');
  const addresses = literal ? [bare] : bare === 'localhost' ? ['127.0.0.1'] : await resolveHost(bare);
  const blocked = addresses.find(isPrivateAddress);
  if (!blocked) return null;
  return `${host} is ${literal ? 'a' : `at ${blocked}, a`} private or local address, which this installation does not send to`;
}
