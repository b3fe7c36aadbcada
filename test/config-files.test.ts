import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCentreConfig } from '../src/central/centre-config.js';
import { parseNodeConfig } from '../src/config/node-config.js';
import { readConfigFile } from '../src/platform/config-file.js';
import { runCli } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-config-files-');
const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

describe('configuration files', () => {
  it('the shipped commented YAML examples are valid node and centre configurations', () => {
    const env = { CREDENTIALS_DIRECTORY: '/run/credentials/edgepay' };
    const previous = process.env.CREDENTIALS_DIRECTORY;
    process.env.CREDENTIALS_DIRECTORY = env.CREDENTIALS_DIRECTORY;
    try {
      const node = parseNodeConfig(readConfigFile(join(EXAMPLES, 'node.yaml'), 'node configuration'), EXAMPLES);
      expect(node).toMatchObject({
        nodeId: 'store-001-box-1',
        keys: { tokenKeyFile: '/run/credentials/edgepay/token.key' },
        lanes: [{ id: 'lane-1' }],
        centre: { signingPublicKeyFile: join(EXAMPLES, 'centre-signing.pub') },
        replication: { brokerUrl: 'mqtts://store-broker.local:8883', caFile: join(EXAMPLES, 'store-ca.crt'), keyFile: '/run/credentials/edgepay/broker.key' },
      });
      const centre = parseCentreConfig(readConfigFile(join(EXAMPLES, 'centre.yaml'), 'centre configuration'), EXAMPLES);
      expect(centre).toMatchObject({
        fleet: 'fleet-1',
        shareGroup: 'centre',
        signingKeyFile: '/run/credentials/edgepay/centre-signing.key',
        ledger: { postgresUrlFile: '/run/credentials/edgepay/ledger-url' },
        caFile: join(EXAMPLES, 'fleet-ca.crt'),
        keyFile: '/run/credentials/edgepay/broker.key',
      });
    } finally {
      if (previous === undefined) delete process.env.CREDENTIALS_DIRECTORY;
      else process.env.CREDENTIALS_DIRECTORY = previous;
    }
  });

  it('edgepay config check: ok for a YAML node file; every bad key named with its path and value; a duplicate key refused', async () => {
    const dir = tempDir();
    await nodeConfigIn(dir);
    const good = join(dir, 'node.yaml');
    writeFileSync(good, '# a box\nnodeId: box-9  # comment\ndataDir: data\nkeys:\n  tokenKeyFile: token.key\n  centrePublicKeyFile: centre.pub\n  plainTokenKeyFileForDevelopment: true\n');
    const ok = runCli(['config', 'check', good]);
    // The plain token key file is for development only, and said so.
    expect(ok.stderr).toMatch(/^WARNING: keys\.plainTokenKeyFileForDevelopment is set/);
    expect(ok.stdout).toMatch(/^ok: node box-9/);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'nodeId: box-9\ndataDir: data\nkeys:\n  tokenKeyFile: token.key\n  centrePublicKeyFile: centre.pub\n  plainTokenKeyFileForDevelopment: true\njournal:\n  maxBatch: 0\nlanes: nope\ncolour: blue\n');
    const refused = runCli(['config', 'check', bad]);
    expect(refused.status).toBe(2);
    for (const path of ['journal.maxBatch', 'lanes', 'colour']) expect(refused.stderr).toContain(path);

    const twice = join(dir, 'twice.yaml');
    writeFileSync(twice, 'nodeId: a\nnodeId: b\n');
    const duplicate = runCli(['config', 'check', twice]);
    expect(duplicate.status).toBe(2);
    expect(duplicate.stderr).toMatch(/not valid YAML at line 2/);
  });

  it('a centre file is recognised as one, its answer key loaded and its ledger looked at (never opened); anything else is refused with why', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'centre'));
    const created = runCli(['centre', 'keys', 'create', '--out', join(dir, 'keys')]);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    expect(statSync(join(dir, 'keys', 'centre-signing.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'keys', 'centre-signing.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    // A second run would strand every node pinning the first key: refused, the files untouched.
    const key = readFileSync(join(dir, 'keys', 'centre-signing.key'), 'utf8');
    const again = runCli(['centre', 'keys', 'create', '--out', join(dir, 'keys')]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/EDGEPAY_BAD_INPUT.*centre-signing\.key.*already exist/);
    expect(readFileSync(join(dir, 'keys', 'centre-signing.key'), 'utf8')).toBe(key);

    const centreYaml = (keyFile: string) => `fleet: f1\nbrokerUrl: mqtt://127.0.0.1:1883\nsigningKeyFile: ${keyFile}\nledger:\n  sqliteFile: centre/ledger.db\n`;
    writeFileSync(join(dir, 'centre.yaml'), centreYaml('keys/centre-signing.key'));
    expect(runCli(['config', 'check', join(dir, 'centre.yaml')]).stdout).toMatch(/^ok: centre of fleet f1/);
    writeFileSync(join(dir, 'public.yaml'), centreYaml('keys/centre-signing.pub'));
    const publicHalf = runCli(['config', 'check', join(dir, 'public.yaml')]);
    expect(publicHalf.status).toBe(2);
    expect(publicHalf.stderr).toMatch(/EDGEPAY_BAD_INPUT.*\n {2}signingKeyFile: .*centre-signing\.pub holds a public key; it must hold the centre's Ed25519 private key/);
    writeFileSync(join(dir, 'keyless.yaml'), 'fleet: f1\nbrokerUrl: mqtt://127.0.0.1:1883\nledger:\n  sqliteFile: centre/ledger.db\n');
    const keyless = runCli(['config', 'check', join(dir, 'keyless.yaml')]);
    expect(keyless.status).toBe(2);
    expect(keyless.stderr).toContain('signingKeyFile');
    writeFileSync(join(dir, 'other.yaml'), 'hello: world\n');
    const other = runCli(['config', 'check', join(dir, 'other.yaml')]);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('neither a node configuration');
    writeFileSync(join(dir, 'node.toml'), 'nodeId = "x"\n');
    expect(runCli(['config', 'check', join(dir, 'node.toml')]).stderr).toContain('use .yaml, .yml (commented) or .json');
  });
});
