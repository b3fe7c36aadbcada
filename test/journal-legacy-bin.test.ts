import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenizePan, withLuhnDigit } from '../src/card/index.js';
import { Journal, NO_CARD_BIN, canonicalEncoding, entryHash, verifyChain } from '../src/journal/index.js';
import { entryJsonSchema, fromEntryJson, toEntryJson } from '../src/wire/entry-wire.js';
import { cardFacts, TEST_TOKEN_KEY } from './support/cards.js';
import { runCli } from './support/cli.js';
import { openStandIn } from './support/stand-in.js';
import { defaultRules } from '../src/authorize/index.js';
import { useTempDir } from './support/tmp.js';

/*
 * Journals written before the BIN was dropped hold it in signed, hash-chained entries. They must
 * keep verifying as they are, wherever they are read (journal, wire, centre), and a node that
 * writes on after them must add entries without one.
 */

const tempDir = useTempDir();

const OLD_PANS = [1, 2, 3].map((n) => withLuhnDigit(`41111100000${String(n).padStart(4, '0')}`));

/**
 * Rows as an edgepay that kept the BIN wrote them, hashed by the 'ep1' rule as the format states it
 * (a JSON array in a fixed order, SHA-256 over the previous hash's bytes and that text), not by the
 * journal's own code, so the fixture does not change with the code under test.
 */
function writeLegacyJournal(path: string): { hashes: string[] } {
  Journal.open({ path, nodeId: 'node-test' }).close();
  const db = new Database(path);
  let prev = '0'.repeat(64);
  const hashes: string[] = [];
  db.transaction(() => {
    OLD_PANS.forEach((pan, i) => {
      const seq = i + 1;
      const sealed = Buffer.from([seq, 2, 3, 4]);
      const row = {
        seq,
        node_id: 'node-test',
        kind: 'authorization',
        idempotency_key: `legacy-${seq}`,
        ref_seq: null,
        lane: 'lane-1',
        reference: `r${seq}`,
        amount_minor: 1_000 * seq,
        currency: 'EUR',
        card_token: tokenizePan(pan, TEST_TOKEN_KEY),
        card_bin: pan.slice(0, 6),
        card_last4: pan.slice(-4),
        sealed_card: sealed,
        approved: 1,
        decision_code: 'Y3',
        decision_reason: 'approved offline',
        decision_rule: 'approved',
        decision_mode: 'offline',
        wall_ms: Date.UTC(2026, 0, 5, 9, 0, seq),
        mono_us: seq * 1_000,
      };
      const canonical = JSON.stringify([
        'ep1',
        row.seq,
        row.node_id,
        row.kind,
        row.idempotency_key,
        row.ref_seq,
        row.lane,
        row.reference,
        row.amount_minor,
        row.currency,
        row.card_token,
        row.card_bin,
        row.card_last4,
        sealed.toString('base64'),
        row.approved,
        row.decision_code,
        row.decision_reason,
        row.decision_rule,
        row.decision_mode,
        row.wall_ms,
        row.mono_us,
      ]);
      const hash = createHash('sha256').update(Buffer.from(prev, 'hex')).update(canonical, 'utf8').digest('hex');
      db.prepare(`INSERT INTO entries VALUES (@seq, @node_id, @kind, @idempotency_key, @ref_seq, @lane, @reference, @amount_minor, @currency, @card_token,
        @card_bin, @card_last4, @sealed_card, @approved, @decision_code, @decision_reason, @decision_rule, @decision_mode, @wall_ms, @mono_us, @prev_hash, @hash)`).run({
        ...row,
        prev_hash: Buffer.from(prev, 'hex'),
        hash: Buffer.from(hash, 'hex'),
      });
      db.prepare('INSERT INTO chain_head (id, seq, hash) VALUES (1, @seq, @hash) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash').run({ seq, hash: Buffer.from(hash, 'hex') });
      hashes.push(hash);
      prev = hash;
    });
  })();
  db.close();
  return { hashes };
}

describe('journals written with the BIN', () => {
  it('verify as they are, and a node writes on after them without a BIN, the chain intact', async () => {
    const dir = tempDir();
    const standIn = openStandIn(dir, defaultRules());
    standIn.close();
    rmSync(standIn.path, { force: true });
    const { hashes } = writeLegacyJournal(standIn.path);
    const before = runCli(['journal', 'verify', '--db', standIn.path, '--json']);
    expect(before.status, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ ok: true, checked: 3, headSeq: 3, headHash: hashes[2] });

    // The node starts on the old journal: an authorization, and a void of an old entry, which must not inherit its BIN.
    standIn.restart();
    // (Approved or declined alike: every decision is journaled, which is what is checked here.)
    const authorized = await standIn.standIn.authorize({ idempotencyKey: 'new-1', amountMinor: 500, currency: 'EUR', card: cardFacts(9) });
    const voided = await standIn.standIn.followUp({ kind: 'void', idempotencyKey: 'void-legacy-1', originalIdempotencyKey: 'legacy-1' });
    expect([authorized.entry?.seq, voided.entry?.seq]).toEqual([4, 5]);
    const entries = [1, 2, 3, 4, 5].map((seq) => standIn.journal.getBySeq(seq)!);
    standIn.close();
    expect(entries.map((e) => e.cardBin)).toEqual([...OLD_PANS.map((pan) => pan.slice(0, 6)), NO_CARD_BIN, NO_CARD_BIN]);
    expect(entries[4]).toMatchObject({ kind: 'void', refSeq: 1, cardLast4: OLD_PANS[0]!.slice(-4), cardToken: entries[0]!.cardToken });
    expect(entries.slice(0, 3).map((e) => e.hash)).toEqual(hashes);
    // The same canonical position, now an empty string: a verifier of 'ep1' needs nothing new.
    expect(JSON.parse(canonicalEncoding(entries[3]!))[11]).toBe('');

    const db = new Database(standIn.path, { readonly: true });
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 5, headSeq: 5 });
    db.close();
    const after = runCli(['journal', 'verify', '--db', standIn.path, '--json']);
    expect(JSON.parse(after.stdout)).toMatchObject({ ok: true, checked: 5 });

    // On the wire (replication, custody, the centre's batches) old and new entries cross as they are and hash the same.
    for (const entry of entries) {
      const crossed = fromEntryJson(entryJsonSchema.parse(JSON.parse(JSON.stringify(toEntryJson(entry)))));
      expect(crossed.cardBin).toBe(entry.cardBin);
      expect(entryHash(crossed)).toBe(entry.hash);
    }
  });

  it("an edit of an old entry's BIN is still caught by verify", () => {
    const dir = tempDir();
    const path = `${dir}/journal.db`;
    writeLegacyJournal(path);
    const db = new Database(path);
    db.exec('DROP TRIGGER entries_no_update');
    db.prepare("UPDATE entries SET card_bin = '' WHERE seq = 2").run();
    expect(verifyChain(db)).toMatchObject({ ok: false, problem: expect.objectContaining({ seq: 2 }) });
    db.close();
  });
});
