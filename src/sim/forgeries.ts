import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { entryHash } from '../journal/canonical.js';
import { sealEntry, withHash } from '../journal/entry-builder.js';
import type { JournalEntry } from '../journal/entry.js';
import type { Clock } from '../platform/clock.js';
import { type RandomSource, pick } from '../platform/random.js';
import { sealEnvelope } from '../wire/envelope.js';
import type { StoreTopics } from '../wire/topics.js';

export const FORGERY_KINDS = ['wrong-key', 'tampered', 'unknown-origin'] as const;
export type ForgeryKind = (typeof FORGERY_KINDS)[number];

/** What an intruder on the store's network can send (P8): it has no node's key. */
export interface Forgery {
  readonly kind: ForgeryKind;
  readonly topic: string;
  /** The fleet's node whose own journal topic it uses; null for an outsider's topic. */
  readonly owner: string | null;
  readonly payload: Buffer;
}

const intruder: KeyObject = generateKeyPairSync('ed25519').privateKey;

/**
 * A forged message about `origin`, whose latest entry is `last` (null before its first):
 * the next entry in its name signed with the intruder's key; a real entry of it, properly
 * signed, with its amount changed afterwards; or an entry of a node the fleet does not know.
 */
export function forge(random: RandomSource, topics: StoreTopics, clock: Clock, origin: string, originKey: KeyObject, last: JournalEntry | null): Forgery {
  const kind = pick(random, FORGERY_KINDS);
  const draft = {
    kind: 'authorization' as const,
    idempotencyKey: `forged-${random.int(1_000_000_000)}`,
    refSeq: null,
    lane: 'lane-x',
    reference: null,
    amountMinor: 1 + random.int(9_000),
    currency: 'EUR',
    cardToken: 'forged-token',
    cardBin: '',
    cardLast4: '0000',
    sealedCard: null,
    decision: { approved: true, code: 'Y3', reason: 'approved offline', rule: 'approved', mode: 'offline' as const },
  };
  const entryAfter = (node: string, previous: JournalEntry | null): JournalEntry => {
    const fields = sealEntry(draft, (previous?.seq ?? 0) + 1, node, clock, previous?.hash ?? '0'.repeat(64));
    return withHash(fields, entryHash(fields));
  };
  switch (kind) {
    case 'wrong-key':
      return { kind, topic: topics.journal(origin), owner: origin, payload: sealEnvelope(entryAfter(origin, last), intruder) };
    case 'tampered': {
      // The origin's own signature over its real entry, the amount raised in transit.
      const real = last ?? entryAfter(origin, null);
      const json = JSON.parse(sealEnvelope(real, originKey).toString('utf8')) as { entry: { amountMinor: number } };
      json.entry.amountMinor += 1 + random.int(100_000);
      return { kind, topic: topics.journal(origin), owner: origin, payload: Buffer.from(JSON.stringify(json), 'utf8') };
    }
    case 'unknown-origin':
      return { kind, topic: topics.journal('mallory'), owner: null, payload: sealEnvelope(entryAfter('mallory', null), intruder) };
  }
}
