import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { defaultRules } from '../src/authorize/index.js';
import { verifyChain } from '../src/journal/index.js';
import { cardFacts } from './support/cards.js';
import { DAY_START_MS, openStandIn, rulesWith } from './support/stand-in.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

const pay = (key: string, card: number, amountMinor = 1000, currency = 'EUR') => ({
  idempotencyKey: key,
  amountMinor,
  currency,
  card: cardFacts(card),
  lane: 'lane-1',
});

describe('stand-in authorization through the journal', () => {
  it('answers only after the entry can be read by another connection (durable before acknowledged)', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    const other = new Database(node.path, { readonly: true });
    const outcome = await node.standIn.authorize(pay('k1', 1));
    const row = other.prepare('SELECT seq, decision_code FROM entries WHERE idempotency_key = ?').get('k1');
    expect(row).toEqual({ seq: outcome.entry!.seq, decision_code: 'Y3' });
    other.close();
    node.close();
  });

  it('commits concurrent requests in far fewer transactions than requests', async () => {
    const node = openStandIn(
      tempDir(),
      rulesWith((c) => (c.node.maxStoredCount = 10_000)),
    );
    const writeBatch = vi.spyOn(node.journal, 'writeBatch');
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => node.standIn.authorize(pay(`k${i}`, i))));
    expect(outcomes.every((o) => o.entry !== null)).toBe(true);
    expect(new Set(outcomes.map((o) => o.entry!.seq)).size).toBe(200);
    expect(writeBatch.mock.calls.length).toBeLessThanOrEqual(4);
    expect(verifyChain(node.journal.connection()).ok).toBe(true);
    node.close();
  });

  it('returns the original decision for a retried key and writes nothing', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    const first = await node.standIn.authorize(pay('retry-me', 1));
    const head = node.journal.chainHead();
    node.clock.advance(60_000);
    const again = await node.standIn.authorize(pay('retry-me', 1));
    expect(again.replayed).toBe(true);
    expect(again.entry).toEqual(first.entry);
    expect(again.decision).toEqual(first.decision);
    expect(node.journal.chainHead()).toEqual(head);
    node.close();
  });

  it('answers a declined request the same way when it is retried, even after the rules change', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    const declined = await node.standIn.authorize(pay('too-big', 1, 9_999_999));
    expect(declined.decision).toMatchObject({ approved: false, code: 'Z3', rule: 'floor_limit' });
    node.standIn.setRules(rulesWith((c) => (c.currencies.EUR!.floorLimitMinor = 100_000_000)));
    const again = await node.standIn.authorize(pay('too-big', 1, 9_999_999));
    expect(again).toMatchObject({ replayed: true, decision: declined.decision });
    node.close();
  });

  it('treats two concurrent requests with one key as one payment', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    const [a, b] = await Promise.all([node.standIn.authorize(pay('twin', 1)), node.standIn.authorize(pay('twin', 1))]);
    expect(a!.entry!.seq).toBe(b!.entry!.seq);
    expect([a!.replayed, b!.replayed].sort()).toEqual([false, true]);
    expect(node.journal.chainHead().seq).toBe(1);
    node.close();
  });

  it.each([
    ['amount', pay('dup', 1, 1001), /amountMinor 1000 vs 1001/],
    ['card', pay('dup', 2), /different card/],
    ['currency', pay('dup', 1, 1000, 'GBP'), /currency EUR vs GBP/],
  ])('refuses a reused key with a different %s as a typed conflict, never a second authorization', async (_what, request, message) => {
    const node = openStandIn(tempDir(), defaultRules());
    await node.standIn.authorize(pay('dup', 1));
    await expect(node.standIn.authorize(request)).rejects.toMatchObject({ code: 'EDGEPAY_IDEMPOTENCY_CONFLICT', message: expect.stringMatching(message) });
    expect(node.journal.chainHead().seq).toBe(1);
    node.close();
  });

  it('names every bad field of a malformed request', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    const bad = { idempotencyKey: '', amountMinor: 12.5, currency: 'EURO', card: { ...cardFacts(1), last4: '12' }, extra: true };
    const error = await node.standIn.authorize(bad).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
    const paths = (error as { problems: { path: string }[] }).problems.map((p) => p.path).sort();
    expect(paths).toEqual(['', 'amountMinor', 'card.last4', 'currency', 'idempotencyKey']);
    expect(node.journal.chainHead().seq).toBe(0);
    node.close();
  });

  it('rebuilds per-card exposure from the journal after a restart', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    for (let i = 0; i < 3; i++) {
      expect((await node.standIn.authorize(pay(`c${i}`, 7))).decision.code).toBe('Y3');
      node.clock.advance(60_000);
    }
    node.restart();
    const fourth = await node.standIn.authorize(pay('c3', 7));
    expect(fourth.decision).toMatchObject({ approved: false, code: '65', rule: 'card_count' });
    node.clock.advance(24 * 3_600_000);
    node.restart();
    expect((await node.standIn.authorize(pay('c4', 7))).decision.code).toBe('Y3');
    node.close();
  });

  it('counts peers of a card across lanes as one card: the limit is per card, not per lane', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    const codes = [];
    for (let lane = 1; lane <= 4; lane++) {
      codes.push((await node.standIn.authorize({ ...pay(`lane${lane}`, 9), lane: `lane-${lane}` })).decision.code);
    }
    expect(codes).toEqual(['Y3', 'Y3', 'Y3', '65']);
    node.close();
  });

  it("a void releases the card's exposure, survives a restart, and cannot be repeated", async () => {
    const node = openStandIn(tempDir(), defaultRules());
    for (let i = 0; i < 3; i++) await node.standIn.authorize(pay(`v${i}`, 3));
    const voided = await node.standIn.followUp({ kind: 'void', idempotencyKey: 'void-1', originalIdempotencyKey: 'v0' });
    expect(voided.decision).toMatchObject({ approved: true, code: '00', rule: 'follow_up' });
    expect(voided.entry).toMatchObject({ kind: 'void', refSeq: 1, amountMinor: 1000, cardToken: cardFacts(3).token, sealedCard: null });
    node.restart();
    expect((await node.standIn.authorize(pay('v3', 3))).decision.code).toBe('Y3');
    const twice = await node.standIn.followUp({ kind: 'void', idempotencyKey: 'void-2', originalIdempotencyKey: 'v0' });
    expect(twice.decision.approved).toBe(false);
    const replay = await node.standIn.followUp({ kind: 'void', idempotencyKey: 'void-1', originalIdempotencyKey: 'v0' });
    expect(replay.replayed).toBe(true);
    node.close();
  });

  it('refunds up to the original amount and no further', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    await node.standIn.authorize(pay('r0', 4, 3000));
    const refund = (key: string, amountMinor: number) => node.standIn.followUp({ kind: 'refund', idempotencyKey: key, originalIdempotencyKey: 'r0', amountMinor });
    expect((await refund('rf1', 2000)).decision.approved).toBe(true);
    expect((await refund('rf2', 1000)).decision.approved).toBe(true);
    expect((await refund('rf3', 1)).decision.approved).toBe(false);
    node.close();
  });

  it('refuses a follow-up of an unknown payment with the field named', async () => {
    const node = openStandIn(tempDir(), defaultRules());
    await expect(node.standIn.followUp({ kind: 'void', idempotencyKey: 'v', originalIdempotencyKey: 'nope' })).rejects.toMatchObject({
      code: 'EDGEPAY_NOT_FOUND',
      message: expect.stringContaining('originalIdempotencyKey'),
    });
    node.close();
  });

  it('forwarded entries stop counting toward the node cap, also after a restart', async () => {
    const node = openStandIn(
      tempDir(),
      rulesWith((c) => (c.node.maxStoredCount = 2)),
    );
    const a = await node.standIn.authorize(pay('n1', 1));
    await node.standIn.authorize(pay('n2', 2));
    expect((await node.standIn.authorize(pay('n3', 3))).decision.rule).toBe('node_count');
    node.standIn.markForwarded([a.entry!.seq]);
    node.restart(rulesWith((c) => (c.node.maxStoredCount = 2)));
    expect((await node.standIn.authorize(pay('n4', 4))).decision.code).toBe('Y3');
    node.close();
  });

  it('stops approving offline once the oldest unforwarded entry passes the forward deadline', async () => {
    const node = openStandIn(
      tempDir(),
      rulesWith((c) => (c.node.forwardDeadlineHours = 2)),
    );
    await node.standIn.authorize(pay('d1', 1));
    node.clock.advance(2 * 3_600_000);
    expect((await node.standIn.authorize(pay('d2', 2))).decision.code).toBe('Y3');
    node.clock.advance(1);
    expect((await node.standIn.authorize(pay('d3', 3))).decision).toMatchObject({ code: 'Z3', rule: 'forward_deadline' });
    expect(node.clock.wallMs()).toBe(DAY_START_MS + 2 * 3_600_000 + 1);
    node.close();
  });

  it('checkpoints the WAL between payments once enough commits wait', async () => {
    const node = openStandIn(
      tempDir(),
      rulesWith((c) => (c.node.maxStoredCount = 10_000)),
    );
    const checkpoint = vi.spyOn(node.journal, 'checkpoint');
    for (let i = 0; i < 8; i++) await node.standIn.authorize(pay(`few${i}`, i));
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Too few commits to be worth two fsyncs.
    expect(checkpoint).not.toHaveBeenCalled();
    for (let i = 0; i < 40; i++) await node.standIn.authorize(pay(`many${i}`, 100 + i));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(checkpoint).toHaveBeenCalledTimes(1);
    expect(node.journal.uncheckpointedCommits).toBe(0);
    expect(verifyChain(node.journal.connection()).ok).toBe(true);
    node.close();
  });
});
