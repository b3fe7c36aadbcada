import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type RulesConfig, defaultRulesConfig } from '../src/authorize/index.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { loadRulesInForce } from '../src/node/rules-source.js';
import { parseNodeConfig } from '../src/config/node-config.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { type ReplicationLog, silentLog } from '../src/platform/replication-log.js';
import { canonicalJson } from '../src/rules/canonical.js';
import { loadRulesPublicKey, loadRulesSigningKey, writeRulesKeyPair } from '../src/rules/keys.js';
import { encodeRulesMessage, openRulesMessage, rulesSignedBytes } from '../src/rules/message.js';
import { RulesPusher } from '../src/app/actors/rules-pusher.js';
import { RulesReceiver } from '../src/rules/receiver.js';
import { distributedRulesPathOf, writeDistributedRules } from '../src/rules/store.js';
import { StoreTopics } from '../src/wire/topics.js';
import { parseAcl, storeAclForUsers } from './support/brokers.js';
import { runCliAsync } from './support/cli.js';
import { newNodeConfigIn, nodeConfigIn } from './support/node.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-rules-units-');
const scope = { fleet: 'fleet-1', store: 'store-7' };
const operator = generateNodeKeyPair();
const impostor = generateNodeKeyPair();

function rulesWith(version: number, tokens: string[] = []): RulesConfig {
  return { ...defaultRulesConfig(), version, hotCards: { version, tokens } };
}

function recordingLog(): ReplicationLog & { lines: { level: string; fields: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, fields, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('canonical JSON (RFC 8785 for the values rules hold)', () => {
  it('sorts keys at every depth, keeps array order, and drops whitespace', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: 'x' }], a: { d: null, c: true } })).toBe('{"a":{"c":true,"d":null},"b":[3,{"a":"x","z":1}]}');
    expect(canonicalJson({ é: 1, e: 2, E: 3 })).toBe('{"E":3,"e":2,"é":1}');
  });

  it('gives the same bytes however the rules file was written', () => {
    const rules = rulesWith(4, ['t1', 't2']);
    const reordered = JSON.parse(JSON.stringify({ hotCards: rules.hotCards, node: rules.node, version: 4, perCard: rules.perCard, currencies: rules.currencies })) as unknown;
    expect(rulesSignedBytes(scope, reordered).equals(rulesSignedBytes(scope, rules))).toBe(true);
    expect(rulesSignedBytes(scope, rules).toString('utf8')).toMatch(/^\["edgepay\/rules-signature\/v1","fleet-1","store-7",\{"currencies":/);
  });

  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
  });
});

describe('rules messages', () => {
  const signed = (rules: RulesConfig, key = operator.privateKey, at = scope) => encodeRulesMessage(rules, at, key);

  it('opens a message signed with the rules key', () => {
    const opened = openRulesMessage(signed(rulesWith(2, ['hot'])), scope, operator.publicKey);
    expect(opened.ok).toBe(true);
    if (opened.ok) expect(opened.rules.hotCards.tokens.has('hot')).toBe(true);
  });

  it.each([
    ['another key', () => signed(rulesWith(2), impostor.privateKey), 'bad_signature'],
    ['another store', () => signed(rulesWith(2), operator.privateKey, { ...scope, store: 'store-8' }), 'bad_signature'],
    [
      'altered content',
      () => {
        const message = JSON.parse(signed(rulesWith(2, ['hot'])).toString('utf8')) as { rules: RulesConfig };
        message.rules.hotCards.tokens = [];
        return Buffer.from(JSON.stringify(message));
      },
      'bad_signature',
    ],
    ['not JSON', () => Buffer.from('{nope'), 'malformed'],
    ['unknown keys', () => Buffer.from(JSON.stringify({ v: 1, rules: rulesWith(2), sig: 'x'.repeat(88), extra: 1 })), 'malformed'],
    ['a short signature', () => Buffer.from(JSON.stringify({ v: 1, rules: rulesWith(2), sig: 'AAAA' })), 'malformed'],
    ['signed but invalid rules', () => signed({ ...rulesWith(2), perCard: { ...rulesWith(2).perCard, windowMinutes: 0 } }), 'invalid_rules'],
  ] as const)('rejects %s', (_, make, reason) => {
    const opened = openRulesMessage(make(), scope, operator.publicKey);
    expect(opened).toMatchObject({ ok: false, reason });
  });
});

describe('RulesReceiver', () => {
  function receiverIn(dir: string, configuredVersion = 1, log: ReplicationLog = silentLog) {
    const accepted: RulesConfig[] = [];
    const receiver = new RulesReceiver({ scope, publicKey: operator.publicKey, file: distributedRulesPathOf(dir), configuredVersion, log, onAccepted: (r) => accepted.push(r) });
    return { receiver, accepted };
  }

  it('applies only versions above the one in force, persists them, and knows a redelivery', () => {
    const dir = tempDir();
    const { receiver, accepted } = receiverIn(dir);
    const v3 = encodeRulesMessage(rulesWith(3, ['hot']), scope, operator.privateKey);
    receiver.receive(v3);
    receiver.receive(v3);
    receiver.receive(encodeRulesMessage(rulesWith(2), scope, operator.privateKey));
    receiver.receive(encodeRulesMessage(rulesWith(3), scope, operator.privateKey));
    receiver.receive(encodeRulesMessage(rulesWith(9), scope, impostor.privateKey));
    receiver.receive(Buffer.alloc(0));
    expect(accepted.map((r) => r.version)).toEqual([3]);
    expect(receiver.status()).toEqual({
      version: 3,
      distributedVersion: 3,
      counters: { rules_accepted: 1, rules_rejected: 1, rules_stale: 2, rules_unchanged: 1 },
      rejectedBy: { malformed: 0, bad_signature: 1, invalid_rules: 0 },
    });
    expect(readFileSync(distributedRulesPathOf(dir)).equals(v3)).toBe(true);
    // A restarted receiver starts from the persisted rules.
    expect(receiverIn(dir).receiver.status()).toMatchObject({ version: 3, distributedVersion: 3 });
  });

  it('counts as stale anything not above a newer configured rules file', () => {
    const { receiver, accepted } = receiverIn(tempDir(), 5);
    receiver.receive(encodeRulesMessage(rulesWith(4), scope, operator.privateKey));
    expect(accepted).toEqual([]);
    expect(receiver.status().counters.rules_stale).toBe(1);
  });

  it('ignores, with a warning, a persisted file that no longer verifies', () => {
    const dir = tempDir();
    const message = JSON.parse(encodeRulesMessage(rulesWith(3, ['hot']), scope, operator.privateKey).toString('utf8')) as { rules: RulesConfig };
    message.rules.hotCards.tokens = [];
    writeDistributedRules(distributedRulesPathOf(dir), Buffer.from(JSON.stringify(message)));
    const log = recordingLog();
    expect(receiverIn(dir, 1, log).receiver.status()).toMatchObject({ version: 1, distributedVersion: null });
    expect(log.lines).toMatchObject([{ level: 'warn', fields: { reason: 'bad_signature' } }]);
  });

  it('leaves a message unacknowledged (throws) when it cannot persist it, and does not count it accepted', () => {
    const dir = join(tempDir(), 'missing');
    const { receiver, accepted } = receiverIn(dir);
    expect(() => receiver.receive(encodeRulesMessage(rulesWith(2), scope, operator.privateKey))).toThrow(expect.objectContaining({ code: 'EDGEPAY_REPLICATION_STORE_IO' }));
    expect(accepted).toEqual([]);
    expect(receiver.status().version).toBe(1);
  });
});

describe('rules in force at start', () => {
  async function nodeWithRules(fileVersion: number | undefined) {
    const dir = tempDir();
    const keys = writeRulesKeyPair(join(dir, 'operator'));
    if (fileVersion !== undefined) writeFileSync(join(dir, 'rules.json'), JSON.stringify(rulesWith(fileVersion)));
    const config = await nodeConfigIn(dir, {
      ...(fileVersion === undefined ? {} : { rulesFile: 'rules.json' }),
      replication: { ...scope, brokerUrl: 'mqtt://127.0.0.1:1', signingKeyFile: 'node.key', rulesPublicKeyFile: 'operator/rules.pub' },
    });
    mkdirSync(config.dataDir, { recursive: true });
    const distribute = (rules: RulesConfig) => writeDistributedRules(distributedRulesPathOf(config.dataDir), encodeRulesMessage(rules, scope, loadRulesSigningKey(keys.keyFile)));
    return { config, distribute };
  }

  it('takes the newer of the configured rules and the distributed ones', async () => {
    const { config, distribute } = await nodeWithRules(3);
    expect(config.replication?.rulesPublicKeyFile).toMatch(/\/operator\/rules\.pub$/);
    expect(loadRulesInForce(config)).toMatchObject({ source: 'rules file', rules: { version: 3 } });
    distribute(rulesWith(2, ['hot']));
    expect(loadRulesInForce(config)).toMatchObject({ source: 'rules file', rules: { version: 3 } });
    distribute(rulesWith(4, ['hot']));
    const inForce = loadRulesInForce(config);
    expect(inForce).toMatchObject({ source: 'distributed', rules: { version: 4 } });
    expect(inForce.rules.hotCards.tokens.has('hot')).toBe(true);
  });

  it('falls back to the configured rules when the distributed file does not verify', async () => {
    const { config } = await nodeWithRules(undefined);
    writeDistributedRules(distributedRulesPathOf(config.dataDir), encodeRulesMessage(rulesWith(7), scope, impostor.privateKey));
    expect(loadRulesInForce(config)).toMatchObject({ source: 'defaults', rules: { version: 1 }, problem: expect.stringMatching(/bad_signature/) });
  });

  it('ignores distributed rules without a rules public key in the configuration', async () => {
    const { config, distribute } = await nodeWithRules(undefined);
    distribute(rulesWith(4));
    const { rulesPublicKeyFile: _, ...replication } = config.replication!;
    expect(loadRulesInForce({ ...config, replication }).rules.version).toBe(1);
  });
});

describe("the journal writer's set-rules", () => {
  it('applies a higher version and refuses a lower or equal one', async () => {
    const config = await newNodeConfigIn(tempDir());
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    try {
      const set = (rules: RulesConfig) => node.ask('journal-writer', { type: 'set-rules', rules });
      expect(await set(rulesWith(3))).toEqual({ applied: true, rulesVersion: 3 });
      expect(await set(rulesWith(2))).toEqual({ applied: false, rulesVersion: 3 });
      expect(await set(rulesWith(3))).toEqual({ applied: false, rulesVersion: 3 });
    } finally {
      await node.stop();
    }
  });
});

describe('RulesPusher', () => {
  it('retries while the journal writer is away, and sends only the newest of what waited', async () => {
    const delivered: number[] = [];
    let failures = 2;
    const pusher = new RulesPusher(async (rules) => {
      if (failures-- > 0) throw new Error('journal writer restarting');
      delivered.push(rules.version);
      return { applied: true, rulesVersion: rules.version };
    }, silentLog);
    pusher.push(rulesWith(2));
    pusher.push(rulesWith(3));
    await eventually(() => (delivered.length > 0 ? true : undefined), 5_000, 'a delivery');
    pusher.stop();
    expect(delivered).toEqual([3]);
  });
});

describe('broker ACL for the rules topic', () => {
  const acl = parseAcl(storeAclForUsers({ 'lane-1': 'pw', 'lane-2': 'pw' }, { fleet: 'fleet-1', store: 'store-7' }));
  const topics = new StoreTopics('fleet-1', 'store-7');

  it('lets only the rules publisher (and the bridge) write it, and every node read it', () => {
    expect(acl.allows('edgepay-rules', 'write', topics.rules())).toBe(true);
    expect(acl.allows('edgepay-bridge', 'write', topics.rules())).toBe(true);
    expect(acl.allows('lane-1', 'write', topics.rules())).toBe(false);
    expect(acl.allows('lane-1', 'read', topics.rules())).toBe(true);
    expect(acl.allows('edgepay-rules', 'write', topics.journal('lane-1'))).toBe(false);
  });
});

describe('edgepay rules keygen / publish (command line)', () => {
  it('writes a key pair once, private key readable by its owner only', async () => {
    const dir = join(tempDir(), 'keys');
    const made = await runCliAsync(['rules', 'keygen', '--out', dir]);
    expect(made.status).toBe(0);
    expect(statSync(join(dir, 'rules.key')).mode & 0o777).toBe(0o600);
    expect(loadRulesPublicKey(join(dir, 'rules.pub')).asymmetricKeyType).toBe('ed25519');
    const again = await runCliAsync(['rules', 'keygen', '--out', dir]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exist/);
  });

  it('refuses bad input with exit 2 before connecting, and an unreachable broker with exit 3', async () => {
    const dir = tempDir();
    const keys = writeRulesKeyPair(dir);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(rulesWith(2)));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...rulesWith(2), version: 0 }));
    const base = ['--key', keys.keyFile, '--broker', 'mqtt://127.0.0.1:1', '--fleet', 'fleet-1', '--store', 'store-7', '--timeout-ms', '2000'];
    const badRules = await runCliAsync(['rules', 'publish', bad, ...base]);
    expect(badRules.status).toBe(2);
    expect(badRules.stderr).toMatch(/version: must be a whole number >= 1/);
    const badKey = await runCliAsync(['rules', 'publish', good, ...base.slice(0, 1), keys.publicKeyFile, ...base.slice(2)]);
    expect(badKey.status).toBe(2);
    expect(badKey.stderr).toMatch(/EDGEPAY_REPLICATION_KEY_INVALID/);
    const badStore = await runCliAsync(['rules', 'publish', good, ...base.slice(0, 7), 'a/b', ...base.slice(8)]);
    expect(badStore.status).toBe(2);
    expect(badStore.stderr).toMatch(/store id "a\/b"/);
    const badUrl = await runCliAsync(['rules', 'publish', good, ...base.slice(0, 3), 'http://x', ...base.slice(4)]);
    expect(badUrl.status).toBe(2);
    const unreachable = await runCliAsync(['rules', 'publish', good, ...base]);
    expect(unreachable.status).toBe(3);
    expect(unreachable.stderr).toMatch(/EDGEPAY_RULES_UNREACHABLE: cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
  });
});

describe('node configuration', () => {
  it('resolves replication.rulesPublicKeyFile relative to the configuration file', () => {
    const config = parseNodeConfig(
      {
        nodeId: 'n1',
        dataDir: 'data',
        keys: { tokenKeyFile: 't', centrePublicKeyFile: 'c', plainTokenKeyFileForDevelopment: true },
        replication: { ...scope, brokerUrl: 'mqtt://b:1883', signingKeyFile: 'n1.key', rulesPublicKeyFile: 'keys/rules.pub' },
      },
      '/etc/edgepay',
    );
    expect(config.replication?.rulesPublicKeyFile).toBe('/etc/edgepay/keys/rules.pub');
  });
});
