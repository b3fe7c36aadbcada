import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { custodianOf, custodyOf } from '../src/replication/peers/custody.js';

const ids = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), { minLength: 2, maxLength: 8 });

describe('custody by rendezvous hashing', () => {
  it('every peer computes the same custodian, and it is one of the live peers', () => {
    fc.assert(
      fc.property(ids, (nodes) => {
        const [silent, ...live] = nodes as [string, ...string[]];
        const answers = live.map(() => custodianOf(silent, [...live].reverse()));
        expect(new Set(answers).size).toBe(1);
        expect(live).toContain(answers[0]);
      }),
    );
  });

  it('a peer joining or leaving moves custody only when the custodian itself left or the newcomer wins', () => {
    fc.assert(
      fc.property(ids, fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), (nodes, newcomer) => {
        const [silent, ...live] = nodes as [string, ...string[]];
        fc.pre(!nodes.includes(newcomer));
        const before = custodianOf(silent, live)!;
        const after = custodianOf(silent, [...live, newcomer])!;
        expect([before, newcomer]).toContain(after);
        const someoneElse = live.find((n) => n !== before);
        if (someoneElse !== undefined)
          expect(
            custodianOf(
              silent,
              live.filter((n) => n !== someoneElse),
            ),
          ).toBe(before);
      }),
    );
  });

  it('exactly one live node takes each silent node past the deadline, none before it', () => {
    const lastSeenMs = new Map([
      ['a', 1_000],
      ['b', 1_000],
      ['c', 1_000],
      ['dead', 0],
    ]);
    const view = { lastSeenMs };
    const holders = ['a', 'b', 'c'].filter((self) => custodyOf(self, view, 1_000, 5_000).includes('dead'));
    expect(holders).toEqual([]);
    const later = ['a', 'b', 'c'].map((self) => custodyOf(self, view, 5_001, 5_000));
    expect(later.flat()).toEqual(['dead']);
    // A live peer is never taken into custody.
    expect(['a', 'b', 'c'].flatMap((self) => custodyOf(self, view, 5_001, 5_000))).not.toContain('a');
  });
});

describe('liveness and custody on one node', () => {
  it('takes custody of a peer silent past the deadline, and gives it back when the peer speaks again', async () => {
    const { Liveness } = await import('../src/replication/peers/liveness.js');
    const views = ['a', 'b', 'c'].map(
      (self) =>
        new Liveness(
          self,
          ['a', 'b', 'c'].filter((n) => n !== self),
          0,
        ),
    );
    for (const view of views) for (const peer of ['a', 'b', 'c']) view.heard(peer, 1_000);
    for (const view of views) {
      view.heard('a', 9_000);
      view.heard('b', 9_000);
    }
    const custodians = views.map((v, i) => (['a', 'b', 'c'][i] === 'c' ? [] : v.custody(10_000, 5_000)));
    expect(custodians.flat()).toEqual(['c']);
    for (const view of views) view.heard('c', 10_500);
    expect(views.flatMap((v) => v.custody(11_000, 5_000))).toEqual([]);
  });
});
