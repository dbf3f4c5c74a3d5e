import ipaddr from 'ipaddr.js';

/**
 * Where ktrlplane may send requests on a tenant's behalf (alert webhooks, Alertmanager). A URL a
 * tenant types must not make the control plane reach its own network: loopback, private ranges,
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, reserved and multicast ranges
 * are refused unless the installation allows them (OUTBOUND_PRIVATE_TARGETS=allow, for a local
 * Alertmanager or tests).
 *
 * Addresses are classified by ipaddr.js, not by string patterns: the URL parser rewrites
 * `[::ffff:127.0.0.1]` to `::ffff:7f00:1`, and the same IPv4 address hides in IPv4-compatible
 * (`::127.0.0.1`), SIIT (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`)
 * forms, so each is unwrapped and its IPv4 address judged. Only what ipaddr.js calls `unicast` (the
 * public internet) passes.
 *
 * Checked when the channel is saved and before each delivery. A name must resolve, and every address
 * it resolves to must be public; the delivery then connects to exactly those addresses
 * (outbound-request.ts), so a name cannot answer public at the check and private at the connection.
 */

export type OutboundPolicy = 'deny' | 'allow';

/** Resolves a host name to its addresses (all families); throws when it does not resolve. */
export type HostResolver = (host: string) => Promise<string[]>;

export type OutboundCheck =
  | { ok: true; host: string; addresses: string[] | null }
  | { ok: false; reason: string };

function isPublicV4(address: ipaddr.IPv4): boolean {
  return address.range() === 'unicast';
}

/** The IPv4 address carried in the low 32 bits of an IPv6 address. */
function low32(address: ipaddr.IPv6): ipaddr.IPv4 {
  const bytes = address.toByteArray();
  return new ipaddr.IPv4(bytes.slice(12, 16));
}

function isPublicV6(address: ipaddr.IPv6): boolean {
  const parts = address.parts;
  // ::/96 minus :: and ::1 is the deprecated IPv4-compatible form; ipaddr.js calls it unicast.
  if (parts.slice(0, 6).every((part) => part === 0)) {
    const embedded = low32(address);
    return embedded.toString() !== '0.0.0.0' && embedded.toString() !== '0.0.0.1' && isPublicV4(embedded);
  }
  switch (address.range()) {
    case 'ipv4Mapped':
      return isPublicV4(address.toIPv4Address());
    case 'rfc6145':
      return isPublicV4(low32(address));
    case 'rfc6052':
      // 64:ff9b::/96 translates to the embedded IPv4 address; 64:ff9b:1::/48 is for local use.
      return (
        parts[2] === 0 && parts[3] === 0 && parts[4] === 0 && parts[5] === 0 && isPublicV4(low32(address))
      );
    case '6to4':
      return isPublicV4(new ipaddr.IPv4(address.toByteArray().slice(2, 6)));
    case 'unicast':
      return true;
    default:
      // Loopback, unique and link-local, multicast, Teredo, documentation and the other special ranges.
      return false;
  }
}

/** Whether an IP address (v4 or v6, with or without brackets) is outside the public internet. */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return true;
  const address = ipaddr.parse(bare);
  return address.kind() === 'ipv4'
    ? !isPublicV4(address as ipaddr.IPv4)
    : !isPublicV6(address as ipaddr.IPv6);
}

/** The system resolver (getaddrinfo, as a connection would use it). */
export const systemResolver: HostResolver = async (host) => {
  const dns = await import('node:dns/promises');
  return (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
};

/**
 * Whether `url` may be called under `policy`, and the addresses a connection must then use (null:
 * no pinning, the policy allows anything). `resolve` null means the runtime cannot resolve names
 * (Workers: see README "Security"), and only the name itself is judged.
 */
export async function checkOutboundTarget(
  url: string,
  policy: OutboundPolicy,
  resolve: HostResolver | null = systemResolver,
): Promise<OutboundCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'it is not a URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { ok: false, reason: 'only http and https addresses can be called' };
  const host = parsed.hostname;
  if (policy === 'allow') return { ok: true, host, addresses: null };
  const bare = host.replace(/^\[|\]$/g, '');
  const refused = (what: string) => ({
    ok: false as const,
    reason: `${host} is ${what}a private or local address, which this installation does not send to`,
  });
  if (ipaddr.isValid(bare))
    return isPrivateAddress(bare) ? refused('') : { ok: true, host, addresses: [bare] };
  // A trailing dot is the same name (`localhost.`); *.localhost is loopback by RFC 6761.
  const name = bare.replace(/\.$/, '').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return refused('at 127.0.0.1, ');
  if (!resolve) return { ok: true, host, addresses: null };
  let addresses: string[];
  try {
    addresses = await resolve(name);
  } catch {
    addresses = [];
  }
  // A name that does not resolve now could resolve anywhere later: refused, not left to the delivery.
  if (addresses.length === 0)
    return {
      ok: false,
      reason: `${host} does not resolve, so it cannot be checked; enter a name that resolves`,
    };
  const blocked = addresses.find(isPrivateAddress);
  if (blocked) return refused(`at ${blocked}, `);
  return { ok: true, host, addresses };
}

/** Why `url` may not be used as an outbound target under `policy`, or null when it may. */
export async function outboundTargetRefusal(
  url: string,
  policy: OutboundPolicy,
  resolve: HostResolver | null = systemResolver,
): Promise<string | null> {
  const check = await checkOutboundTarget(url, policy, resolve);
  return check.ok ? null : check.reason;
}
