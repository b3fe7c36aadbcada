import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCardKeys, tokenizePan, withLuhnDigit } from '../src/card/index.js';
import { Journal } from '../src/journal/index.js';
import { type NodeConfig, journalPathOf } from '../src/config/node-config.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { ManualClock } from '../src/platform/clock.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { startBroker } from './support/brokers.js';
import { newNodeConfigIn, nodeConfigIn } from './support/node.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** box-a is honest; box-x is compromised: its disk, its signing key and its broker password are the attacker's. */
const NODES = ['box-a', 'box-x'];
const TEN_YEARS_MS = 10 * 365 * 24 * 3_600_000;
/** The default rules: at most 3 offline approvals and EUR 150 per card per day, EUR 50 per payment. */
const CARD_LIMIT_MINOR = 15_000;

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

/**
 * What the attacker writes into box-x's own journal before its node publishes it: approvals no
 * honest node could have taken, each signed and chained like any other. `at` dates each one.
 */
function forgeApprovals(config: NodeConfig, approvals: readonly { pan: string; amountMinor: number; at: number }[]): void {
  const { tokenKey } = loadCardKeys(config.keys);
  const clock = new ManualClock(Date.now());
  const journal = Journal.open({ path: journalPathOf(config), nodeId: config.nodeId, clock });
  try {
    journal.writeBatch((writer) => {
      approvals.forEach((a, i) => {
        clock.setWallMs(a.at);
        writer.appendOrFind({
          kind: 'authorization',
          idempotencyKey: `forged-${i}`,
          refSeq: null,
          lane: null,
          reference: null,
          amountMinor: a.amountMinor,
          currency: 'EUR',
          cardToken: tokenizePan(a.pan, tokenKey),
          cardBin: '',
          cardLast4: a.pan.slice(-4),
          sealedCard: null,
          decision: { approved: true, code: 'Y3', reason: 'approved offline', rule: 'approved', mode: 'offline' },
        });
      });
    });
  } finally {
    journal.close();
  }
}

describe('peer approvals are plausible or ignored (a real Mosquitto, a compromised box with its own valid key)', () => {
  it('an honest box still approves a small payment for a card the compromised box claims to have spent, and raises the alert', async () => {
    const dir = tempDir();
    const users = Object.fromEntries(NODES.map((n) => [n, `pw-${n}`]));
    const broker = await startBroker('mosquitto', dir, users, { fleet: 'fleet-1', store: 'store-7' });
    cleanups.push(() => broker.stop());
    const keys = provisionNodeKeys(join(dir, 'keys'), NODES);
    // One token key for the whole store: a card has one token on every box, the attacker's too.
    const shared = await nodeConfigIn(tempDir());
    const configs = new Map<string, NodeConfig>();
    for (const nodeId of NODES) {
      writeFileSync(join(dir, `${nodeId}.password`), users[nodeId]!);
      configs.set(
        nodeId,
        await newNodeConfigIn(tempDir(), {
          nodeId,
          dataDir: join(dir, nodeId, 'data'),
          keys: shared.keys,
          replication: {
            fleet: 'fleet-1',
            store: 'store-7',
            brokerUrl: broker.url,
            username: nodeId,
            passwordFile: join(dir, `${nodeId}.password`),
            signingKeyFile: keys.find((k) => k.nodeId === nodeId)!.signingKeyFile,
            peers: peersOf(nodeId, keys),
          },
        }),
      );
    }

    const now = Date.now();
    const victim = card(42);
    const spent = card(43);
    forgeApprovals(configs.get('box-x')!, [
      // Four approvals of the whole per-card limit, dated now: more than any one box may take.
      ...[0, 1, 2, 3].map(() => ({ pan: victim.pan, amountMinor: CARD_LIMIT_MINOR, at: now })),
      // The same, dated ten years ahead: counted, they would block the card for ten years.
      ...[0, 1, 2, 3].map((i) => ({ pan: victim.pan, amountMinor: CARD_LIMIT_MINOR, at: now + TEN_YEARS_MS + i })),
      // What a box may do, even a compromised one: spend one card's limit, once.
      { pan: spent.pan, amountMinor: CARD_LIMIT_MINOR, at: now },
    ]);

    const registry = new Registry();
    const honest = await NodeRuntime.start({ config: configs.get('box-a')!, registry });
    cleanups.push(() => honest.stop());
    const compromised = await NodeRuntime.start({ config: configs.get('box-x')!, registry: new Registry() });
    cleanups.push(() => compromised.stop());

    // The forged entries are validly signed and chained: the honest box stores all nine.
    await eventually(
      async () => {
        const status = await honest.ask('replicator', { type: 'status' });
        return status.origins.find((o) => o.origin === 'box-x')?.headSeq === 9 ? true : undefined;
      },
      15_000,
      "box-x's journal to reach box-a",
    );
    // ...and its journal writer has them in hand, judged implausible, before the payments below.
    await eventually(
      async () => {
        const { peerApprovalsIgnored: ignored } = await honest.ask('journal-writer', { type: 'exposure' });
        return ignored.future >= 4 && ignored.over_limit >= 4 ? true : undefined;
      },
      10_000,
      "box-x's approvals to reach box-a's journal writer",
    );

    const small = await honest.pay({ idempotencyKey: 'a-victim', amountMinor: 500, currency: 'EUR', card: victim });
    expect(small.decision).toMatchObject({ approved: true, code: 'Y3', mode: 'offline' });
    // A plausible claim still counts: the card box-x spent within its limits is declined here.
    const other = await honest.pay({ idempotencyKey: 'a-spent', amountMinor: 500, currency: 'EUR', card: spent });
    expect(other.decision).toMatchObject({ approved: false, code: '61', rule: 'card_amount' });

    // The alert: every forged approval counted, by reason (a redelivered entry may count again, never less).
    const metrics = await registry.metrics();
    const ignored = (reason: string) => Number(new RegExp(`^edgepay_peer_approvals_ignored_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(ignored('future')).toBeGreaterThanOrEqual(4);
    expect(ignored('over_limit')).toBeGreaterThanOrEqual(4);
  });
});
