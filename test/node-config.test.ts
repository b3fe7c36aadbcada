import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCentreKeyPair } from '../src/central/centre-keys.js';
import { loadNodeConfig, parseNodeConfig } from '../src/config/node-config.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { runCli } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const minimal = { nodeId: 'box-1', dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true } };

function problemsOf(input: unknown): { path: string; message: string; value?: unknown }[] {
  try {
    parseNodeConfig(input, '/etc/edgepay');
  } catch (error) {
    return (error as { problems: { path: string; message: string; value?: unknown }[] }).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('node configuration', () => {
  it("fills documented defaults and resolves paths against the file's directory", () => {
    const config = parseNodeConfig(minimal, '/etc/edgepay');
    expect(config.dataDir).toBe('/etc/edgepay/data');
    expect(config.keys.tokenKeyFile).toBe('/etc/edgepay/token.key');
    expect(config.journal).toEqual({ busyTimeoutMs: 2_000, tailCheckEntries: 1_024, maxBatch: 512, maxWaitMs: 0, maxQueued: 16_384 });
    expect(config.actors).toMatchObject({ mailboxCapacity: 4_096, heartbeatMs: 500, hungAfterMs: 2_000, requestTimeoutMs: 5_000 });
    expect(config.log.level).toBe('info');
    expect(parseNodeConfig({ ...minimal, dataDir: '/var/lib/edgepay' }).dataDir).toBe('/var/lib/edgepay');
  });

  it('the centre section: a ledger resolved against the file, defaults filled, and MQTT only with a replication broker', () => {
    const embedded = parseNodeConfig({ ...minimal, centre: { store: 's1', ledger: { sqliteFile: 'centre/ledger.db' } } }, '/etc/edgepay');
    expect(embedded.centre).toEqual({
      store: 's1',
      ledger: { sqliteFile: '/etc/edgepay/centre/ledger.db' },
      answerTimeoutMs: 10_000,
      online: { enabled: false, timeoutMs: 300 },
      batchSize: 500,
      intervalMs: 5_000,
      forwardDeadlineHours: 72,
    });
    expect(problemsOf({ ...minimal, centre: { store: 's1', signingPublicKeyFile: 'centre-signing.pub' } })).toEqual([expect.objectContaining({ path: 'centre.ledger' })]);
    expect(problemsOf({ ...minimal, centre: { store: 's1', ledger: { mysql: 'x' } } })[0]).toMatchObject({ path: 'centre.ledger' });
    expect(
      problemsOf({ ...minimal, centre: { store: 'a/b', ledger: { sqliteFile: 'l.db' }, batchSize: 0 } })
        .map((p) => p.path)
        .sort(),
    ).toEqual(['centre.batchSize', 'centre.store']);
  });

  it('the centre over MQTT needs its answer key pinned (the embedded ledger does not), resolved against the file', () => {
    const replication = { fleet: 'f', store: 's1', brokerUrl: 'mqtt://127.0.0.1:1883', signingKeyFile: 'signing.key' };
    const over = parseNodeConfig({ ...minimal, replication, centre: { store: 's1', signingPublicKeyFile: 'keys/centre-signing.pub' } }, '/etc/edgepay');
    expect(over.centre?.signingPublicKeyFile).toBe('/etc/edgepay/keys/centre-signing.pub');
    const missing = problemsOf({ ...minimal, replication, centre: { store: 's1' } });
    expect(missing).toEqual([expect.objectContaining({ path: 'centre.signingPublicKeyFile', message: expect.stringContaining('needed without centre.ledger') })]);
    expect(parseNodeConfig({ ...minimal, replication, centre: { store: 's1', ledger: { sqliteFile: 'l.db' } } }).centre?.signingPublicKeyFile).toBeUndefined();
  });

  it('names every bad key with its path, value and what is allowed, unknown keys included', () => {
    const problems = problemsOf({
      ...minimal,
      nodeId: 'bad id',
      journal: { maxBatch: 0, fsync: 'never' },
      actors: { heartbeatMs: 2.5 },
      log: { level: 'loud' },
      colour: 'blue',
    });
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(Object.keys(byPath).sort()).toEqual(['actors.heartbeatMs', 'colour', 'journal.fsync', 'journal.maxBatch', 'log.level', 'nodeId']);
    expect(byPath['journal.maxBatch']).toMatchObject({ value: 0, message: expect.stringContaining('from 1 to 10000') });
    expect(byPath['journal.fsync']!.message).toMatch(/unknown key \(allowed keys: busyTimeoutMs/);
    expect(byPath['log.level']).toMatchObject({ value: 'loud', message: expect.stringContaining('one of fatal') });
    expect(byPath.colour!.message).toMatch(/unknown key/);
  });

  it('refuses two lanes on one serial port, naming both lanes and the port at lanes.N.port', () => {
    const lanes = [
      { id: 'lane-1', port: '/dev/ttyUSB0', profile: 'edgepay-sim' },
      { id: 'lane-2', port: '/dev/ttyUSB1', profile: 'edgepay-sim' },
      // The same path written another way is the same device.
      { id: 'lane-3', port: '/dev/./ttyUSB0', profile: 'edgepay-sim' },
    ];
    expect(problemsOf({ ...minimal, lanes })).toEqual([
      {
        path: 'lanes.2.port',
        value: '/dev/./ttyUSB0',
        message: 'lane "lane-3" is on the device of lane "lane-1" (lanes.0.port "/dev/ttyUSB0") (both are /dev/ttyUSB0): each lane needs a serial device of its own',
      },
    ]);
    expect(parseNodeConfig({ ...minimal, lanes: lanes.slice(0, 2) }, '/etc/edgepay').lanes).toHaveLength(2);
  });

  it("takes a lane's pinned reader key as base64 of 32 bytes, and names the lane's field for anything else", () => {
    const key = Buffer.alloc(32, 9).toString('base64');
    const lane = { id: 'lane-1', port: '/dev/ttyUSB0', profile: 'edgepay-sim' };
    expect(parseNodeConfig({ ...minimal, lanes: [{ ...lane, readerPublicKey: key }] }, '/etc/edgepay').lanes[0]?.readerPublicKey).toBe(key);
    for (const bad of [Buffer.alloc(31, 9).toString('base64'), `${key.slice(0, -1)}`, 'not base64 at all', 42]) {
      const problems = problemsOf({ ...minimal, lanes: [{ ...lane, readerPublicKey: bad }] });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ path: 'lanes.0.readerPublicKey', message: expect.stringContaining('base64 of a 32-byte Ed25519 public key') });
    }
  });

  it('edgepay config check and node check-config: two lanes on one port is exit 2, the problem on its own line', async () => {
    const dir = tempDir();
    await nodeConfigIn(dir);
    const lanes = [
      { id: 'lane-1', port: '/dev/edgepay/lane-1', profile: 'edgepay-sim' },
      { id: 'lane-2', port: '/dev/edgepay/lane-1', profile: 'edgepay-sim' },
    ];
    writeFileSync(join(dir, 'node.json'), JSON.stringify({ ...minimal, lanes }));
    for (const args of [
      ['config', 'check'],
      ['node', 'check-config'],
    ]) {
      const result = runCli([...args, join(dir, 'node.json')]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('\n  lanes.1.port: lane "lane-2" is on the device of lane "lane-1" (lanes.0.port "/dev/edgepay/lane-1"): each lane needs a serial device of its own (got "/dev/edgepay/lane-1")\n');
    }
  });

  it('refuses a missing file and a file that is not JSON with the file named', () => {
    const dir = tempDir();
    expect(() => loadNodeConfig(join(dir, 'none.json'))).toThrow(expect.objectContaining({ code: 'EDGEPAY_NOT_FOUND', message: expect.stringContaining('none.json') }));
    writeFileSync(join(dir, 'broken.json'), '{ nodeId: ');
    expect(() => loadNodeConfig(join(dir, 'broken.json'))).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT', message: expect.stringContaining('broken.json') }));
  });

  it('edgepay node check-config: ok for a good file, exit 2 naming a bad key file', async () => {
    const dir = tempDir();
    await nodeConfigIn(dir);
    writeFileSync(join(dir, 'node.json'), JSON.stringify(minimal));
    expect(runCli(['node', 'check-config', join(dir, 'node.json')])).toMatchObject({ status: 0, stdout: expect.stringContaining('ok: node box-1') });
    writeFileSync(join(dir, 'lanes.json'), JSON.stringify({ ...minimal, lanes: [{ id: 'lane-1', port: '/dev/edgepay/lane-1', profile: 'no-such-reader' }] }));
    const badProfile = runCli(['node', 'check-config', join(dir, 'lanes.json')]);
    expect(badProfile.status).toBe(2);
    expect(badProfile.stderr).toMatch(/no-such-reader.*edgepay-sim/);
    // The centre's answer key pinned where its public half belongs: a private key there is refused, named.
    const centreKeys = generateCentreKeyPair();
    writeFileSync(join(dir, 'centre-signing.key'), centreKeys.privateKeyPem);
    writeFileSync(join(dir, 'signing.key'), generateNodeKeyPair().privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'centre-signing.pub'), centreKeys.publicKeyPem);
    const overMqtt = (file: string) => ({ ...minimal, replication: { fleet: 'f', store: 's', brokerUrl: 'mqtt://127.0.0.1:1883', signingKeyFile: 'signing.key' }, centre: { store: 's', signingPublicKeyFile: file } });
    writeFileSync(join(dir, 'mqtt.json'), JSON.stringify(overMqtt('centre-signing.pub')));
    expect(runCli(['node', 'check-config', join(dir, 'mqtt.json')])).toMatchObject({ status: 0 });
    writeFileSync(join(dir, 'mqtt.json'), JSON.stringify(overMqtt('centre-signing.key')));
    const leaked = runCli(['node', 'check-config', join(dir, 'mqtt.json')]);
    expect(leaked.status).toBe(2);
    expect(leaked.stderr).toMatch(/EDGEPAY_BAD_INPUT.*\n {2}centre\.signingPublicKeyFile: .*centre-signing\.key holds a private key/);
    writeFileSync(join(dir, 'token.key'), 'c2hvcnQ=');
    const bad = runCli(['node', 'check-config', join(dir, 'node.json')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/\n {2}keys\.tokenKeyFile: .*token\.key does not hold the 32-byte card token key as base64 \(one line\): expected 32 bytes/);
  });

  it('takes the token key only as a systemd credential, a plain file only under the development flag, which check-config warns about', async () => {
    const plain = { ...minimal, keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub' } };
    const [problem] = problemsOf(plain);
    expect(problem).toMatchObject({ path: 'keys.tokenKeyFile', message: expect.stringMatching(/must be credential:<name>.*seal-token-key.*plainTokenKeyFileForDevelopment: true/) });
    const sealed = parseNodeConfig({ ...minimal, keys: { tokenKeyFile: 'credential:token.key', centrePublicKeyFile: 'centre.pub' } }, '/etc/edgepay', { CREDENTIALS_DIRECTORY: '/run/credentials/edgepay-node.service' });
    expect(sealed.keys).toEqual({ tokenKeyFile: '/run/credentials/edgepay-node.service/token.key', centrePublicKeyFile: '/etc/edgepay/centre.pub', plainTokenKeyFileForDevelopment: false });
    expect(problemsOf({ ...minimal, keys: { ...minimal.keys, plainTokenKeyFileForDevelopment: 'yes' } })).toEqual([
      expect.objectContaining({ path: 'keys.plainTokenKeyFileForDevelopment', message: 'must be true or false' }),
    ]);

    const dir = tempDir();
    await nodeConfigIn(dir);
    writeFileSync(join(dir, 'plain.json'), JSON.stringify(plain));
    const refused = runCli(['node', 'check-config', join(dir, 'plain.json')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('keys.tokenKeyFile');
    writeFileSync(join(dir, 'dev.json'), JSON.stringify(minimal));
    const dev = runCli(['node', 'check-config', join(dir, 'dev.json')]);
    expect(dev.status).toBe(0);
    expect(dev.stderr).toMatch(/^WARNING: keys\.plainTokenKeyFileForDevelopment is set: the card token key is read from the plain file .*token\.key\..*For development only/m);
  });
});
