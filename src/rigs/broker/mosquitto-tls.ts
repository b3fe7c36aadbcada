import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairFiles, writePair } from '../../certs/files.js';
import { type PemPair, createCa, issueCertificate } from '../../certs/x509.js';

/*
 * The shipped configuration's TLS listener, for a test broker: a store CA and a broker certificate
 * for 127.0.0.1/localhost made in the broker's directory with edgepay's own certs code, and the
 * shipped listener lines with this run's ports and files. Without TLS the TLS listener is dropped
 * and only the loopback listener runs, as the tests that predate TLS expect.
 */

export interface BrokerTlsMaterial {
  /** The store CA (certificate and key): tests issue client certificates with it. */
  readonly ca: PemPair;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The listener settings that belong to the TLS listener in brokers/mosquitto.conf. */
const TLS_LISTENER_KEYS = new Set(['cafile', 'certfile', 'keyfile', 'require_certificate', 'use_identity_as_username', 'use_username_as_clientid', 'tls_version']);

/** Makes the CA and the broker certificate once per directory; a restarted broker keeps them. */
export async function brokerTlsMaterial(dir: string): Promise<BrokerTlsMaterial> {
  const tlsDir = join(dir, 'tls');
  const ca = pairFiles(tlsDir, 'ca');
  const broker = pairFiles(tlsDir, 'broker');
  if (!existsSync(ca.certFile)) {
    mkdirSync(tlsDir, { recursive: true });
    const caPair = await createCa({ name: 'edgepay-test-store-ca', validDays: 2 });
    writePair(ca, caPair, tlsDir);
    writePair(broker, await issueCertificate({ ca: caPair, name: 'store-broker', kind: 'server', hosts: ['127.0.0.1', 'localhost'], validDays: 2 }), tlsDir);
  }
  return {
    ca: { certPem: readFileSync(ca.certFile, 'utf8'), keyPem: readFileSync(ca.keyFile, 'utf8') },
    caFile: ca.certFile,
    certFile: broker.certFile,
    keyFile: broker.keyFile,
  };
}

/**
 * The shipped lines with the first listener (plain, loopback) on `port` and the second (TLS) on
 * `tls.port` with this run's files, both bound to 127.0.0.1; without `tls` the TLS listener and its
 * settings are left out.
 */
export function withListeners(lines: readonly string[], port: number, tls?: { readonly port: number; readonly material: BrokerTlsMaterial }): string[] {
  let listeners = 0;
  let inTlsListener = false;
  const out: string[] = [];
  for (const line of lines) {
    const key = /^(\w+)\s/.exec(line)?.[1];
    if (key === 'listener') {
      listeners++;
      inTlsListener = listeners === 2;
      if (listeners === 1) out.push(`listener ${port} 127.0.0.1`);
      else if (listeners === 2 && tls !== undefined) out.push(`listener ${tls.port} 127.0.0.1`);
      else if (listeners > 2) throw new Error(`brokers/mosquitto.conf has ${listeners} listeners; the test broker knows two (loopback plain, LAN TLS)`);
      continue;
    }
    if (key !== undefined && TLS_LISTENER_KEYS.has(key)) {
      if (!inTlsListener) throw new Error(`brokers/mosquitto.conf: ${key} outside the TLS listener`);
      if (tls === undefined) continue;
      const files: Record<string, string> = { cafile: tls.material.caFile, certfile: tls.material.certFile, keyfile: tls.material.keyFile };
      out.push(files[key] === undefined ? line : `${key} ${files[key]}`);
      continue;
    }
    out.push(line);
  }
  return out;
}
