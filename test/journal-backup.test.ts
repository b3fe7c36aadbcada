import { backupWithRetention } from '../src/journal/backup-retention.js';
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, backupJournal, inspectBackup, restoreJournal } from '../src/journal/index.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

function journalWith(path: string, entries: number, nodeId = 'node-a'): Journal {
  const journal = Journal.open({ path, nodeId });
  journal.writeBatch((w) => {
    for (let i = 0; i < entries; i++) w.appendOrFind(authorizationDraft());
  });
  return journal;
}

describe('journal backup and restore', () => {
  it('backs up a journal that is being written, and the copy verifies', async () => {
    const dir = tempDir();
    const journal = journalWith(join(dir, 'j.db'), 100);
    let writing = true;
    const writer = (async () => {
      while (writing) {
        journal.append(authorizationDraft());
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const result = await backupJournal(join(dir, 'j.db'), join(dir, 'backup', 'b.db'));
    writing = false;
    await writer;
    expect(result.headSeq).toBeGreaterThanOrEqual(100);
    expect(result.headSeq).toBeLessThanOrEqual(journal.chainHead().seq);
    const inspected = inspectBackup(result.to);
    expect(inspected).toMatchObject({ ok: true, nodeId: 'node-a', headSeq: result.headSeq });
    expect(existsSync(`${result.to}.partial`)).toBe(false);
    journal.close();
  });

  it('restores a lost journal from its backup', async () => {
    const dir = tempDir();
    const journal = journalWith(join(dir, 'j.db'), 20);
    const head = journal.chainHead();
    await backupJournal(join(dir, 'j.db'), join(dir, 'b.db'));
    journal.close();
    const restored = restoreJournal({ from: join(dir, 'b.db'), to: join(dir, 'new', 'j.db') });
    expect(restored).toMatchObject({ restoredHeadSeq: 20, restoredHeadHash: head.hash, replacedKeptAt: null });
    const reopened = Journal.open({ path: join(dir, 'new', 'j.db'), nodeId: 'node-a' });
    expect(reopened.chainHead()).toEqual(head);
    expect(reopened.append(authorizationDraft()).seq).toBe(21);
    reopened.close();
  });

  it('refuses to replace a journal that holds entries the backup lacks, unless forced, and keeps the old files', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const journal = journalWith(path, 10);
    await backupJournal(path, join(dir, 'b.db'));
    journal.append(authorizationDraft());
    journal.close();
    expect(() => restoreJournal({ from: join(dir, 'b.db'), to: path })).toThrow(expect.objectContaining({ code: 'EDGEPAY_RESTORE_REFUSED', message: expect.stringContaining('entries 11..11') }));
    const forced = restoreJournal({ from: join(dir, 'b.db'), to: path, force: true, keepSuffix: 'test' });
    expect(forced.replacedKeptAt).toBe(`${path}.replaced-test`);
    expect(inspectBackup(`${path}.replaced-test`)).toMatchObject({ ok: true, headSeq: 11 });
    expect(inspectBackup(path)).toMatchObject({ ok: true, headSeq: 10 });
  });

  it('replaces a broken journal with a good backup', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    journalWith(path, 10).close();
    await backupJournal(path, join(dir, 'b.db'));
    const raw = new Database(path);
    raw.exec('DROP TRIGGER entries_no_delete; DELETE FROM entries WHERE seq = 5;');
    raw.close();
    expect(inspectBackup(path).ok).toBe(false);
    restoreJournal({ from: join(dir, 'b.db'), to: path, keepSuffix: 'broken' });
    expect(inspectBackup(path)).toMatchObject({ ok: true, headSeq: 10 });
  });

  it('refuses a backup whose chain does not verify, naming the first bad sequence, and replaces nothing', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    journalWith(path, 10).close();
    copyFileSync(path, join(dir, 'b.db'));
    const raw = new Database(join(dir, 'b.db'));
    raw.exec('DROP TRIGGER entries_no_delete; DELETE FROM entries WHERE seq = 7;');
    raw.close();
    expect(() => restoreJournal({ from: join(dir, 'b.db'), to: path, force: true })).toThrow(expect.objectContaining({ code: 'EDGEPAY_RESTORE_REFUSED', message: expect.stringContaining('first bad sequence 7') }));
    expect(inspectBackup(path)).toMatchObject({ ok: true, headSeq: 10 });
  });

  it('refuses to restore over a journal a live node holds', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const journal = journalWith(path, 3);
    await backupJournal(path, join(dir, 'b.db'));
    expect(() => restoreJournal({ from: join(dir, 'b.db'), to: path, force: true })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_IN_USE' }));
    journal.close();
  });

  it("refuses to restore another node's backup over this node's journal unless forced", async () => {
    const dir = tempDir();
    journalWith(join(dir, 'a.db'), 3, 'node-a').close();
    journalWith(join(dir, 'b.db'), 3, 'node-b').close();
    expect(() => restoreJournal({ from: join(dir, 'b.db'), to: join(dir, 'a.db') })).toThrow(expect.objectContaining({ code: 'EDGEPAY_RESTORE_REFUSED', message: expect.stringContaining('node-b') }));
  });
});

describe('dated backups with retention', () => {
  it('keeps the newest N verified copies and never removes one before the new copy is complete', async () => {
    const dir = tempDir();
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'node-a' });
    const backups = join(dir, 'backups');
    const made: string[] = [];
    for (let hour = 0; hour < 4; hour++) {
      journal.append(authorizationDraft());
      const result = await backupWithRetention(journal.path, backups, 2, new Date(Date.UTC(2026, 10, 28, hour)));
      made.push(result.to);
      expect(result.removed).toHaveLength(hour < 2 ? 0 : 1);
    }
    journal.close();
    expect(readdirSync(backups).sort()).toEqual(['journal-20261128T020000Z.db', 'journal-20261128T030000Z.db']);
    expect(inspectBackup(made[3]!)).toMatchObject({ ok: true, checked: 4 });
    await expect(backupWithRetention(join(dir, 'missing.db'), backups, 2)).rejects.toMatchObject({ code: 'EDGEPAY_NOT_FOUND' });
    expect(readdirSync(backups).filter((f) => f.endsWith('.db'))).toHaveLength(2);
    await expect(backupWithRetention(join(dir, 'journal.db'), backups, 0)).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
  });
});
