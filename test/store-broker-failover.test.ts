import { describe, expect, it } from 'vitest';
import { checkStore } from '../src/audit/store-checks.js';
import { PosLoad, REQUEST_TIMEOUT_MS } from '../src/chaos/pos-load.js';
import { isAvailable } from '../src/chaos/pos-request.js';
import { peerHead } from '../src/rigs/store/store-node.js';
import type { StoreNode } from '../src/rigs/store/store-node.js';
import { journalHeadOf } from '../src/journal/journal-reader.js';
import { SeededRandom } from '../src/platform/random.js';
import { PER_CARD, startTwoBrokerStore } from './support/two-broker-store.js';
import { useTempDir } from './support/tmp.js';

/*
 * No single point of failure in a store (brokers/README.md, "Two brokers in a store"), against
 * real processes: the broker every node is on is SIGKILLed while the POS keeps paying at all three
 * lanes; payments go on untouched, and replication, quorum acknowledgement, shared exposure and
 * custody resume on the standby within bounds; the primary is healed and every node moves back;
 * each node request reaches the centre through exactly one bridge; and the store's audit checks
 * hold at the end.
 */

const tempDir = useTempDir('edgepay-ha-');
/** Bounds, from the targets and this machine (2 cores, 3 nodes, 4 brokers, PostgreSQL). */
const REPLICATION_RESUMED_WITHIN_MS = 5_000;
const FAILBACK_AFTER_SECONDS = 3;
const CUSTODY_AFTER_SECONDS = 4;

interface StatusBroker {
  readonly connected: boolean | null;
  readonly url: string | null;
  readonly onStandby: boolean | null;
  readonly failovers: number | null;
  readonly failbacks: number | null;
}

async function brokerOf(box: StoreNode): Promise<StatusBroker | undefined> {
  return fetch(`${box.statusUrl}/status.json`, { signal: AbortSignal.timeout(2_000) })
    .then(async (r) => ((await r.json()) as { broker: StatusBroker }).broker)
    .catch(() => undefined);
}

async function metricValue(box: StoreNode, series: string): Promise<number> {
  const text = await fetch(`${box.statusUrl}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

function journalHead(box: StoreNode): number {
  return journalHeadOf(box.journalPath, box.id);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Each ordered pair of running boxes: ms until `peer` holds an entry of `origin` past `fromSeq[origin]`. */
async function replicationResumed(boxes: readonly StoreNode[], fromSeq: ReadonlyMap<string, number>, startedMs: number, timeoutMs: number): Promise<number> {
  let worst = 0;
  await Promise.all(
    boxes.flatMap((origin) =>
      boxes
        .filter((peer) => peer !== origin)
        .map(async (peer) => {
          await until(`${peer.id} holding ${origin.id}'s entries past ${fromSeq.get(origin.id)}`, async () => ((await peerHead(peer.statusUrl, origin.id)) > fromSeq.get(origin.id)! ? true : undefined), timeoutMs);
          worst = Math.max(worst, Date.now() - startedMs);
        }),
    ),
  );
  return worst;
}

describe('a store with two brokers', () => {
  it('loses its primary broker under POS load: payments go on, the peers resume on the standby, fail back, and every check holds', async () => {
    const dir = tempDir();
    const store = await startTwoBrokerStore(dir, { failbackAfterSeconds: FAILBACK_AFTER_SECONDS, custodyAfterSeconds: CUSTODY_AFTER_SECONDS, quorumTimeoutMs: 1_000, seed: 7 });
    try {
      const { boxes, primary } = store;
      for (const box of boxes) {
        await until(`${box.id} on the primary`, async () => ((await brokerOf(box))?.connected === true ? true : undefined), 15_000);
        expect(await brokerOf(box)).toMatchObject({ url: primary.url, onStandby: false });
      }
      const pos = new PosLoad(boxes, new SeededRandom(7));
      pos.start();
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const quorumBefore = await Promise.all(boxes.map((b) => metricValue(b, 'edgepay_quorum_decisions_total{result="reached"}')));

      // 1. The primary broker dies (SIGKILL: no will, no goodbye, its queues gone with it).
      const headsAtKill = new Map(boxes.map((b) => [b.id, journalHead(b)]));
      const killedAt = Date.now();
      await primary.kill();
      const onStandbyMs = await until(
        'every box on the standby',
        async () => {
          const brokers = await Promise.all(boxes.map(brokerOf));
          return brokers.every((b) => b?.connected === true && b.onStandby === true) ? Date.now() - killedAt : undefined;
        },
        10_000,
      );
      const resumedMs = await replicationResumed(boxes, headsAtKill, killedAt, REPLICATION_RESUMED_WITHIN_MS + 5_000);
      expect(resumedMs).toBeLessThanOrEqual(REPLICATION_RESUMED_WITHIN_MS);
      // Quorum acknowledgement works again: decisions reach a majority of their peers through the standby.
      const quorumAfterFailover = await until(
        'quorum reached again on every box',
        async () => {
          const now = await Promise.all(boxes.map((b) => metricValue(b, 'edgepay_quorum_decisions_total{result="reached"}')));
          return now.every((n, i) => n > quorumBefore[i]! + 3) ? now : undefined;
        },
        10_000,
      );

      // 2. Custody on the standby: a box dies while the store runs on it; a live peer takes its
      // journal into custody and forwards it to the centre through the standby's bridge.
      const dead = boxes[2]!;
      await dead.kill();
      const custodyStarted = Date.now();
      // What its peers hold of it (an entry it journaled in the instant it died may have reached no one:
      // it stays on its own disk, and it forwards it itself when it is back).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const held = Math.max(...(await Promise.all(boxes.filter((b) => b !== dead).map((peer) => peerHead(peer.statusUrl, dead.id)))));
      expect(held).toBeGreaterThan(0);
      const custodian = await until(
        `a live peer taking ${dead.id} into custody`,
        async () => {
          const holders: string[] = [];
          for (const peer of boxes.filter((b) => b !== dead)) {
            const custody = await fetch(`${peer.statusUrl}/status.json`, { signal: AbortSignal.timeout(2_000) })
              .then(async (r) => ((await r.json()) as { custody: string[] }).custody)
              .catch((): string[] => []);
            if (custody.includes(dead.id)) holders.push(peer.id);
          }
          return holders.length > 0 ? holders : undefined;
        },
        CUSTODY_AFTER_SECONDS * 1_000 + 10_000,
      );
      // Rendezvous hashing: every live peer picks the same custodian without talking.
      expect(custodian).toHaveLength(1);
      await until(`the centre holding ${dead.id}'s journal up to ${held} through custody`, async () => ((await store.ledger.headOf(dead.id).catch(() => -1)) >= held ? true : undefined), 30_000);
      const custodyMs = Date.now() - custodyStarted;
      await dead.restart();

      // 3. Heal: the primary comes back; every box moves back once it has answered for failbackAfterSeconds.
      const healedAt = Date.now();
      await primary.start();
      const failbackMs = await until(
        'every box back on the primary',
        async () => {
          const brokers = await Promise.all(boxes.map(brokerOf));
          return brokers.every((b) => b?.connected === true && b.onStandby === false) ? Date.now() - healedAt : undefined;
        },
        30_000,
      );
      expect(failbackMs).toBeGreaterThanOrEqual(FAILBACK_AFTER_SECONDS * 1_000);
      const headsAtFailback = new Map(boxes.map((b) => [b.id, journalHead(b)]));
      const resumedAfterFailbackMs = await replicationResumed(boxes, headsAtFailback, Date.now(), 10_000);
      for (const box of boxes) expect((await brokerOf(box))?.failbacks).toBeGreaterThanOrEqual(1);

      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await pos.stop();

      // The POS's side: every request around the broker's death was answered with a durable
      // decision within its timeout (offline authorization never waits on a broker).
      const aroundKill = pos.requests.filter((r) => r.sentMs >= killedAt - 1_000 && r.sentMs <= killedAt + 10_000 && r.box !== dead.id);
      const served = aroundKill.filter((r) => isAvailable(r, REQUEST_TIMEOUT_MS));
      expect(aroundKill.length).toBeGreaterThan(10);
      expect(served.length, JSON.stringify(aroundKill.filter((r) => !isAvailable(r, REQUEST_TIMEOUT_MS)).slice(0, 5))).toBe(aroundKill.length);
      const latencies = (rs: typeof pos.requests) => rs.map((r) => r.latencyMs).sort((a, b) => a - b);
      const p99 = (values: number[]) => values[Math.min(values.length - 1, Math.floor(values.length * 0.99))] ?? 0;
      const before = latencies(pos.requests.filter((r) => r.sentMs < killedAt - 1_000));
      const during = latencies(aroundKill);

      // Each node request crossed into the centre's broker through one bridge only: a copy arrives
      // twice only when a publish was in flight as its broker died or as the node moved back (MQTT
      // at-least-once), never in the steady state on either broker.
      const copies = new Map<string, number[]>();
      for (const message of store.requestsAtCentre) copies.set(message.payload, [...(copies.get(message.payload) ?? []), message.atMs]);
      const duplicated = [...copies.values()].filter((times) => times.length > 1);
      const nearAMove = (atMs: number) => Math.abs(atMs - killedAt) < 5_000 || (atMs >= healedAt && atMs <= healedAt + failbackMs + 5_000);
      expect(duplicated.filter((times) => !nearAMove(times[0]!))).toEqual([]);
      expect(store.requestsAtCentre.length).toBeGreaterThan(0);

      // 4. Settle, converge and audit.
      await pos.settle(Date.now() + 20_000);
      await until(
        'every peer and the centre holding every journal',
        async () => {
          for (const box of boxes) {
            const head = journalHead(box);
            if ((await store.ledger.headOf(box.id).catch(() => -1)) < head) return undefined;
            for (const peer of boxes) if (peer !== box && (await peerHead(peer.statusUrl, box.id)) < head) return undefined;
          }
          return true;
        },
        30_000,
      );
      for (const box of boxes) await box.stop();
      const checks = await checkStore({
        nodes: boxes.map((b) => ({ id: b.id, journalPath: b.journalPath, replicasPath: store.replicasPath(b) })),
        ledger: store.ledger,
        databaseUrl: store.database.url,
        payments: [...pos.payments.values()],
        perCard: PER_CARD,
      });
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      console.log(
        JSON.stringify({
          onStandbyMs,
          replicationResumedMs: resumedMs,
          quorumReachedAfterFailover: quorumAfterFailover.map((n, i) => n - quorumBefore[i]!),
          custodian: custodian[0],
          custodyToCentreMs: custodyMs,
          failbackMs,
          replicationAfterFailbackMs: resumedAfterFailbackMs,
          pos: {
            tally: pos.tally(),
            aroundKill: aroundKill.length,
            servedAroundKill: served.length,
            p50Before: before[Math.floor(before.length / 2)],
            p99Before: p99(before),
            p50AroundKill: during[Math.floor(during.length / 2)],
            p99AroundKill: p99(during),
          },
          requestsAtCentre: store.requestsAtCentre.length,
          duplicatedAtCentre: duplicated.length,
          checks: checks.length,
        }),
      );
    } finally {
      await store.close();
    }
  }, 180_000);
});
