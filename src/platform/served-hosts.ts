import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/*
 * A local HTTP server answers only requests addressed to it. A web page the box's browser opens
 * can make that browser send requests to 127.0.0.1 under a name the page's owner controls (DNS
 * rebinding); the one thing such a request cannot choose is its Host header, which carries the
 * page's name. So a request is served only when its Host names this server: one of the addresses
 * it listens on, localhost for a loopback address, or the machine's own host name for an address
 * on the network, with its port.
 */

const LOOPBACK_V4 = '127.0.0.1';
const LOOPBACK_V6 = '::1';

/** Every Host value (lower case) that names a TCP server listening at `address`. */
export function servedHosts(address: AddressInfo): ReadonlySet<string> {
  const addresses = isWildcard(address.address) ? interfaceAddresses(address.family) : [address.address];
  const names = new Set<string>();
  const add = (name: string) => {
    names.add(`${name}:${address.port}`);
    // A browser leaves out the port it takes by default.
    if (address.port === 80) names.add(name);
  };
  for (const ip of addresses) add(ip.includes(':') ? `[${ip.toLowerCase()}]` : ip);
  if (addresses.some((ip) => ip === LOOPBACK_V4 || ip === LOOPBACK_V6)) add('localhost');
  // Reached from the store's network, the box may also be named by its own host name (a scraper's target).
  if (addresses.some((ip) => ip !== LOOPBACK_V4 && ip !== LOOPBACK_V6)) add(hostname().toLowerCase());
  return names;
}

/** Whether a request's Host header names this server; a request without one is refused too. */
export function isServedHost(host: string | undefined, served: ReadonlySet<string>): boolean {
  return host !== undefined && served.has(host.trim().toLowerCase());
}

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/** The machine's own addresses, for a server bound to all of them (an IPv6 wildcard takes IPv4 too). */
function interfaceAddresses(family: string): string[] {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return all.filter((entry) => family === 'IPv6' || entry.family === 'IPv4').map((entry) => entry.address);
}
