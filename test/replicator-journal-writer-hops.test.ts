import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../src/journal/entry.js';
import { coalescedNotify } from '../src/node/coalesced-notify.js';
import type { Timers } from '../src/platform/timers.js';
import { ExposureFeed, type PeerEntriesMessage } from '../src/replication/peers/exposure-feed.js';

/*
 * The two hops between the replicator and the journal writer, which a node runs across threads
 * and the simulation on its scheduler: the journal writer's "the journal grew" (once per turn) and
 * the peers' approvals it is fed (in order, retried while it restarts).
 */

/** Timers fired by hand, in the order they were set. */
function handTimers(): Timers & { fire(): void; readonly pending: number } {
  const due: (() => void)[] = [];
  return {
    setTimeout: (callback) => due.push(callback),
    clearTimeout: () => undefined,
    fire: () => {
      for (const callback of due.splice(0)) callback();
    },
    get pending() {
      return due.length;
    },
  };
}

function approval(origin: string, seq: number): JournalEntry {
  return {
    seq,
    nodeId: origin,
    kind: 'authorization',
    idempotencyKey: `${origin}-${seq}`,
    refSeq: null,
    lane: 'lane-1',
    reference: 'r',
    amountMinor: 100 * seq,
    currency: 'EUR',
    cardToken: `t${seq}`,
    cardBin: '',
    cardLast4: '0001',
    sealedCard: null,
    decision: { approved: true, code: 'Y3', reason: '', rule: '', mode: 'offline' },
    wallMs: 1_000,
    monoUs: 0,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  };
}

const flushed = () => new Promise((resolve) => setImmediate(resolve));

describe("the journal writer's word to the replicator", () => {
  it('is sent once per turn however many commits ask, and again in the next turn', () => {
    const turns = handTimers();
    let sent = 0;
    const notify = coalescedNotify(
      () => sent++,
      (run) => turns.setTimeout(run, 0),
    );
    notify();
    notify();
    notify();
    expect(sent).toBe(0);
    turns.fire();
    expect(sent).toBe(1);
    notify();
    turns.fire();
    expect(sent).toBe(2);
  });
});

describe("the peers' approvals fed to the journal writer", () => {
  it('arrive in order, and while the journal writer is away are kept and sent again on the timer', async () => {
    const timers = handTimers();
    const delivered: PeerEntriesMessage[] = [];
    let up = false;
    const feed = new ExposureFeed(
      async (message) => {
        if (!up) throw new Error('journal writer restarting');
        delivered.push(message);
      },
      undefined,
      timers,
    );
    feed.add([approval('box-2', 1)]);
    await flushed();
    feed.add([approval('box-2', 2), { ...approval('box-2', 3), decision: { ...approval('box-2', 3).decision, approved: false } }]);
    await flushed();
    expect(delivered).toEqual([]);
    expect(timers.pending).toBe(1);
    up = true;
    timers.fire();
    await flushed();
    // The decline counts in no card window: only the two approvals go, oldest first.
    expect(delivered.flatMap((m) => m.approvals.map((a) => a.seq))).toEqual([1, 2]);
  });

  it('sends nothing once stopped', async () => {
    const timers = handTimers();
    let calls = 0;
    const feed = new ExposureFeed(
      async () => {
        calls++;
        throw new Error('down');
      },
      undefined,
      timers,
    );
    feed.add([approval('box-2', 1)]);
    await flushed();
    feed.stop();
    timers.fire();
    await flushed();
    expect(calls).toBe(1);
  });
});
