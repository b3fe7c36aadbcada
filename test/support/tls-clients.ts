import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import { type PairFiles, pairFiles, writePair } from '../../src/certs/files.js';
import { type PemPair, issueCertificate } from '../../src/certs/x509.js';

/** Issues a client certificate from `ca` and writes <name>.crt / <name>.key (0600) into `dir`. */
export async function clientCertIn(dir: string, ca: PemPair, name: string, validity: { validDays?: number; notBefore?: Date } = {}): Promise<PairFiles & PemPair> {
  const pair = await issueCertificate({ ca, name, kind: 'client', validDays: validity.validDays ?? 1, ...(validity.notBefore === undefined ? {} : { notBefore: validity.notBefore }) });
  const files = pairFiles(dir, name);
  writePair(files, pair, dir);
  return { ...files, ...pair };
}

export function tlsOptions(caPem: string, client?: PemPair): IClientOptions {
  return { ca: [Buffer.from(caPem)], ...(client === undefined ? {} : { cert: Buffer.from(client.certPem), key: Buffer.from(client.keyPem) }), rejectUnauthorized: true };
}

export type Attempt = { readonly connected: true; readonly client: MqttClient } | { readonly connected: false; readonly error: string };

/** One connection attempt, no retries: connected (CONNACK accepted), or why not. */
export function tryConnect(url: string, options: IClientOptions, timeoutMs = 4_000): Promise<Attempt> {
  const client = connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: timeoutMs, ...options });
  return new Promise<Attempt>((resolve) => {
    const fail = (why: string): void => {
      client.end(true);
      resolve({ connected: false, error: why });
    };
    const timer = setTimeout(() => fail(`no CONNACK within ${timeoutMs} ms`), timeoutMs + 500);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve({ connected: true, client });
    });
    client.once('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    client.once('close', () => {
      clearTimeout(timer);
      fail('connection closed before CONNACK');
    });
  });
}
