// @peculiar/x509 wires itself with tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { EdgepayError } from '../errors.js';
import { ID_RULE, isId } from '../ids.js';

/*
 * The store's small PKI: one CA per store (or fleet), a certificate per node, per centre process,
 * per bridge, and one for the broker. Made with @peculiar/x509 over Node's WebCrypto, not by
 * shelling out to openssl, which a fresh Debian box may lack. ECDSA P-256 with SHA-256: every
 * OpenSSL Mosquitto links against takes it, and keys are small and quick to make on a lane box.
 */

// The library's Crypto type is the DOM's; Node's webcrypto is that interface, typed under its own name.
const crypto = webcrypto as unknown as NonNullable<Parameters<typeof X509CertificateGenerator.create>[1]>;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Issued certificates start this far in the past, so a box whose clock lags a little still accepts them. */
const BACKDATE_MS = 5 * 60_000;

export interface PemPair {
  /** The certificate, PEM. */
  readonly certPem: string;
  /** Its private key, PKCS8 PEM, unencrypted: the file's mode (0600) or a systemd credential protects it. */
  readonly keyPem: string;
}

export interface CaParams {
  readonly name: string;
  readonly validDays: number;
  /** Where validity starts; now unless a test wants an old CA. */
  readonly notBefore?: Date;
}

export type CertKind = 'client' | 'server';

export interface IssueParams {
  readonly ca: PemPair;
  /** The common name: for a client, its MQTT identity (the broker takes it as the username). */
  readonly name: string;
  readonly kind: CertKind;
  /** Server only: the DNS names and IP addresses clients reach the broker by. */
  readonly hosts?: readonly string[];
  readonly validDays: number;
  readonly notBefore?: Date;
}

export async function createCa(params: CaParams): Promise<PemPair> {
  checkName(params.name, '--name');
  checkDays(params.validDays);
  const keys = await generateKeys();
  const { notBefore, notAfter } = validity(params.notBefore, params.validDays);
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: `CN=${params.name}`,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: SIGNING,
      extensions: [
        // pathLength 0: this CA signs end certificates only, never another CA.
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

export async function issueCertificate(params: IssueParams): Promise<PemPair> {
  checkName(params.name, '--name');
  checkDays(params.validDays);
  const hosts = params.hosts ?? [];
  if (params.kind === 'server' && hosts.length === 0) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', '--host: a broker certificate needs at least one DNS name or IP address the nodes connect to (e.g. --host store-broker.local --host 192.168.1.10)', {
      option: '--host',
    });
  }
  if (params.kind === 'client' && hosts.length > 0) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', '--host: only a broker (--server) certificate carries host names; a client is known by its --name', { option: '--host', value: hosts });
  }
  for (const host of hosts) checkHost(host);
  const caCert = parseCaCertificate(params.ca.certPem);
  const caKey = await importCaKey(params.ca.keyPem);
  const keys = await generateKeys();
  const { notBefore, notAfter } = validity(params.notBefore, params.validDays);
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new ExtendedKeyUsageExtension([params.kind === 'server' ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth], false),
    await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
  ];
  if (hosts.length > 0) extensions.push(new SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) === 0 ? 'dns' : 'ip', value: host }))));
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: `CN=${params.name}`,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING,
      extensions,
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

function parseCaCertificate(pem: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--ca: not a PEM certificate: ${(cause as Error).message}`, { option: '--ca' }, { cause });
  }
  // Node's parser says whether it is a CA; a leaf given by mistake would issue certificates no one trusts.
  if (!new NodeX509Certificate(pem).ca) throw new EdgepayError('EDGEPAY_BAD_INPUT', `--ca: ${cert.subject} is not a CA certificate (\`edgepay certs ca create\` makes one)`, { option: '--ca' });
  return cert;
}

async function importCaKey(pem: string): Promise<CryptoKey> {
  try {
    const der = PemConverter.decodeFirst(pem);
    return await webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--ca-key: not an unencrypted PKCS8 PEM ECDSA P-256 key as \`edgepay certs ca create\` writes: ${(cause as Error).message}`, { option: '--ca-key' }, { cause });
  }
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function exportKey(key: CryptoKey): Promise<string> {
  return PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** 16 random bytes, first bit clear: a positive serial (RFC 5280 4.1.2.2) that never repeats in practice. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(start: Date | undefined, days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = start ?? new Date(Date.now() - BACKDATE_MS);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

function checkName(name: string, option: string): void {
  if (!isId(name)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `${option}: ${JSON.stringify(name)} is not usable as a certificate name; use ${ID_RULE} (a node id, a broker user or a host name)`, {
      option,
      value: name,
    });
  }
}

/** Up to 100 years; certificates that outlive their keys' custody are the operator's choice, not a default. */
export const MAX_VALID_DAYS = 36_500;

function checkDays(days: number): void {
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_VALID_DAYS) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--days: must be a whole number from 1 to ${MAX_VALID_DAYS}, got ${days}`, { option: '--days', value: days });
  }
}

function checkHost(host: string): void {
  if (isIP(host) !== 0) return;
  if (!/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--host: ${JSON.stringify(host)} is neither an IP address nor a DNS name (letters, digits and '-' between dots)`, { option: '--host', value: host });
  }
}
