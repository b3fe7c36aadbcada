import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyChain, type JournalEntry } from '../src/journal/index.js';
import { rebuildExposure } from '../src/standin/index.js';
import { cardFacts } from './support/cards.js';
import { openStandIn, rulesWith } from './support/stand-in.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

const WINDOW_MINUTES = 60;
const rules = rulesWith((c) => {
  c.perCard.windowMinutes = WINDOW_MINUTES;
  c.perCard.maxCount = 3;
  c.perCard.maxAmountMinor = { EUR: 9_000, USD: 9_000, GBP: 9_000 };
  c.currencies.EUR!.floorLimitMinor = 5_000;
  c.node.maxStoredCount = 25;
});

type Step =
  | { type: 'pay'; card: number; amountMinor: number; currency: 'EUR' | 'GBP'; concurrent: number }
  | { type: 'retry'; pick: number }
  | { type: 'void'; pick: number }
  | { type: 'advance'; minutes: number }
  | { type: 'forward'; pick: number }
  | { type: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('pay' as const),
      card: fc.nat(5),
      amountMinor: fc.integer({ min: 1, max: 6_000 }),
      currency: fc.constantFrom('EUR' as const, 'GBP' as const),
      concurrent: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('retry' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('void' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('advance' as const), minutes: fc.integer({ min: 1, max: 90 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('forward' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('restart' as const) }) },
);

/** Offline approvals of one card still counting (not voided) within any window ending at an approval. */
function worstWindow(entries: readonly JournalEntry[], token: string, currency: string): { count: number; amountMinor: number } {
  const voided = new Set(entries.filter((e) => e.kind === 'void' && e.decision.approved).map((e) => e.refSeq));
  const approvals = entries.filter((e) => e.kind === 'authorization' && e.decision.approved && e.cardToken === token && !voided.has(e.seq));
  let worst = { count: 0, amountMinor: 0 };
  for (const end of approvals) {
    const inWindow = approvals.filter((e) => e.wallMs <= end.wallMs && e.wallMs >= end.wallMs - WINDOW_MINUTES * 60_000 && e.seq <= end.seq);
    const amountMinor = inWindow.filter((e) => e.currency === currency).reduce((sum, e) => sum + e.amountMinor, 0);
    worst = { count: Math.max(worst.count, inWindow.length), amountMinor: Math.max(worst.amountMinor, amountMinor) };
  }
  return worst;
}

describe('stand-in properties over random request sequences (real journal)', () => {
  it('per-card exposure stays within limits, retries are idempotent, the chain verifies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 60 }), async (steps) => {
        const node = openStandIn(tempDir(), rules);
        const sent: { request: Parameters<typeof node.standIn.authorize>[0] & { idempotencyKey: string }; seq: number; code: string }[] = [];
        let serial = 0;
        try {
          for (const s of steps) {
            if (s.type === 'pay') {
              const requests = Array.from({ length: s.concurrent }, () => ({
                idempotencyKey: `p${serial++}`,
                amountMinor: s.amountMinor,
                currency: s.currency,
                card: cardFacts(s.card),
              }));
              const outcomes = await Promise.all(requests.map((r) => node.standIn.authorize(r)));
              outcomes.forEach((o, i) => {
                expect(o.entry).not.toBeNull();
                sent.push({ request: requests[i]!, seq: o.entry!.seq, code: o.decision.code });
              });
            } else if (s.type === 'retry' && sent.length > 0) {
              const original = sent[s.pick % sent.length]!;
              const again = await node.standIn.authorize(original.request);
              expect(again.replayed).toBe(true);
              expect(again.entry!.seq).toBe(original.seq);
              expect(again.decision.code).toBe(original.code);
            } else if (s.type === 'void' && sent.length > 0) {
              const original = sent[s.pick % sent.length]!;
              await node.standIn.followUp({ kind: 'void', idempotencyKey: `v${serial++}`, originalIdempotencyKey: original.request.idempotencyKey });
            } else if (s.type === 'advance') {
              node.clock.advance(s.minutes * 60_000);
            } else if (s.type === 'forward' && sent.length > 0) {
              // The centre acknowledges everything up to some entry, as an uplink batch would.
              const upTo = sent[s.pick % sent.length]!.seq;
              node.standIn.markForwarded(sent.filter((x) => x.seq <= upTo).map((x) => x.seq));
            } else if (s.type === 'restart') {
              node.restart();
            }
          }
          const entries = [...node.journal.entries()];
          for (let card = 0; card <= 5; card++) {
            for (const currency of ['EUR', 'GBP']) {
              const worst = worstWindow(entries, cardFacts(card).token, currency);
              expect(worst.count).toBeLessThanOrEqual(3);
              expect(worst.amountMinor).toBeLessThanOrEqual(9_000);
            }
          }
          const voided = new Set(entries.filter((e) => e.kind === 'void' && e.decision.approved).map((e) => e.refSeq));
          const approvedStored = entries.filter((e) => e.kind === 'authorization' && e.decision.approved && !voided.has(e.seq)).length;
          expect(approvedStored).toBeLessThanOrEqual(25);
          expect(verifyChain(node.journal.connection(), { nodeId: 'node-test' }).ok).toBe(true);
          // What a restart rebuilds from the journal is what the running node had in memory.
          const live = node.standIn.exposureView();
          const now = node.clock.wallMs();
          const rebuilt = rebuildExposure(node.journal, rules, now);
          const since = now - WINDOW_MINUTES * 60_000;
          for (let card = 0; card <= 5; card++) {
            for (const currency of ['EUR', 'GBP']) {
              expect(rebuilt.cardWindow(cardFacts(card).token, currency, since)).toEqual(live.cardWindow(cardFacts(card).token, currency, since));
            }
          }
          for (const currency of ['EUR', 'GBP']) expect(rebuilt.nodeStored(currency)).toEqual(live.nodeStored(currency));
          expect(rebuilt.oldestUnforwardedWallMs()).toBe(live.oldestUnforwardedWallMs());
          expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
        } finally {
          node.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
