import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, Journal, SCHEMA_VERSION, entryHash, verifyChain } from '../src/journal/index.js';
import { ManualClock } from '../src/platform/clock.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

describe('journal basics', () => {
  it('opens in WAL mode with synchronous=FULL and the current schema', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    const db = journal.connection();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 2 = FULL
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(3);
    journal.close();
  });

  it('appends contiguous sequence numbers with a hash chain and timestamps from the injected clock', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a', clock });
    const first = journal.append(authorizationDraft());
    clock.advance(1500);
    const second = journal.append(authorizationDraft({ amountMinor: 99 }));
    expect(first.seq).toBe(1);
    expect(second.seq).toBe(2);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(second.hash).toBe(entryHash(second));
    expect(second.wallMs - first.wallMs).toBe(1500);
    expect(second.monoUs - first.monoUs).toBe(1_500_000);
    expect(journal.chainHead()).toEqual({ seq: 2, hash: second.hash });
    expect(journal.getBySeq(2)).toEqual(second);
    journal.close();
  });

  it('keeps entries, head and chain across close and reopen', () => {
    const path = join(tempDir(), 'j.db');
    const journal = Journal.open({ path, nodeId: 'node-a' });
    const written = journal.writeBatch((w) => [w.appendOrFind(authorizationDraft()).entry, w.appendOrFind(authorizationDraft()).entry]);
    journal.close();
    const reopened = Journal.open({ path, nodeId: 'node-a' });
    expect([...reopened.entries()]).toEqual(written);
    expect(reopened.chainHead().hash).toBe(written[1]!.hash);
    expect(verifyChain(reopened.connection(), { nodeId: 'node-a' })).toMatchObject({ ok: true, checked: 2, headSeq: 2 });
    reopened.close();
  });

  it('refuses UPDATE and DELETE on entries at the database level', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    journal.append(authorizationDraft());
    const db = journal.connection();
    expect(() => db.prepare('UPDATE entries SET amount_minor = 1').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM entries').run()).toThrow(/append-only/);
    journal.close();
  });

  it('rolls back a whole batch that throws: nothing written, head unchanged', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    journal.append(authorizationDraft());
    const before = journal.chainHead();
    expect(() =>
      journal.writeBatch((w) => {
        w.appendOrFind(authorizationDraft());
        throw new Error('boom');
      }),
    ).toThrow(/boom/);
    expect(journal.chainHead()).toEqual(before);
    const next = journal.append(authorizationDraft());
    expect(next.seq).toBe(2);
    expect(verifyChain(journal.connection()).ok).toBe(true);
    journal.close();
  });

  it('a batch writer sees entries it staged earlier in the same batch', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    journal.writeBatch((w) => {
      const entry = w.appendOrFind(authorizationDraft({ idempotencyKey: 'same-batch' })).entry;
      expect(w.findByIdempotencyKey('same-batch')).toEqual(entry);
      expect(w.getBySeq(entry.seq)).toEqual(entry);
    });
    journal.close();
  });

  it('finds an existing idempotency key instead of appending, in the same batch and across batches', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    const first = journal.append(authorizationDraft({ idempotencyKey: 'once' }));
    journal.writeBatch((w) => {
      expect(w.appendOrFind(authorizationDraft({ idempotencyKey: 'once', amountMinor: 5 }))).toEqual({ entry: first, existing: true });
      const fresh = w.appendOrFind(authorizationDraft({ idempotencyKey: 'twice' }));
      expect(fresh.existing).toBe(false);
      expect(w.appendOrFind(authorizationDraft({ idempotencyKey: 'twice' }))).toEqual({ entry: fresh.entry, existing: true });
    });
    expect(journal.chainHead().seq).toBe(2);
    expect(() => journal.append(authorizationDraft({ idempotencyKey: 'once' }))).toThrow(expect.objectContaining({ code: 'EDGEPAY_IDEMPOTENCY_CONFLICT' }));
    expect(journal.chainHead().seq).toBe(2);
    expect(verifyChain(journal.connection()).ok).toBe(true);
    journal.close();
  });

  it('rejects a second node opening the journal, and a bad node id', () => {
    const path = join(tempDir(), 'j.db');
    Journal.open({ path, nodeId: 'node-a' }).close();
    expect(() => Journal.open({ path, nodeId: 'node-b' })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_NODE_MISMATCH' }));
    expect(() => Journal.open({ path, nodeId: 'bad id/with slash' })).toThrow(expect.objectContaining({ code: 'EDGEPAY_BAD_INPUT' }));
  });

  it('an explicit checkpoint copies the WAL back and lets the next commit start the WAL from its beginning', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    for (let i = 0; i < 20; i++) journal.append(authorizationDraft({ idempotencyKey: `k${i}` }));
    expect(journal.uncheckpointedCommits).toBe(20);
    const done = journal.checkpoint();
    expect(done.walFrames).toBeGreaterThanOrEqual(20);
    expect(done.checkpointedFrames).toBe(done.walFrames);
    expect(journal.uncheckpointedCommits).toBe(0);
    journal.append(authorizationDraft({ idempotencyKey: 'after' }));
    // Frames since the WAL was reset: only the last commit's, not the twenty before it.
    const [row] = journal.connection().pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    expect(row!.log).toBeLessThan(done.walFrames / 5);
    expect(verifyChain(journal.connection()).ok).toBe(true);
    journal.close();
    expect(() => journal.checkpoint()).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_CLOSED' }));
  });

  it('refuses a journal written by a newer schema', () => {
    const path = join(tempDir(), 'j.db');
    Journal.open({ path, nodeId: 'node-a' }).close();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => Journal.open({ path, nodeId: 'node-a' })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_SCHEMA' }));
  });

  it('stores no PAN: only token, BIN, last 4 and a sealed blob', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: 'node-a' });
    journal.append(authorizationDraft());
    const columns = (journal.connection().prepare('PRAGMA table_info(entries)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).not.toContain('pan');
    expect(columns).toEqual(expect.arrayContaining(['card_token', 'card_bin', 'card_last4', 'sealed_card']));
    journal.close();
  });
});
