import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { type Stats, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BadInputError, type FieldProblem } from '../errors.js';

/*
 * TLS to an MQTT broker, shared by the node's replicator, its centre link and rebuild, and the
 * centre: the CA to verify the broker with, and the client certificate the broker knows this
 * client by (mutual TLS; on the store broker the certificate's common name is the MQTT identity).
 * The files are named in a configuration (a path, or credential:NAME) and read at connect time.
 */

/** The configuration keys, resolved to paths (configPath) by the configuration loader. */
export interface BrokerTlsFiles {
  /** PEM CA certificate(s) the broker's certificate must chain to; the system store without it. */
  readonly caFile?: string;
  /** PEM client certificate presented to the broker. */
  readonly certFile?: string;
  /** PEM private key of certFile, unencrypted (its file mode or a systemd credential protects it). */
  readonly keyFile?: string;
}

/** The mqtt.js (tls.connect) options these files give. */
export interface BrokerTlsOptions {
  readonly ca?: Buffer[];
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Always true on TLS: a broker that cannot prove its name is not the broker. */
  readonly rejectUnauthorized?: true;
}

const TLS_SCHEME = /^(mqtts|wss|ssl|tls):\/\//;

export function isTlsUrl(brokerUrl: string): boolean {
  return TLS_SCHEME.test(brokerUrl);
}

/**
 * What the keys' combination gets wrong, before any file is read: a certificate without its key
 * (or the reverse), or TLS files with a plain-text URL, where they would be ignored and the
 * password and card facts would cross the LAN in clear. `prefix` names the section ('replication.').
 */
export function brokerTlsProblems(brokerUrl: string, files: BrokerTlsFiles, prefix = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (files.certFile !== undefined && files.keyFile === undefined) {
    problems.push({ path: `${prefix}keyFile`, message: 'is needed with certFile: the PEM private key of that client certificate (a path or credential:<name>)' });
  }
  if (files.keyFile !== undefined && files.certFile === undefined) {
    problems.push({ path: `${prefix}certFile`, message: 'is needed with keyFile: the PEM client certificate that key belongs to (a path or credential:<name>)' });
  }
  const named = (['caFile', 'certFile', 'keyFile'] as const).filter((key) => files[key] !== undefined);
  if (named.length > 0 && !isTlsUrl(brokerUrl)) {
    problems.push({
      path: `${prefix}brokerUrl`,
      message: `must be an mqtts:// (or wss://) URL when ${named.join(', ')} ${named.length === 1 ? 'is' : 'are'} set: over a plain URL they would be ignored and credentials would cross in clear`,
      value: brokerUrl,
    });
  }
  return problems;
}

/**
 * Reads and checks the files and returns the options to connect with: each file readable and PEM,
 * the key the certificate's, the certificate within its validity, the key not readable by others.
 * Throws a BadInputError naming every bad key, its file and what is wrong. A plain URL gets `{}`.
 */
export function loadBrokerTls(brokerUrl: string, files: BrokerTlsFiles, prefix = '', now: Date = new Date(), env: NodeJS.ProcessEnv = process.env): BrokerTlsOptions {
  const problems = brokerTlsProblems(brokerUrl, files, prefix);
  if (problems.length > 0) throw new BadInputError('broker TLS settings', problems);
  if (!isTlsUrl(brokerUrl)) return {};
  const found: FieldProblem[] = [];
  const problem = (key: keyof BrokerTlsFiles, message: string): void => void found.push({ path: `${prefix}${key}`, message, value: files[key] });
  const ca = files.caFile === undefined ? undefined : readCertificates(files.caFile, (m) => problem('caFile', m));
  const cert = files.certFile === undefined ? undefined : readCertificates(files.certFile, (m) => problem('certFile', m));
  const key = files.keyFile === undefined ? undefined : readKey(files.keyFile, env, (m) => problem('keyFile', m));
  if (ca?.certs.some((c) => !c.ca)) problem('caFile', "holds a certificate that is not a CA (basicConstraints CA:TRUE); give the CA that signed the broker's certificate (ca.crt)");
  const leaf = cert?.certs[0];
  if (leaf !== undefined) {
    if (leaf.ca) problem('certFile', "is a CA certificate; give this client's own certificate (`edgepay certs issue`)");
    if (Date.parse(leaf.validTo) < now.getTime()) problem('certFile', `expired on ${new Date(leaf.validTo).toISOString()}; issue a new one (\`edgepay certs issue\`)`);
    if (Date.parse(leaf.validFrom) > now.getTime()) problem('certFile', `is not valid before ${new Date(leaf.validFrom).toISOString()} (is this box's clock right?)`);
    if (key !== undefined && !leaf.checkPrivateKey(key.object)) problem('keyFile', `is not the private key of certFile ${files.certFile} (${leaf.subject.replace(/\n/g, ', ')})`);
  }
  if (found.length > 0) throw new BadInputError('broker TLS files', found);
  return {
    ...(ca === undefined ? {} : { ca: [ca.pem] }),
    ...(cert === undefined ? {} : { cert: cert.pem }),
    ...(key === undefined ? {} : { key: key.pem }),
    rejectUnauthorized: true,
  };
}

function readFile(file: string, fail: (message: string) => void): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    fail(code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read: ${(cause as Error).message}`);
    return undefined;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function readCertificates(file: string, fail: (message: string) => void): { pem: Buffer; certs: X509Certificate[] } | undefined {
  const pem = readFile(file, fail);
  if (pem === undefined) return undefined;
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    fail(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  try {
    return { pem, certs: blocks.map((block) => new X509Certificate(block)) };
  } catch (cause) {
    fail(`${file} holds a PEM certificate that does not parse: ${(cause as Error).message}`);
    return undefined;
  }
}

/** Group and others may not read a key; a systemd credential shows its ACL mask as group read (see api-token.ts). */
const KEY_DISALLOWED = 0o077;
const CREDENTIAL_KEY_DISALLOWED = 0o037;

function readKey(file: string, env: NodeJS.ProcessEnv, fail: (message: string) => void): { pem: Buffer; object: KeyObject } | undefined {
  const pem = readFile(file, fail);
  if (pem === undefined) return undefined;
  const credential = isCredential(file, env);
  const stats: Stats = statSync(file);
  if ((stats.mode & (credential ? CREDENTIAL_KEY_DISALLOWED : KEY_DISALLOWED)) !== 0) {
    fail(`${file} has mode 0${(stats.mode & 0o777).toString(8)}: others could read this client's key and pass as it; chmod 600 ${file}`);
    return undefined;
  }
  const text = pem.toString('latin1');
  if (!/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(text)) {
    fail(/ENCRYPTED PRIVATE KEY/.test(text) ? `${file} is encrypted; give an unencrypted PEM key (its file mode or a systemd credential protects it)` : `${file} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
    return undefined;
  }
  try {
    return { pem, object: createPrivateKey(pem) };
  } catch (cause) {
    fail(`${file} holds a PEM key that does not parse: ${(cause as Error).message}`);
    return undefined;
  }
}

function isCredential(file: string, env: NodeJS.ProcessEnv): boolean {
  const directory = env.CREDENTIALS_DIRECTORY;
  return directory !== undefined && directory !== '' && dirname(file) === resolve(directory);
}
