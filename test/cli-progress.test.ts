import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fillBacklog } from '../src/bench/reconcile-fill.js';
import { PROGRESS_MIN_UNITS, startCount, startProgress } from '../src/cli/progress.js';
import { rebuildProgress } from '../src/cli/rebuild-command.js';
import { Journal } from '../src/journal/journal.js';
import { runCli, runCliAsync } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

/*
 * Long journal commands say how far they are on stderr; stdout stays their result. Without a
 * terminal (as here, and under systemd or CI) as plain periodic lines, never a bar's carriage returns.
 */

const tempDir = useTempDir('edgepay-cli-progress-');
const ENTRIES = 200_000;

/** Progress lines of one label, as "done/total" pairs. */
function progressLines(stderr: string, label: string): { done: number; total: number }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith(label))
    .map((line) => {
      const match = /: (\d+)\/(\d+) \w+ \((\d+)%\), \d+\.\d s$/.exec(line);
      expect(match, line).not.toBeNull();
      return { done: Number(match![1]), total: Number(match![2]) };
    });
}

function expectSteadyProgress(lines: { done: number; total: number }[], total: number): void {
  // About one line per tenth, counting up, the last one the whole.
  expect(lines.length).toBeGreaterThanOrEqual(5);
  expect(lines.length).toBeLessThanOrEqual(25);
  for (let i = 1; i < lines.length; i++) expect(lines[i]!.done).toBeGreaterThanOrEqual(lines[i - 1]!.done);
  expect(lines.every((l) => l.total === total)).toBe(true);
  expect(lines[lines.length - 1]!.done).toBe(total);
}

describe('progress of long journal commands on stderr', () => {
  it('verify, export and backup of a 200,000-entry journal print periodic lines without a terminal; stdout stays the result', async () => {
    const dir = tempDir();
    const path = join(dir, 'journal.db');
    const journal = Journal.open({ path, nodeId: 'box-1' });
    fillBacklog(journal, ENTRIES);
    journal.close();

    const verify = await runCliAsync(['journal', 'verify', '--db', path]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^ok: ${ENTRIES} entries, head ${ENTRIES} [0-9a-f]{64}\\n$`));
    expectSteadyProgress(progressLines(verify.stderr, `verifying ${path}`), ENTRIES);
    expect(verify.stderr).not.toContain('\r');

    const exported = await runCliAsync(['journal', 'export', '--db', path, '--from-seq', '100001']);
    expect(exported.status).toBe(0);
    expect(exported.stdout.split('\n').filter((l) => l !== '')).toHaveLength(100_000);
    expectSteadyProgress(progressLines(exported.stderr, `exporting ${path}`), 100_000);

    const backup = await runCliAsync(['journal', 'backup', '--db', path, '--to', join(dir, 'copy.db')]);
    expect(backup.status).toBe(0);
    expect(backup.stdout).toContain(`backed up ${ENTRIES} entries`);
    const pages = progressLines(backup.stderr, `copying ${path}`);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages[pages.length - 1]!.done).toBe(pages[0]!.total);
    expectSteadyProgress(progressLines(backup.stderr, 'verifying the copy'), ENTRIES);
  }, 180_000);

  it('a small journal stays silent, as before', () => {
    const dir = tempDir();
    const path = join(dir, 'journal.db');
    const journal = Journal.open({ path, nodeId: 'box-1' });
    fillBacklog(journal, 50);
    journal.close();
    const verify = runCli(['journal', 'verify', '--db', path]);
    expect(verify.status).toBe(0);
    expect(verify.stderr).toBe('');
  });

  it('on a terminal a bar; below the threshold nothing; without a terminal a line at least every few seconds', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    let nowMs = 0;
    const quiet = startProgress({ label: 'x', total: PROGRESS_MIN_UNITS - 1, unit: 'entries', stream });
    quiet.update(5);
    quiet.stop();
    expect(written).toEqual([]);
    const slow = startProgress({ label: 'slow', total: 1_000_000, unit: 'entries', stream, now: () => nowMs });
    // Less than a tenth done, but five seconds gone: a line anyway.
    nowMs = 5_000;
    slow.update(10);
    expect(written).toEqual(['slow: 10/1000000 entries (0%), 5.0 s\n']);
    slow.update(20);
    expect(written).toHaveLength(1);
    slow.update(100_000);
    expect(written).toHaveLength(2);
    slow.stop();
    expect(written[2]).toBe('slow: 100000/1000000 entries (10%), 5.0 s\n');
  });

  it('without a known total, the count alone every few seconds; silent if the work ends sooner', () => {
    const written: string[] = [];
    const stream = { isTTY: true, write: (text: string) => written.push(text) };
    let nowMs = 0;
    const short = startCount({ label: 'short', unit: 'entries', stream, now: () => nowMs });
    nowMs = 4_000;
    short.update(50_000);
    short.stop();
    expect(written).toEqual([]);
    const long = startCount({ label: 'long', unit: 'entries', stream, now: () => nowMs });
    nowMs = 9_000;
    long.update(70_000);
    nowMs = 10_000;
    long.update(80_000);
    nowMs = 14_000;
    long.update(120_000);
    nowMs = 15_000;
    long.update(125_000);
    long.stop();
    expect(written).toEqual(['long: 70000 entries, 5.0 s\n', 'long: 120000 entries, 10.0 s\n', 'long: 125000 entries, 11.0 s\n']);
  });
});

describe('progress of node rebuild --from-peers', () => {
  const capture = () => {
    const written: string[] = [];
    return { written, stream: { isTTY: false, write: (text: string) => written.push(text) } };
  };

  it('counts up to the announced head, then on past it without a total; then writing and verifying the journal', () => {
    const { written, stream } = capture();
    let nowMs = 0;
    const progress = rebuildProgress('lane-1', '/data/journal.db', 120, stream, () => nowMs);
    progress.collecting(0, null);
    progress.collecting(0, 20_000);
    nowMs = 1_000;
    progress.collecting(10_000, 20_000);
    progress.collecting(20_000, 20_000);
    // The announced head was a last will's, older than the chain: the count goes on alone.
    progress.collecting(20_500, 20_000);
    nowMs = 6_000;
    progress.collecting(30_000, 20_000);
    progress.installing('writing', 30_000, 30_000);
    nowMs = 7_000;
    progress.installing('verifying', 30_000, 30_000);
    progress.stop();
    expect(written).toEqual([
      'rebuilding lane-1 from peers: 10000/20000 entries (50%), 1.0 s\n',
      'rebuilding lane-1 from peers: 20000/20000 entries (100%), 1.0 s\n',
      'rebuilding lane-1 from peers (past its last announced head): 30000 entries, 5.0 s\n',
      'writing /data/journal.db: 30000/30000 entries (100%), 1.0 s\n',
      'verifying /data/journal.db: 30000/30000 entries (100%), 0.0 s\n',
    ]);
  });

  it('says what it waits for when nothing is heard for a few seconds, once', () => {
    vi.useFakeTimers();
    try {
      const { written, stream } = capture();
      const progress = rebuildProgress('lane-1', '/data/journal.db', 120, stream);
      progress.collecting(0, null);
      vi.advanceTimersByTime(10_000);
      progress.stop();
      expect(written).toEqual(['rebuilding lane-1 from peers: no answer yet from the broker or the peers; waiting up to 120 s\n']);
      const heard = capture();
      const quick = rebuildProgress('lane-1', '/data/journal.db', 120, heard.stream);
      quick.collecting(0, 40);
      vi.advanceTimersByTime(10_000);
      quick.stop();
      expect(heard.written).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
