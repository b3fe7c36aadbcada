import { describe, expect, it } from 'vitest';
import { QuorumTracker } from '../src/replication/peers/quorum.js';

describe('quorum acknowledgement tracker', () => {
  it('ends the wait as soon as more than half of the reachable peers hold the entry', async () => {
    const quorum = new QuorumTracker();
    const waiting = quorum.wait(5, ['b', 'c', 'd'], 1_000);
    quorum.recordAck('b', 5);
    quorum.recordAck('x', 9);
    quorum.recordAck('c', 7);
    await expect(waiting).resolves.toMatchObject({ reached: true, held: 2, reachable: 3, needed: 2 });
  });

  it('answers at once when the quorum is already there, and goes local-only at the timeout', async () => {
    const quorum = new QuorumTracker();
    quorum.recordAck('b', 3);
    await expect(quorum.wait(3, ['b'], 1_000)).resolves.toMatchObject({ reached: true, waitedMs: 0 });
    const result = await quorum.wait(4, ['b', 'c'], 30);
    expect(result).toMatchObject({ reached: false, held: 0, needed: 2 });
    expect(result.waitedMs).toBeGreaterThanOrEqual(25);
  });

  it('with no reachable peer there is nobody to wait for: local-only at once', async () => {
    await expect(new QuorumTracker().wait(1, [], 1_000)).resolves.toMatchObject({ reached: false, reachable: 0 });
  });

  it('acks never move backwards, and close() ends every wait', async () => {
    const quorum = new QuorumTracker();
    quorum.recordAck('b', 10);
    quorum.recordAck('b', 4);
    expect(quorum.heldBy('b')).toBe(10);
    const waiting = quorum.wait(11, ['b', 'c'], 10_000);
    quorum.close();
    await expect(waiting).resolves.toMatchObject({ reached: false });
  });
});
