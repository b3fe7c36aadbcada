import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { generateCentreKeyPair } from '../src/central/centre-keys.js';
import { parseNodeConfig } from '../src/config/node-config.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { runCli } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { usePostgresServer } from './support/postgres.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-config-check-');
const postgres = usePostgresServer();

/** A line of a JavaScript stack trace: never shown for a configuration problem. */
const STACK_LINE = /^ {4}at /m;
/** zod's own words, which an operator should never see. */
const ZOD_WORDS = /expected string|received undefined|Invalid input|Too small|Too big/;

const dev = { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true };

/** A directory with the card keys nodeConfigIn writes (token.key, centre.pub) and a node's signing key and a peer's public key. */
async function keysIn(dir: string): Promise<void> {
  await nodeConfigIn(dir);
  writeFileSync(join(dir, 'signing.key'), generateNodeKeyPair().privateKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'box-2.pub'), generateNodeKeyPair().publicKeyPem);
  writeFileSync(join(dir, 'broker.pass'), 'secret\n', { mode: 0o600 });
}

const replication = { fleet: 'f1', store: 's1', brokerUrl: 'mqtt://127.0.0.1:1', signingKeyFile: 'signing.key', passwordFile: 'broker.pass', peers: [{ nodeId: 'box-2', publicKeyFile: 'box-2.pub' }] };

function problemLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('  '));
}

describe('config check lists every problem at once', () => {
  it('a node file with many different problems: each on its own line with key path and value, exit 2, no stack, no zod words', async () => {
    const dir = tempDir();
    const file = join(dir, 'node.yaml');
    writeFileSync(
      file,
      [
        'nodeId: bad id',
        'dataDir: data',
        'rulesFile: rules.json',
        'keys:',
        '  tokenKeyFile: credential:token.key',
        '  centrePublicKeyFile: centre.pub',
        'journal:',
        '  maxBatch: 0',
        'replication:',
        '  fleet: f1',
        '  store: s1',
        '  brokerUrl: mqtt://127.0.0.1:1883',
        '  signingKeyFile: signing.key',
        '  passwordFile: broker.pass',
        '  peers:',
        '    - nodeId: box-2',
        '      publicKeyFile: box-2.pub',
        'api:',
        '  host: 127.0.0.1',
        'colour: blue',
        '',
      ].join('\n'),
    );
    for (const args of [
      ['config', 'check', file],
      ['node', 'check-config', file],
    ]) {
      const result = runCli(args);
      expect(result.status).toBe(2);
      expect(result.stderr).not.toMatch(STACK_LINE);
      expect(result.stderr).not.toMatch(ZOD_WORDS);
      const lines = problemLines(result.stderr);
      const byPath = (path: string) => lines.find((line) => line.startsWith(`  ${path}: `));
      expect(byPath('nodeId')).toContain('(got "bad id")');
      expect(byPath('journal.maxBatch')).toMatch(/must be a whole number from 1 to 10000 .*\(got 0\)$/);
      expect(byPath('api.port')).toMatch(/: is required: it must be a whole number from 0 to 65535/);
      expect(byPath('colour')).toMatch(/unknown key/);
      expect(byPath('rulesFile')).toContain(`${join(dir, 'rules.json')} does not exist`);
      expect(byPath('keys.tokenKeyFile')).toMatch(/needs systemd's CREDENTIALS_DIRECTORY.*--credentials-dir DIR/);
      expect(byPath('keys.centrePublicKeyFile')).toContain(`${join(dir, 'centre.pub')} does not exist; it must hold the centre's 32-byte X25519 public key`);
      expect(byPath('replication.signingKeyFile')).toContain(`${join(dir, 'signing.key')} does not exist; it must hold this node's Ed25519 private key`);
      expect(byPath('replication.passwordFile')).toContain(`${join(dir, 'broker.pass')} does not exist`);
      expect(byPath('replication.peers.0.publicKeyFile')).toContain(`${join(dir, 'box-2.pub')} does not exist`);
      expect(lines).toHaveLength(10);
      // The data directory is not there yet: said, not refused (node init makes it).
      expect(result.stderr).toMatch(/^WARNING: dataDir .*data does not exist yet: `edgepay node init` makes it/m);
    }
  });

  it('zod\'s own words never reach the operator: a missing key "is required", a wrong kind of value is named', () => {
    let problems: { path: string; message: string; value?: unknown }[] = [];
    try {
      parseNodeConfig({ lanes: [{ id: 'lane-1', port: 7 }], capture: { threads: 'two' }, replication: { fleet: 'f', store: 's', brokerUrl: 'mqtt://h', signingKeyFile: 'k', username: '' } }, '/etc/edgepay');
    } catch (error) {
      problems = (error as { problems: typeof problems }).problems;
    }
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(byPath.nodeId).toEqual({ path: 'nodeId', message: 'is required' });
    expect(byPath.dataDir).toEqual({ path: 'dataDir', message: 'is required: it must be a file path' });
    expect(byPath.keys?.message).toMatch(/^is required: it must be an object with keys tokenKeyFile/);
    expect(byPath['lanes.0.port']).toMatchObject({ message: 'must be a file path', value: 7 });
    expect(byPath['lanes.0.profile']).toMatchObject({ message: 'is required' });
    expect(byPath['capture.threads']).toMatchObject({ message: expect.stringMatching(/^must be a whole number from 1 to 64/), value: 'two' });
    expect(byPath['replication.username']).toMatchObject({ message: 'must be at least 1 character long', value: '' });
    for (const problem of problems) expect(problem.message).not.toMatch(ZOD_WORDS);
  });

  it('a missing signing key, peer key, password file or token key is refused by check-config and by node run (exit 2, not 3)', async () => {
    for (const missing of ['signing.key', 'box-2.pub', 'broker.pass', 'token.key']) {
      const dir = tempDir();
      await keysIn(dir);
      const file = join(dir, 'node.json');
      writeFileSync(file, JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: dev, replication, log: { level: 'warn' } }));
      expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
      expect(runCli(['node', 'check-config', file]).status).toBe(0);
      writeFileSync(join(dir, missing), '', { flag: 'w' });
      const emptied = runCli(['node', 'check-config', file]);
      expect(emptied.status).toBe(2);
      expect(emptied.stderr).toContain(join(dir, missing));
      // Removed altogether: start refuses it before any actor, with the same list.
      rmSync(join(dir, missing));
      for (const args of [
        ['node', 'check-config', file],
        ['config', 'check', file],
        ['node', 'run', '--config', file],
      ]) {
        const result = runCli(args, 30_000);
        expect(result.status, `${args.join(' ')} with ${missing} missing`).toBe(2);
        expect(result.stderr).toMatch(new RegExp(`EDGEPAY_BAD_INPUT: invalid node configuration .*\\n  [a-zA-Z.0-9]+: ${join(dir, missing).replace(/[.]/g, '\\.')} does not exist`));
        expect(result.stderr).not.toMatch(STACK_LINE);
      }
    }
  }, 120_000);

  it('centre run refuses a centre file with missing files at start: exit 2, every problem listed, no stack, no ledger made', () => {
    const dir = tempDir();
    const file = join(dir, 'centre.yaml');
    writeFileSync(file, 'fleet: f1\nbrokerUrl: mqtt://127.0.0.1:1\npasswordFile: broker.pass\nsigningKeyFile: centre-signing.key\nledger:\n  sqliteFile: ledger.db\n');
    const result = runCli(['centre', 'run', '--config', file], 30_000);
    expect(result.status).toBe(2);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(problemLines(result.stderr)).toEqual([
      `  passwordFile: ${join(dir, 'broker.pass')} does not exist; it must hold this client's broker password on its first line (got "broker.pass")`,
      `  signingKeyFile: ${join(dir, 'centre-signing.key')} does not exist; it must hold the centre's Ed25519 private key, PKCS8 PEM (-----BEGIN PRIVATE KEY-----) (got "centre-signing.key")`,
    ]);
    expect(readdirSync(dir)).toEqual(['centre.yaml']);
  });

  it("--credentials-dir reads credential:<name> from DIR, as systemd's CREDENTIALS_DIRECTORY; without it the check says how", async () => {
    const dir = tempDir();
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials);
    await nodeConfigIn(credentials);
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: 'credentials/centre.pub' } }));
    const without = runCli(['node', 'check-config', file]);
    expect(without.status).toBe(2);
    expect(without.stderr).toContain("keys.tokenKeyFile: needs systemd's CREDENTIALS_DIRECTORY");
    expect(without.stderr).toContain('give --credentials-dir DIR (DIR holding token.key) (got "credential:token.key")');
    for (const command of [
      ['node', 'check-config'],
      ['config', 'check'],
    ]) {
      const ok = runCli([...command, file, '--credentials-dir', credentials]);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/^ok: node box-1/);
    }
    const elsewhere = runCli(['config', 'check', file, '--credentials-dir', dir]);
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toContain(`keys.tokenKeyFile: ${join(dir, 'token.key')} does not exist`);
    const notADirectory = runCli(['config', 'check', file, '--credentials-dir', join(dir, 'none')]);
    expect(notADirectory.status).toBe(2);
    expect(notADirectory.stderr).toContain('--credentials-dir: ');
  });

  it('a YAML mistake is reported once per place, with its line and column', () => {
    const dir = tempDir();
    const file = join(dir, 'node.yaml');
    // One mistake the parser reports four times (two messages at each of two places).
    writeFileSync(file, 'nodeId: a\n  dataDir: x\n  y: 2\n');
    const result = runCli(['config', 'check', file]);
    expect(result.status).toBe(2);
    const lines = problemLines(result.stderr);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ {2}\(root\): is not valid YAML at line 1, column 9: Nested mappings are not allowed in compact mappings; Implicit keys need to be on a single line$/);
    expect(lines[1]).toMatch(/^ {2}\(root\): is not valid YAML at line 2, column 12: /);
    expect(result.stderr).not.toMatch(/at line \d+, column \d+:.*at line/);
  });

  it('lanes[].port is relative to the configuration file like every path (a unix: socket keeps its prefix); the check prints it resolved', async () => {
    const config = parseNodeConfig(
      {
        nodeId: 'box-1',
        dataDir: 'data',
        keys: dev,
        lanes: [
          { id: 'lane-1', port: 'dev/ttyS0', profile: 'edgepay-sim' },
          { id: 'lane-2', port: '/dev/ttyUSB0', profile: 'edgepay-sim' },
          { id: 'lane-3', port: 'unix:run/reader.sock', profile: 'edgepay-sim' },
        ],
      },
      '/etc/edgepay',
    );
    expect(config.lanes.map((lane) => lane.port)).toEqual(['/etc/edgepay/dev/ttyS0', '/dev/ttyUSB0', 'unix:/etc/edgepay/run/reader.sock']);

    const dir = tempDir();
    await nodeConfigIn(dir);
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: dev, lanes: [{ id: 'lane-1', port: 'readers/lane-1', profile: 'edgepay-sim' }] }));
    // Not plugged in now: a warning, since readers come and go; the path shown is where the node will look.
    const unplugged = runCli(['config', 'check', file]);
    expect(unplugged.status).toBe(0);
    expect(unplugged.stdout).toContain(`lanes: lane-1 (edgepay-sim on ${join(dir, 'readers/lane-1')})`);
    expect(unplugged.stderr).toContain(`WARNING: lanes.0.port ${join(dir, 'readers/lane-1')} is not there now (a reader not plugged in?)`);
    // A lane pinning no reader key takes card numbers over its cable: said, without refusing the configuration.
    expect(unplugged.stderr).toContain('WARNING: lanes.0.readerPublicKey is not set: the lane takes a 1.0 reader, whose card data (PAN and track 2) crosses its cable in clear');
    writeFileSync(
      file,
      JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: dev, lanes: [{ id: 'lane-1', port: 'readers/lane-1', profile: 'edgepay-sim', readerPublicKey: Buffer.alloc(32, 5).toString('base64') }] }),
    );
    const pinned = runCli(['config', 'check', file]);
    expect(pinned.status).toBe(0);
    expect(pinned.stderr).not.toContain('readerPublicKey');
    // A regular file is no serial device: refused.
    mkdirSync(join(dir, 'readers'));
    writeFileSync(join(dir, 'readers/lane-1'), '');
    const notADevice = runCli(['config', 'check', file]);
    expect(notADevice.status).toBe(2);
    expect(notADevice.stderr).toContain(`  lanes.0.port: ${join(dir, 'readers/lane-1')} is not a character device`);
  });
});

describe('config check has no side effects', () => {
  it('a centre file naming a real PostgreSQL: checked without connecting, no table made', async () => {
    const dir = tempDir();
    const keys = generateCentreKeyPair();
    writeFileSync(join(dir, 'centre-signing.key'), keys.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'ledger-url'), `${postgres().url}\n`, { mode: 0o600 });
    const file = join(dir, 'centre.yaml');
    writeFileSync(file, 'fleet: f1\nbrokerUrl: mqtt://127.0.0.1:1883\nsigningKeyFile: centre-signing.key\nledger:\n  postgresUrlFile: ledger-url\n');
    for (const args of [
      ['config', 'check', file],
      ['centre', 'check-config', file],
    ]) {
      const result = runCli(args);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(result.stdout).toMatch(/^ok: centre of fleet f1, .*ledger postgres \(URL in .*ledger-url, not connected to\)/);
    }
    const client = new Client({ connectionString: postgres().url });
    await client.connect();
    try {
      const tables = await client.query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')");
      expect(tables.rows).toEqual([]);
    } finally {
      await client.end();
    }
    // A URL file holding something else is refused, the URL never printed.
    writeFileSync(join(dir, 'ledger-url'), 'mysql://root:hunter2@db/ledger\n');
    const wrong = runCli(['config', 'check', file]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain(`  ledger.postgresUrlFile: ${join(dir, 'ledger-url')} holds a mysql:// URL; it must hold one postgres://`);
    expect(wrong.stderr).not.toContain('hunter2');
  });

  it('an SQLite ledger (centre or embedded in a node) is neither created nor opened; its directory is not made', async () => {
    const dir = tempDir();
    const keys = generateCentreKeyPair();
    writeFileSync(join(dir, 'centre-signing.key'), keys.privateKeyPem, { mode: 0o600 });
    const file = join(dir, 'centre.yaml');
    writeFileSync(file, 'fleet: f1\nbrokerUrl: mqtt://127.0.0.1:1883\nsigningKeyFile: centre-signing.key\nledger:\n  sqliteFile: ledger/centre.db\n');
    const before = readdirSync(dir).sort();
    const missingDir = runCli(['centre', 'check-config', file]);
    expect(missingDir.status).toBe(0);
    expect(missingDir.stderr).toContain(`WARNING: ledger.sqliteFile ${join(dir, 'ledger/centre.db')} does not exist yet: an empty ledger is made there at first start, with the directories below ${dir} (mode 0700)`);
    expect(readdirSync(dir).sort()).toEqual(before);
    mkdirSync(join(dir, 'ledger'));
    expect(runCli(['config', 'check', file])).toMatchObject({ status: 0, stderr: '' });
    expect(readdirSync(join(dir, 'ledger'))).toEqual([]);
    // Something that is not an SQLite database where the ledger goes: refused, left as it is.
    writeFileSync(join(dir, 'ledger/centre.db'), 'not a database');
    const notSqlite = runCli(['config', 'check', file]);
    expect(notSqlite.status).toBe(2);
    expect(notSqlite.stderr).toContain('is not an SQLite database');
    expect(readdirSync(join(dir, 'ledger'))).toEqual(['centre.db']);

    await nodeConfigIn(dir);
    const nodeFile = join(dir, 'node.json');
    writeFileSync(nodeFile, JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: dev, centre: { store: 's1', ledger: { sqliteFile: 'embedded/ledger.db' } } }));
    expect(runCli(['node', 'check-config', nodeFile]).status).toBe(0);
    expect(existsSync(join(dir, 'embedded'))).toBe(false);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});
