import { lookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * SSRF defence for webhook endpoints (issue 12.3). Outside development and test, an endpoint may
 * reach only public unicast addresses: every address its host resolves to is checked (one private
 * answer among public ones refuses the whole host, or a rebinding DNS could pick it), and the
 * connection is then made to an address that was checked, not to a second lookup's answer.
 */
export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

/** The address's range as ipaddr.js names it; an IPv4-mapped IPv6 address is judged as its IPv4 address. */
function rangeOf(address: string): string {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range();
}

export function isPublicAddress(address: string): boolean {
  return ipaddr.isValid(address) && rangeOf(address) === 'unicast';
}

/** Hostname of a URL as a resolver takes it: IPv6 literals lose their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves the host and checks every address. Returns the addresses to connect to; refuses when
 * one of them is loopback, private, link-local or otherwise not public, unless private targets are
 * allowed (development, test).
 */
export async function checkedAddresses(url: URL, allowPrivate: boolean): Promise<LookupAddress[]> {
  const host = hostOf(url);
  let addresses: LookupAddress[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new TargetRefused(`The host ${host} could not be resolved.`);
    }
  }
  if (addresses.length === 0) throw new TargetRefused(`The host ${host} has no address.`);
  if (!allowPrivate) {
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad)
      throw new TargetRefused(
        `The host ${host} resolves to ${bad.address}, a ${rangeOf(bad.address)} address: webhooks go to public addresses only.`,
      );
  }
  return addresses;
}

/** A dns.lookup stand-in for http.request that answers with the checked addresses only. */
export function pinnedLookup(addresses: LookupAddress[]) {
  return (
    _hostname: string,
    options: { all?: boolean } | number | undefined,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (typeof options === 'object' && options?.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}
