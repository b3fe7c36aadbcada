import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillBacklog } from '../src/bench/reconcile-fill.js';
import { PROGRESS_MIN_UNITS, startProgress } from '../src/cli/progress.js';
import { Journal } from '../src/journal/journal.js';
import { CLI, type CliResult, runCli } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

/*
 * Long journal commands say how far they are on stderr; stdout stays their result. Without a
 * terminal (as here, and under systemd or CI) as plain periodic lines, never a bar's carriage returns.
 */

const tempDir = useTempDir('edgepay-cli-progress-');
const ENTRIES = 200_000;

function runCliAsync(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

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
});
