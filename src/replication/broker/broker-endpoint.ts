import { isIP } from 'node:net';
import type { IClientOptions } from 'mqtt';
import { ReplicationError } from '../../wire/errors.js';

/** One store broker a node may connect to: what mqtt.js needs to dial it. */
export interface BrokerEndpoint {
  readonly url: string;
  readonly protocol: 'mqtt' | 'mqtts';
  readonly host: string;
  readonly port: number;
}

const DEFAULT_PORT = { mqtt: 1883, mqtts: 8883 } as const;

/** An mqtt:// or mqtts:// URL as an endpoint; anything else is refused with the URL named. */
export function brokerEndpointOf(url: string): BrokerEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `broker URL ${JSON.stringify(url)} is not a URL`, { url });
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  if (protocol !== 'mqtt' && protocol !== 'mqtts') {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `broker URL ${JSON.stringify(url)} must be mqtt:// or mqtts:// to take part in failover`, { url, allowed: ['mqtt', 'mqtts'] });
  }
  // URL keeps the brackets of an IPv6 literal; sockets and TLS want the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? DEFAULT_PORT[protocol] : Number(parsed.port);
  return { url, protocol, host, port };
}

/**
 * Points the next connection attempt of an mqtt.js client at `endpoint`. mqtt.js reads host, port
 * and protocol from its options at every attempt, but fills `servername` (the name the broker's
 * certificate must carry) only once, from the first host it dialled: it is set here for every
 * broker, or cleared for an IP address, so each broker is checked against its own name.
 */
export function aimAt(options: IClientOptions, endpoint: BrokerEndpoint): void {
  options.protocol = endpoint.protocol;
  options.host = endpoint.host;
  options.hostname = endpoint.host;
  options.port = endpoint.port;
  if (endpoint.protocol === 'mqtts' && isIP(endpoint.host) === 0) options.servername = endpoint.host;
  else delete options.servername;
}
