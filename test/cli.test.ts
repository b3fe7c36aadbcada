import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { CLI, runCli } from './support/cli.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();

function journalWith(path: string, entries: number): void {
  const journal = Journal.open({ path, nodeId: 'node-cli' });
  journal.writeBatch((w) => {
    for (let i = 0; i < entries; i++) w.appendOrFind(authorizationDraft({ idempotencyKey: `cli-${i}` }));
  });
  journal.close();
}

describe('edgepay command line', () => {
  it('prints help with the exit codes and exits 0', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/journal/);
    expect(help.stdout).toMatch(/Exit codes:/);
    const sub = runCli(['journal', 'restore', '--help']);
    expect(sub.status).toBe(0);
    expect(sub.stdout).toMatch(/--force/);
  });

  it('stops quietly with the broken-pipe status when its reader has gone (| head, | true)', () => {
    for (const args of ['keygen --help', 'man-page']) {
      // `true` has exited before node has started: the first write meets a closed pipe.
      const piped = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" ${args} | true`], { encoding: 'utf8' });
      expect(piped.stderr, args).toBe('');
      expect(piped.status, args).toBe(141);
    }
  });

  it('exits 2 on an unknown command or option, and on a missing journal', () => {
    expect(runCli(['journal', 'frobnicate']).status).toBe(2);
    expect(runCli(['journal', 'verify', '--db']).status).toBe(2);
    const missing = runCli(['journal', 'verify', '--db', join(tempDir(), 'nope.db')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/EDGEPAY_NOT_FOUND.*nope\.db/);
  });

  it('verify: exit 0 with the head on a whole chain; --json gives the report', () => {
    const path = join(tempDir(), 'j.db');
    journalWith(path, 12);
    const result = runCli(['journal', 'verify', '--db', path]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ok: 12 entries, head 12 [0-9a-f]{64}/);
    const json = JSON.parse(runCli(['journal', 'verify', '--db', path, '--json']).stdout);
    expect(json).toMatchObject({ ok: true, checked: 12, headSeq: 12 });
  });

  it('export: one JSON object per entry in sequence order, from a given sequence', () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    journalWith(path, 5);
    const lines = runCli(['journal', 'export', '--db', path])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[0]).toMatchObject({ idempotencyKey: 'cli-0', amountMinor: 1250, currency: 'EUR', sealedCard: 'AQIDBA==' });
    expect(runCli(['journal', 'export', '--db', path, '--from-seq', '4', '--out', join(dir, 'out.jsonl')]).status).toBe(0);
    expect(readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(runCli(['journal', 'export', '--db', path, '--from-seq', 'zero']).status).toBe(2);
  });

  it('backup then restore round-trips; restore over a longer journal is refused with exit 1', () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    journalWith(path, 8);
    const backup = runCli(['journal', 'backup', '--db', path, '--to', join(dir, 'b.db')]);
    expect(backup.status).toBe(0);
    expect(backup.stdout).toMatch(/backed up 8 entries/);
    const journal = Journal.open({ path, nodeId: 'node-cli' });
    journal.append(authorizationDraft());
    journal.close();
    const refused = runCli(['journal', 'restore', '--from', join(dir, 'b.db'), '--db', path]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/EDGEPAY_RESTORE_REFUSED.*entries 9\.\.9/);
    const forced = runCli(['journal', 'restore', '--from', join(dir, 'b.db'), '--db', path, '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toMatch(/restored .* to head 8; previous journal kept at .*replaced-/);
    expect(forced.stdout).toContain('edgepay node rebuild --from-peers --keep-existing');
    expect(runCli(['journal', 'verify', '--db', path]).stdout).toMatch(/^ok: 8 entries/);
  });

  it('rules check: ok for the defaults; every bad key listed with its value and exit 2', () => {
    const dir = tempDir();
    const defaults = runCli(['rules', 'defaults']);
    expect(defaults.status).toBe(0);
    writeFileSync(join(dir, 'rules.json'), defaults.stdout);
    expect(runCli(['rules', 'check', join(dir, 'rules.json')])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^ok: rules version 1/) });
    const bad = JSON.parse(defaults.stdout);
    bad.perCard.maxCount = -1;
    bad.currencies.EUR.floorLimitMinor = 12.5;
    bad.surprise = true;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const result = runCli(['rules', 'check', join(dir, 'bad.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/perCard\.maxCount: .*\(got -1\)/);
    expect(result.stderr).toMatch(/currencies\.EUR\.floorLimitMinor: .*\(got 12\.5\)/);
    expect(result.stderr).toMatch(/surprise: unknown key/);
    writeFileSync(join(dir, 'broken.json'), '{ "version": ');
    expect(runCli(['rules', 'check', join(dir, 'broken.json')])).toMatchObject({ status: 2, stderr: expect.stringMatching(/not valid JSON/) });
  });

  it('bench: refuses a bad option value naming the option and what is allowed', () => {
    const result = runCli(['bench', 'journal', '--seconds', 'lots']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--seconds/);
  });

  it('demo: a trading day where every rule declines something, retries replay, the chain verifies, no PAN on disk', () => {
    const dir = tempDir();
    const result = runCli(['demo', '--dir', dir, '--seed', '11']);
    expect(result.status).toBe(0);
    for (const rule of ['approved', 'currency', 'check_digit', 'expiry', 'hot_card', 'floor_limit', 'card_count', 'card_amount', 'forward_deadline']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${rule}\\s+\\w+\\s+\\d+`, 'm'));
    }
    expect(result.stdout).toMatch(/^ {2}node_(count|amount)\s+Z3/m);
    const retries = /POS retries: (\d+), answered from the journal with the original decision: (\d+)/.exec(result.stdout);
    expect(retries).not.toBeNull();
    expect(retries![1]).toBe(retries![2]);
    expect(result.stdout).toMatch(/chain verified/);
    expect(result.stdout).toMatch(/full card numbers found on disk: 0/);
    expect(runCli(['journal', 'verify', '--db', join(dir, 'journal.db')]).status).toBe(0);
  });
});
