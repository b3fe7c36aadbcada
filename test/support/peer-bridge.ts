import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shipped peer bridge, as an operator appends it to the standby broker's configuration. */
export const PEER_BRIDGE_EXAMPLE = fileURLToPath(new URL('../../brokers/peer-bridge.conf.example', import.meta.url));

/** The fleet and store the shipped file is written for; an operator replaces them with the store's. */
const SHIPPED_SCOPE = 'acme/store-0042';

/** A setting of the shipped peer bridge, as written there (undefined when it has none). */
export function peerBridgeSetting(key: string): string | undefined {
  return new RegExp(`^${key}\\s+(.+)$`, 'm').exec(readFileSync(PEER_BRIDGE_EXAMPLE, 'utf8'))?.[1];
}

/**
 * brokers/peer-bridge.conf.example with only what an operator replaces: the primary's address, the
 * three TLS files, and the fleet and store in the topic lines. Every other line is the shipped
 * one, so a test runs what ships; a setting to replace that the file no longer has is an error
 * rather than a bridge quietly left with the example's values.
 */
export function peerBridgeConf(values: { address: string; cafile: string; certfile: string; keyfile: string; fleet: string; store: string }): string {
  const replaced: Record<string, string> = { address: values.address, bridge_cafile: values.cafile, bridge_certfile: values.certfile, bridge_keyfile: values.keyfile };
  const text = readFileSync(PEER_BRIDGE_EXAMPLE, 'utf8');
  const missing = Object.keys(replaced).filter((key) => !new RegExp(`^${key}\\s`, 'm').test(text));
  if (missing.length > 0) throw new Error(`${PEER_BRIDGE_EXAMPLE} has no ${missing.join(', ')} line to replace`);
  if (!text.includes(SHIPPED_SCOPE)) throw new Error(`${PEER_BRIDGE_EXAMPLE} names no ${SHIPPED_SCOPE} topics to replace`);
  return text
    .split('\n')
    .map((line) => {
      const key = /^(\w+)\s/.exec(line)?.[1];
      const value = key === undefined ? undefined : replaced[key];
      return (value === undefined ? line : `${key} ${value}`).replaceAll(SHIPPED_SCOPE, `${values.fleet}/${values.store}`);
    })
    .join('\n');
}
