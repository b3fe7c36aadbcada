import Database from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryHash } from '../src/journal/canonical.js';
import { sealEntry, withHash } from '../src/journal/entry-builder.js';
import type { JournalEntry } from '../src/journal/entry.js';
import { importVerifiedEntries } from '../src/journal/import.js';
import { Journal } from '../src/journal/journal.js';
import { verifyChain } from '../src/journal/verify.js';
import { systemClock } from '../src/platform/clock.js';
import { sealEnvelope } from '../src/wire/envelope.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { rebuildOver } from '../src/rebuild/rebuild.js';
import { RebuildCollector } from '../src/rebuild/collector.js';
import { DEFAULT_REBUILD_TUNING, realRebuildTimer } from '../src/rebuild/session.js';
import { StoreTopics } from '../src/wire/topics.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-rebuild-units-');
const a = generateNodeKeyPair();
const b = generateNodeKeyPair();
const keys = new Map([
  ['node-a', a.publicKey],
  ['node-b', b.publicKey],
]);

/** A chain of `count` entries of `nodeId` after `prev`, as a journal would write them. */
function chain(nodeId: string, count: number, prev: { seq: number; hash: string } = { seq: 0, hash: '0'.repeat(64) }): JournalEntry[] {
  const entries: JournalEntry[] = [];
  let head = prev;
  for (let i = 0; i < count; i++) {
    const fields = sealEntry(authorizationDraft({ amountMinor: 100 + i }), head.seq + 1, nodeId, systemClock, head.hash);
    const entry = withHash(fields, entryHash(fields));
    entries.push(entry);
    head = entry;
  }
  return entries;
}

describe('RebuildCollector', () => {
  it('builds the chain from entry 1 whatever the arrival order, counting copies and strangers apart', () => {
    const entries = chain('node-a', 6);
    const collector = new RebuildCollector('node-a', keys);
    for (const seq of [4, 2, 6, 2]) collector.offer(sealEnvelope(entries[seq - 1]!, a.privateKey));
    expect(collector.headSeq).toBe(0);
    expect(collector.highestSeq).toBe(6);
    collector.offer(sealEnvelope(chain('node-b', 1)[0]!, b.privateKey));
    collector.offer(sealEnvelope(chain('node-c', 1)[0]!, b.privateKey));
    for (const seq of [1, 3, 5]) collector.offer(sealEnvelope(entries[seq - 1]!, a.privateKey));
    expect(collector.entries().map((e) => e.hash)).toEqual(entries.map((e) => e.hash));
    expect(collector.tally()).toEqual({ received: 9, verified: 6, duplicates: 1, foreign: 1, rejected: { unknown_key: 1 } });
  });

  it('rejects entries signed with another key and stops before a fork, whichever copy came first', () => {
    const entries = chain('node-a', 5);
    const fork = chain('node-a', 2, { seq: 2, hash: entries[1]!.hash });
    const collector = new RebuildCollector('node-a', keys);
    expect(collector.offer(sealEnvelope(chain('node-a', 1)[0]!, b.privateKey))).toBe('rejected');
    for (const entry of entries) collector.offer(sealEnvelope(entry, a.privateKey));
    expect(collector.headSeq).toBe(5);
    collector.offer(sealEnvelope(fork[0]!, a.privateKey));
    expect(collector.firstFork()).toEqual({ seq: 3, hashes: [entries[2]!.hash, fork[0]!.hash] });
    expect(collector.entries().map((e) => e.seq)).toEqual([1, 2]);
    expect(collector.tally().rejected).toEqual({ bad_signature: 1 });
  });

  it('grows from a base (the head of a restored journal): only entries after it, the first linking to it', () => {
    const entries = chain('node-a', 8);
    const base = { seq: 5, hash: entries[4]!.hash };
    const collector = new RebuildCollector('node-a', keys, base);
    expect([collector.headSeq, collector.headHash]).toEqual([5, base.hash]);
    for (const entry of entries) collector.offer(sealEnvelope(entry, a.privateKey));
    expect(collector.headSeq).toBe(8);
    expect(collector.entries().map((e) => e.seq)).toEqual([6, 7, 8]);

    // The store's entry 6 of another history: it does not link to this base, so nothing grows on it.
    const elsewhere = new RebuildCollector('node-a', keys, { seq: 5, hash: 'e'.repeat(64) });
    for (const entry of entries.slice(5)) elsewhere.offer(sealEnvelope(entry, a.privateKey));
    expect(elsewhere.headSeq).toBe(5);
    expect(elsewhere.firstFork()).toEqual({ seq: 6, hashes: [entries[5]!.hash] });
    expect(elsewhere.entries()).toEqual([]);
  });

  it('treats a signed entry that does not link to its predecessor as a fork', () => {
    const entries = chain('node-a', 2);
    const stray = chain('node-a', 1, { seq: 1, hash: 'f'.repeat(64) })[0]!;
    const collector = new RebuildCollector('node-a', keys);
    collector.offer(sealEnvelope(entries[0]!, a.privateKey));
    collector.offer(sealEnvelope(stray, a.privateKey));
    expect(collector.firstFork()?.seq).toBe(2);
    expect(collector.entries()).toHaveLength(1);
  });
});

describe('importVerifiedEntries', () => {
  it('writes the exact chain, which Journal.open accepts and verifyChain passes', () => {
    const path = join(tempDir(), 'data', 'journal.db');
    const entries = chain('node-a', 40);
    const result = importVerifiedEntries(path, 'node-a', entries);
    expect(result).toEqual({ path, entries: 40, headSeq: 40, headHash: entries[39]!.hash });
    expect(existsSync(`${path}.importing`)).toBe(false);
    const journal = Journal.open({ path, nodeId: 'node-a' });
    try {
      expect(journal.chainHead()).toEqual({ seq: 40, hash: entries[39]!.hash });
      expect([...journal.entries()]).toEqual(entries);
      expect(verifyChain(journal.connection(), { nodeId: 'node-a' })).toMatchObject({ ok: true, checked: 40 });
      // It continues the chain like any journal.
      expect(journal.append(authorizationDraft())).toMatchObject({ seq: 41, prevHash: entries[39]!.hash });
    } finally {
      journal.close();
    }
  });

  it('refuses to overwrite, and refuses a chain with a gap, a bad link, an edit or another node', () => {
    const dir = tempDir();
    const existing = join(dir, 'existing.db');
    writeFileSync(existing, '');
    expect(() => importVerifiedEntries(existing, 'node-a', chain('node-a', 1))).toThrow(expect.objectContaining({ code: 'EDGEPAY_RESTORE_REFUSED' }));
    const entries = chain('node-a', 3);
    const bad: [string, JournalEntry[]][] = [
      ['gap', [entries[0]!, entries[2]!]],
      ['link', [entries[0]!, { ...entries[1]!, prevHash: 'a'.repeat(64) }]],
      ['edit', [entries[0]!, { ...entries[1]!, amountMinor: 1 }]],
      ['node', entries],
    ];
    for (const [name, list] of bad) {
      const path = join(dir, `${name}.db`);
      expect(() => importVerifiedEntries(path, name === 'node' ? 'node-b' : 'node-a', list)).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_CHAIN_BROKEN' }));
      expect(existsSync(path) || existsSync(`${path}.importing`)).toBe(false);
    }
  });
});

describe('rebuild --keep-existing before it reaches the broker', () => {
  it('refuses to keep a journal of another node, naming it, and never opens a link', async () => {
    const path = join(tempDir(), 'journal.db');
    importVerifiedEntries(path, 'node-b', chain('node-b', 3));
    let linked = false;
    const refused = rebuildOver({
      nodeId: 'node-a',
      journalPath: path,
      keepExisting: true,
      topics: new StoreTopics('acme', 'store-1'),
      keys,
      signingKey: generateNodeKeyPair().privateKey,
      peerIds: ['node-b'],
      tuning: DEFAULT_REBUILD_TUNING,
      timer: realRebuildTimer,
      openLink: async () => {
        linked = true;
        throw new Error('no broker in this test');
      },
    });
    await expect(refused).rejects.toMatchObject({ code: 'EDGEPAY_REBUILD_REFUSED', message: expect.stringMatching(/cannot be kept: it belongs to node "node-b"/) });
    expect(linked).toBe(false);
    const untouched = new Database(path, { readonly: true });
    expect(verifyChain(untouched, { nodeId: 'node-b' })).toMatchObject({ ok: true, headSeq: 3 });
    untouched.close();
  });
});
