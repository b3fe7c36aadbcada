import { BadInputError } from '../errors.js';
import { type BrokerTlsFiles, loadBrokerTls } from '../platform/broker-tls.js';
import type { Findings } from './findings.js';
import { type PathBase, resolveFor, valueAt } from './raw-keys.js';

const TLS_KEYS = ['caFile', 'certFile', 'keyFile'] as const;

/**
 * The broker's TLS files (`section` is '' for the centre, 'replication' for a node), read and
 * checked together as the connection will use them (broker-tls.ts): PEM, the key the certificate's,
 * within validity, the CA a CA, the key not readable by others.
 */
export function checkBrokerTlsFiles(findings: Findings, data: unknown, section: string, base: PathBase): void {
  const prefix = section === '' ? '' : `${section}.`;
  const brokerUrl = valueAt(data, `${prefix}brokerUrl`);
  if (typeof brokerUrl !== 'string' || ['brokerUrl', ...TLS_KEYS].some((key) => findings.hasProblemAt(`${prefix}${key}`))) return;
  const files: { -readonly [K in keyof BrokerTlsFiles]: string } = {};
  for (const key of TLS_KEYS) {
    const value = valueAt(data, `${prefix}${key}`);
    if (typeof value !== 'string') continue;
    const resolved = resolveFor(value, base, findings.at(`${prefix}${key}`, value));
    if (resolved === undefined) return;
    files[key] = resolved;
  }
  try {
    loadBrokerTls(brokerUrl, files, prefix, new Date(), base.env);
  } catch (cause) {
    if (!(cause instanceof BadInputError)) throw cause;
    findings.addProblems(cause.problems);
  }
}
