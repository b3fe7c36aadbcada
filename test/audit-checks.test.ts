import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkNoCardNumbersAtRest } from '../src/audit/card-data-check.js';
import { type LedgerSale, type PosPayment, checkExposure, comparePayments } from '../src/audit/store-checks.js';
import { useTempDir } from './support/tmp.js';
import type { JournalEntry } from '../src/journal/entry.js';
import { authorizationDraft } from './support/drafts.js';

/*
 * The chaos run's verdict is only as good as its checks: each must flag the violation it exists
 * for, from fabricated evidence, and pass the honest case.
 */
const pos = (key: string, outcome: PosPayment['outcome'], amountMinor = 500): PosPayment => ({ node: 'box-1', key, amountMinor, outcome, code: null, mode: null, attempts: 1 });
const sale = (key: string, approved: boolean, posted: boolean, amountMinor = 500): LedgerSale => ({ origin: 'box-1', key, approved, result: posted ? 'settled' : 'recorded', reason: null, amountMinor, posted });
const verdicts = (results: { check: string; ok: boolean }[]) => Object.fromEntries(results.map((r) => [r.check.split(' ').slice(0, 4).join(' '), r.ok]));

describe('chaos checks: POS against the centre', () => {
  it('passes an approved payment posted once and a declined one recorded without money', () => {
    const results = comparePayments([pos('a', 'approved'), pos('b', 'declined')], [sale('a', true, true), sale('b', false, false)]);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it.each([
    ['an approved payment missing at the centre', [pos('a', 'approved')], [], 'every payment the POS'],
    ['an approved payment posted twice', [pos('a', 'approved')], [sale('a', true, true), sale('a', true, true)], 'every payment the POS'],
    ['an approved payment posted for another amount', [pos('a', 'approved', 500)], [sale('a', true, true, 600)], 'every payment the POS'],
    ['a declined payment that moved money', [pos('b', 'declined')], [sale('b', true, true)], 'no payment the POS'],
    ['a payment the lane ended without a decision that moved money', [pos('f', 'failed')], [sale('f', true, true)], 'no payment the POS'],
    ['a payment whose outcome the POS never learnt', [pos('c', 'unknown')], [], 'the POS knows the'],
    ['money the POS never asked for', [], [sale('z', true, true)], 'the centre posted no'],
  ])('flags %s', (_what, payments, sales, failing) => {
    const results = verdicts(comparePayments(payments, sales));
    expect(results[failing]).toBe(false);
    expect(Object.values(results).filter((ok) => !ok)).toHaveLength(1);
  });
});

describe('chaos checks: offline exposure per card', () => {
  const perCard = { maxCount: 2, maxAmountMinor: 10_000 };
  let seq = 0;
  const approval = (cardToken: string, amountMinor = 1_000, mode: 'offline' | 'online' = 'offline'): JournalEntry =>
    ({
      ...authorizationDraft({ cardToken, amountMinor, decision: { approved: true, code: 'Y3', reason: 'ok', rule: 'approved', mode } }),
      seq: ++seq,
      nodeId: 'x',
      wallMs: 0,
      monoUs: 0,
      prevHash: '',
      hash: '',
    }) as JournalEntry;

  it('holds each box to the limits and the store to boxes x limits, online approvals and voided ones aside', () => {
    const voided = approval('tok-1');
    const voids = { ...approval('tok-1'), kind: 'void', refSeq: voided.seq } as JournalEntry;
    const journals = new Map([
      ['box-1', [approval('tok-1'), approval('tok-1'), voided, voids, approval('tok-1', 1_000, 'online')]],
      ['box-2', [approval('tok-1'), approval('tok-1')]],
    ]);
    expect(checkExposure(journals, perCard)).toMatchObject({ ok: true });
  });

  it('flags a box past the count, and a box past the amount', () => {
    expect(checkExposure(new Map([['box-1', [approval('tok-2'), approval('tok-2'), approval('tok-2')]]]), perCard)).toMatchObject({ ok: false, detail: expect.stringContaining('3 approvals') });
    expect(checkExposure(new Map([['box-1', [approval('tok-3', 6_000), approval('tok-3', 6_000)]]]), perCard)).toMatchObject({ ok: false, detail: expect.stringContaining('12000') });
  });
});

describe('checks: no card number at rest (P7)', () => {
  const tempDir = useTempDir('edgepay-p7-');
  const even = '4000001234567899';
  const odd = '400000123456789';

  it('passes files holding only the BIN, the last four and sealed bytes', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'journal.db'), Buffer.concat([Buffer.from(`{"bin":"400000","last4":"7899"}`), Buffer.alloc(64, 0x5a)]));
    const result = checkNoCardNumbersAtRest([dir], new Set([even, odd]));
    expect(result).toMatchObject({ ok: true });
    expect(result.detail).toMatch(/2 card numbers read at the lanes, none in 1 files/);
  });

  it.each([
    ['as ASCII digits inside other digits', Buffer.from(`x=99${even}12;`, 'latin1'), even],
    ['as packed BCD', Buffer.concat([Buffer.from([0x5a, 0x08]), Buffer.from(even, 'hex'), Buffer.from([0x5f])]), even],
    ['as packed BCD, an odd count padded with F', Buffer.concat([Buffer.from([0x5a]), Buffer.from(`${odd}F`, 'hex')]), odd],
  ])('flags a card number %s, in a file below the root', (_how, bytes, pan) => {
    const dir = tempDir();
    mkdirSync(join(dir, 'lane-1'));
    writeFileSync(join(dir, 'lane-1', 'replicas.db-wal'), bytes);
    const result = checkNoCardNumbersAtRest([dir], new Set([pan]));
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(`replicas.db-wal: a card number ending ${pan.slice(-4)}`);
    expect(result.detail).not.toContain(pan);
  });
});
