import type { EntryDraft } from '../../src/journal/index.js';

let counter = 0;

/** An approved offline authorization draft; override any field. */
export function authorizationDraft(overrides: Partial<EntryDraft> = {}): EntryDraft {
  counter++;
  return {
    kind: 'authorization',
    idempotencyKey: `key-${process.pid}-${counter}`,
    refSeq: null,
    lane: 'lane-1',
    reference: `ref-${counter}`,
    amountMinor: 1250,
    currency: 'EUR',
    cardToken: 'tok-abc',
    cardBin: '',
    cardLast4: '0002',
    sealedCard: new Uint8Array([1, 2, 3, 4]),
    decision: { approved: true, code: 'Y3', reason: 'approved offline', rule: 'approved', mode: 'offline' },
    ...overrides,
  };
}
