import type { Centre } from '../central/centre.js';
import type { BatchAnswer } from '../central/centre.js';
import { type RandomSource, between } from '../platform/random.js';
import type { CentreLink } from '../reconcile/uplink.js';
import type { ForwardBatch } from '../central/batch.js';
import type { SimScheduler } from './scheduler.js';

export interface CentreLinkFates {
  /** Chance a batch never reaches the centre, and chance its answer never comes back (taken, not known). */
  readonly lostRequest: number;
  readonly lostAnswer: number;
  readonly maxDelayMs: number;
  /** A node waits this long for an answer before it gives up on the batch. */
  readonly timeoutMs: number;
}

/**
 * A node's uplink to the real centre (its real ledger), through simulated time: batches and
 * answers take a hop each, either may be lost, and a node whose uplink is cut reaches nothing. A
 * lost answer leaves a batch applied but unknown to the node, which sends it again.
 */
export function simCentreLink(node: string, scheduler: SimScheduler, random: RandomSource, centre: Centre, cut: ReadonlySet<string>, fates: CentreLinkFates): CentreLink {
  const chance = (p: number): boolean => random.int(1_000_000) / 1_000_000 < p;
  return {
    send: (batch: ForwardBatch) =>
      new Promise<BatchAnswer>((resolve, reject) => {
        const giveUp = (): void => {
          scheduler.after(fates.timeoutMs, () => reject(new Error(`${node}: no answer from the centre`)));
        };
        if (cut.has(node) || chance(fates.lostRequest)) return giveUp();
        scheduler.after(between(random, 0, fates.maxDelayMs), async () => {
          let answer: BatchAnswer;
          try {
            answer = await centre.ingest(batch);
          } catch (error) {
            scheduler.after(between(random, 0, fates.maxDelayMs), () => reject(error));
            return;
          }
          if (cut.has(node) || chance(fates.lostAnswer)) return giveUp();
          scheduler.after(between(random, 0, fates.maxDelayMs), () => resolve(answer));
        });
      }),
  };
}
