import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRulesConfig, type RulesConfig } from '../src/authorize/index.js';
import { loadCardKeys, tokenizePan, withLuhnDigit } from '../src/card/index.js';
import { runRulesPublish } from '../src/cli/rules-publish.js';
import type { NodeConfig } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import type { ReplicatorStatus } from '../src/replication/replicator.js';
import { writeRulesKeyPair } from '../src/rules/keys.js';
import { distributedRulesPathOf } from '../src/rules/store.js';
import { type BrokerKind, type TestBroker, startBroker } from './support/brokers.js';
import { newNodeConfigIn, nodeConfigIn } from './support/node.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * Signed, retained rule and hot-card updates on a store of real nodes (NodeRuntime: actors,
 * journal, replicator) over a real broker, published by the `rules publish` command's body.
 */

const tempDir = useTempDir('edgepay-rules-');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const NODES = ['box-a', 'box-b', 'box-c'] as const;
type NodeId = (typeof NODES)[number];
const FLEET = 'fleet-1';
const STORE = 'store-7';
const RULES_USER = 'edgepay-rules';

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });
const STOLEN = card(99);
// Above the default floor limit: until the hot list arrives a poll is declined Z3 and leaves no approval behind.
const PROBE_AMOUNT = 6_000;

function rulesWith(version: number, hotTokens: string[]): RulesConfig {
  return { ...defaultRulesConfig(), version, hotCards: { version, tokens: hotTokens } };
}

async function storeOf(kind: BrokerKind) {
  const dir = tempDir();
  const users: Record<string, string> = { ...Object.fromEntries(NODES.map((n) => [n, `pw-${n}`])), [RULES_USER]: 'pw-rules' };
  const broker: TestBroker = await startBroker(kind, dir, users, { fleet: FLEET, store: STORE });
  cleanups.push(() => broker.stop());
  const nodeKeys = provisionNodeKeys(join(dir, 'keys'), [...NODES]);
  const rulesKey = writeRulesKeyPair(join(dir, 'operator'));
  const otherKey = writeRulesKeyPair(join(dir, 'impostor'));
  writeFileSync(join(dir, 'rules.password'), users[RULES_USER]!);
  // One token key for the whole store: a card must have one token on every lane.
  const shared = await nodeConfigIn(tempDir());
  const tokenKey = loadCardKeys(shared.keys).tokenKey;
  const configs = new Map<NodeId, NodeConfig>();
  for (const nodeId of NODES) {
    writeFileSync(join(dir, `${nodeId}.password`), users[nodeId]!);
    configs.set(
      nodeId,
      await newNodeConfigIn(tempDir(), {
        nodeId,
        dataDir: join(dir, nodeId, 'data'),
        keys: shared.keys,
        replication: {
          fleet: FLEET,
          store: STORE,
          brokerUrl: broker.url,
          username: nodeId,
          passwordFile: join(dir, `${nodeId}.password`),
          signingKeyFile: nodeKeys.find((k) => k.nodeId === nodeId)!.signingKeyFile,
          peers: peersOf(nodeId, nodeKeys),
          rulesPublicKeyFile: rulesKey.publicKeyFile,
        },
      }),
    );
  }
  const nodes = new Map<NodeId, NodeRuntime>();
  const start = async (nodeId: NodeId) => {
    const node = await NodeRuntime.start({ config: configs.get(nodeId)!, registry: new Registry() });
    cleanups.push(() => node.stop());
    nodes.set(nodeId, node);
    return node;
  };
  const stop = async (nodeId: NodeId) => {
    await nodes.get(nodeId)!.stop();
    nodes.delete(nodeId);
  };
  const status = (nodeId: NodeId) => nodes.get(nodeId)!.ask('replicator', { type: 'status' });
  let probes = 0;
  const probe = async (nodeId: NodeId) => {
    const outcome = await nodes.get(nodeId)!.pay({ idempotencyKey: `probe-${probes++}`, amountMinor: PROBE_AMOUNT, currency: 'EUR', card: STOLEN });
    return outcome.decision.code;
  };
  const publish = async (rules: RulesConfig, options: { key?: string; allowOlder?: boolean; as?: NodeId } = {}) => {
    const file = join(tempDir(), 'rules.json');
    writeFileSync(file, JSON.stringify(rules, null, 2));
    const out: string[] = [];
    const err: string[] = [];
    const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) });
    const code = await runRulesPublish(
      file,
      {
        key: options.key ?? rulesKey.keyFile,
        broker: broker.url,
        fleet: FLEET,
        store: STORE,
        username: options.as ?? RULES_USER,
        passwordFile: join(dir, options.as === undefined ? 'rules.password' : `${options.as}.password`),
        timeoutMs: options.as === undefined ? 5_000 : 1_500,
        ...(options.allowOlder ? { allowOlder: true } : {}),
      },
      sink(out),
      sink(err),
    );
    return { code, out: out.join(''), err: err.join('') };
  };
  return {
    broker,
    configs,
    nodes,
    start,
    stop,
    status,
    probe,
    publish,
    otherKey,
    stolenToken: tokenizePan(STOLEN.pan, tokenKey),
  };
}

type Store = Awaited<ReturnType<typeof storeOf>>;

/** Polls with real payments until the node declines the stolen card as hot ('05'). */
async function untilHot(store: Store, nodeId: NodeId): Promise<void> {
  await eventually(async () => ((await store.probe(nodeId)) === '05' ? true : undefined), 10_000, `${nodeId} to decline the hot card`);
}

async function until(store: Store, nodeId: NodeId, what: string, check: (s: ReplicatorStatus) => boolean): Promise<ReplicatorStatus> {
  return eventually(
    async () => {
      const s = await store.status(nodeId);
      return check(s) ? s : undefined;
    },
    10_000,
    `${nodeId}: ${what}`,
  );
}

describe.each(['aedes', 'mosquitto'] as const)('signed rule updates on a store of three nodes over %s', (kind) => {
  it('applies a newer signed hot list everywhere, never rolls back to an older one, and rejects a foreign signature', async () => {
    const store = await storeOf(kind);
    for (const nodeId of NODES) await store.start(nodeId);
    for (const nodeId of NODES) expect(await store.probe(nodeId)).toBe('Z3');

    const v2 = await store.publish(rulesWith(2, [store.stolenToken]));
    expect(v2).toMatchObject({ code: 0, err: '' });
    expect(v2.out).toMatch(/published rules version 2 .*1 cards.* retained on edgepay\/v1\/fleet-1\/store-7\/rules/);
    for (const nodeId of NODES) await untilHot(store, nodeId);
    for (const nodeId of NODES) {
      const s = await store.status(nodeId);
      expect(s.rules).toMatchObject({ version: 2, distributedVersion: 2 });
      expect(s.counters).toMatchObject({ rules_accepted: 1, rules_rejected: 0, rules_stale: 0 });
      expect(existsSync(distributedRulesPathOf(store.configs.get(nodeId)!.dataDir))).toBe(true);
    }

    // A node's broker credentials cannot replace the rules (brokers/acl.template): aedes drops the link,
    // Mosquitto acknowledges and discards, and the command sees that its message never came back.
    const asNode = await store.publish(rulesWith(5, []), { as: 'box-a' });
    expect(asNode.code).toBe(3);
    expect(asNode.err).toMatch(/EDGEPAY_RULES_NOT_ACCEPTED/);

    // The command itself refuses to retain an older version over a newer one...
    const refused = await store.publish(rulesWith(1, []));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/EDGEPAY_RULES_OLDER_THAN_RETAINED.*version 2/);
    // ...and when someone does it anyway, the nodes count it stale and keep version 2.
    expect((await store.publish(rulesWith(1, []), { allowOlder: true })).code).toBe(0);
    for (const nodeId of NODES) {
      const s = await until(store, nodeId, 'version 1 counted stale', (x) => x.counters.rules_stale >= 1);
      expect(s.rules?.version).toBe(2);
      expect(await store.probe(nodeId)).toBe('05');
    }

    // Version 3 without the hot card, signed with a key the nodes do not know: rejected and counted.
    const forged = await store.publish(rulesWith(3, []), { key: store.otherKey.keyFile });
    expect(forged.code).toBe(0);
    for (const nodeId of NODES) {
      const s = await until(store, nodeId, 'the forged rules rejected', (x) => x.counters.rules_rejected >= 1);
      expect(s.rules).toMatchObject({ version: 2, rejectedBy: { bad_signature: 1, malformed: 0, invalid_rules: 0 } });
      expect(await store.probe(nodeId)).toBe('05');
    }

    // The forgery's claimed version 3 does not hold the operator back: only a verified retained message counts.
    const v4 = await store.publish(rulesWith(4, [store.stolenToken]));
    expect(v4).toMatchObject({ code: 0, out: expect.stringMatching(/replacing a retained message that did not verify/) });
    for (const nodeId of NODES) await until(store, nodeId, 'version 4 applied', (x) => x.rules?.version === 4 && x.counters.rules_accepted === 2);
  });

  it('gives a node started after the publication the retained rules, and a restarted node keeps them with the broker down', async () => {
    const store = await storeOf(kind);
    await store.start('box-a');
    await store.start('box-b');
    expect((await store.publish(rulesWith(2, [store.stolenToken]))).code).toBe(0);
    await untilHot(store, 'box-a');

    // box-c was not running when the rules were published: the broker's retained copy reaches it on connect.
    await store.start('box-c');
    await untilHot(store, 'box-c');
    expect((await store.status('box-c')).rules).toMatchObject({ version: 2, distributedVersion: 2 });

    // A restart with the broker gone: the rules come from rules-distributed.json, re-verified.
    await store.stop('box-c');
    await store.broker.kill();
    await store.start('box-c');
    expect(await store.probe('box-c')).toBe('05');
    const s = await store.status('box-c');
    expect(s.connected).toBe(false);
    expect(s.rules).toMatchObject({ version: 2, distributedVersion: 2 });
  });
});
