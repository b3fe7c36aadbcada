import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCa } from '../src/certs/x509.js';
import { provisionNodeKeys } from '../src/replication/provision.js';
import { runCli } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { clientCertIn } from './support/tls-clients.js';
import { useTempDir } from './support/tmp.js';

/* `edgepay node check-config` on the broker TLS keys: every bad combination or file named, with its value. */

const tempDir = useTempDir('edgepay-tls-config-');

const MQTTS = 'mqtts://store-broker.local:8883';

async function checkWith(tls: Record<string, string>, brokerUrl = MQTTS) {
  const dir = tempDir();
  const ca = await createCa({ name: 'store-ca', validDays: 1 });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  await clientCertIn(dir, ca, 'box-1');
  await clientCertIn(dir, ca, 'box-2');
  writeFileSync(join(dir, 'not-pem.crt'), 'hello\n');
  const keys = provisionNodeKeys(join(dir, 'keys'), ['box-1']);
  const config = await nodeConfigIn(dir, { nodeId: 'box-1' });
  const file = join(dir, 'node.json');
  writeFileSync(file, JSON.stringify({ ...config, replication: { fleet: 'f', store: 's', brokerUrl, signingKeyFile: keys[0]!.signingKeyFile, ...tls } }));
  return { ...runCli(['node', 'check-config', file]), dir };
}

describe('node check-config: broker TLS keys', () => {
  it('accepts a CA, a certificate and its key on mqtts://', async () => {
    const result = await checkWith({ caFile: 'ca.crt', certFile: 'box-1.crt', keyFile: 'box-1.key' });
    expect(result.stderr).not.toContain('EDGEPAY_');
    expect(result.stdout).toContain('ok: node box-1');
    expect(result.status).toBe(0);
  });

  it.each([
    [{ certFile: 'box-1.crt' }, MQTTS, 'replication.keyFile: is needed with certFile'],
    [{ keyFile: 'box-1.key' }, MQTTS, 'replication.certFile: is needed with keyFile'],
    [{ caFile: 'ca.crt' }, 'mqtt://store-broker.local:1883', 'replication.brokerUrl: must be an mqtts:// (or wss://) URL when caFile is set'],
    [{ caFile: 'missing-ca.crt' }, MQTTS, 'replication.caFile: DIR/missing-ca.crt does not exist'],
    [{ caFile: 'not-pem.crt' }, MQTTS, 'replication.caFile: DIR/not-pem.crt holds no PEM certificate'],
    [{ caFile: 'box-1.crt' }, MQTTS, 'replication.caFile: holds a certificate that is not a CA'],
    [{ certFile: 'box-1.crt', keyFile: 'box-2.key' }, MQTTS, 'replication.keyFile: is not the private key of certFile'],
  ])('refuses %j on %s with exit 2: %s', async (tls, url, message) => {
    const result = await checkWith(tls, url);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message.replace('DIR', result.dir));
  });
});
