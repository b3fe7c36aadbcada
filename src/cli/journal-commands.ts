import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { EdgepayError } from '../errors.js';
import { openPrivateFile } from '../platform/private-files.js';
import { backupJournal, entriesFrom, entryToJson, exportEntries, restoreJournal, verifyChain } from '../journal/index.js';
import type { BackupProgress } from '../journal/backup.js';
import { PROGRESS_MIN_UNITS, type Progress, startProgress } from './progress.js';
import { backupWithRetention } from '../journal/backup-retention.js';
import { EXIT } from './exit-codes.js';
import { parsePositiveInt } from './number-options.js';

export function registerJournalCommands(program: Command): void {
  const journal = program.command('journal').description('inspect, export, back up and restore a node journal');

  journal
    .command('verify')
    .description('walk the whole hash chain; exit 0 only if every entry, link and the head are intact')
    .requiredOption('--db <path>', 'journal database file')
    .option('--json', 'print the report as JSON')
    .action((opts: { db: string; json?: boolean }) => {
      const db = openReadOnly(opts.db);
      const report = (() => {
        const progress = startProgress({ label: `verifying ${opts.db}`, total: entriesFrom(db), unit: 'entries' });
        try {
          return verifyChain(db, { onProgress: (checked) => progress.update(checked) });
        } finally {
          progress.stop();
          db.close();
        }
      })();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else if (report.ok) {
        process.stdout.write(`ok: ${report.checked} entries, head ${report.headSeq} ${report.headHash}\n`);
      } else {
        process.stdout.write(`BROKEN at sequence ${report.problem!.seq} (${report.problem!.kind}): ${report.problem!.message}\n`);
      }
      process.exitCode = report.ok ? EXIT.ok : EXIT.checkFailed;
    });

  journal
    .command('export')
    .description('write every entry as one JSON object per line (safe while the node is writing)')
    .requiredOption('--db <path>', 'journal database file')
    .option('--from-seq <n>', 'first sequence number to export', parsePositiveInt, 1)
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (opts: { db: string; fromSeq: number; out?: string }) => {
      if (!existsSync(opts.db)) throw new EdgepayError('EDGEPAY_NOT_FOUND', `--db: no journal at ${opts.db}`, { path: opts.db });
      // Entries carry tokens, last 4s (BINs in older entries) and sealed card data: the export is as private as the journal.
      const out = opts.out ? createWriteStream(opts.out, { fd: openPrivateFile(opts.out, 'w') }) : process.stdout;
      const counter = openReadOnly(opts.db);
      const total = (() => {
        try {
          return entriesFrom(counter, opts.fromSeq);
        } finally {
          counter.close();
        }
      })();
      const progress = startProgress({ label: `exporting ${opts.db}`, total, unit: 'entries' });
      let exported = 0;
      for (const entry of exportEntries(opts.db, opts.fromSeq)) {
        if (!out.write(`${JSON.stringify(entryToJson(entry))}\n`)) await once(out, 'drain');
        if (++exported % 1_000 === 0) progress.update(exported);
      }
      progress.update(exported);
      progress.stop();
      if (opts.out) {
        out.end();
        await once(out, 'finish');
      }
    });

  journal
    .command('backup')
    .description("online backup with SQLite's backup API while the node keeps writing; the copy is verified")
    .requiredOption('--db <path>', 'journal database file')
    .option('--to <file>', 'backup file to create (replaced atomically if it exists)')
    .option('--dir <dir>', 'write a dated copy (journal-<UTC time>.db) in this directory instead, and keep only the newest --keep')
    .option('--keep <n>', 'with --dir: how many dated copies to keep', parsePositiveInt, 24)
    .action(async (opts: { db: string; to?: string; dir?: string; keep: number }) => {
      if ((opts.to === undefined) === (opts.dir === undefined)) {
        throw new EdgepayError('EDGEPAY_BAD_INPUT', 'give either --to FILE (one rolling copy) or --dir DIR [--keep N] (dated copies with retention)', { options: ['--to', '--dir'] });
      }
      const onProgress = backupProgress(opts.db);
      const result =
        opts.dir === undefined ? { ...(await backupJournal(opts.db, opts.to!, { onProgress })), removed: [] as readonly string[] } : await backupWithRetention(opts.db, opts.dir, opts.keep, new Date(), onProgress);
      onProgress.stop();
      process.stdout.write(`backed up ${result.entries} entries (head ${result.headSeq}) to ${result.to} in ${result.durationMs.toFixed(0)} ms\n`);
      if (result.removed.length > 0) process.stdout.write(`removed ${result.removed.length} older cop${result.removed.length === 1 ? 'y' : 'ies'}: ${result.removed.join(', ')}\n`);
    });

  journal
    .command('restore')
    .description("replace a journal with a backup after verifying the backup's whole chain; the old files are kept aside")
    .requiredOption('--from <file>', 'backup file')
    .requiredOption('--db <path>', 'journal database file to replace (the node must be stopped)')
    .option('--force', 'restore even if the current journal has entries the backup lacks')
    .action((opts: { from: string; db: string; force?: boolean }) => {
      const result = restoreJournal({ from: opts.from, to: opts.db, force: opts.force === true });
      process.stdout.write(
        `restored ${opts.db} to head ${result.restoredHeadSeq}` +
          (result.replacedKeptAt ? `; previous journal kept at ${result.replacedKeptAt}\n` : '\n') +
          // Starting on it as it is would fork the node's history wherever the peers hold more.
          'before starting the node of a store with peers: edgepay node rebuild --from-peers --keep-existing --config FILE adds the entries written since the backup\n',
      );
    });
}

/** One bar per phase of a backup: SQLite's pages copied, then the copy's entries verified. */
function backupProgress(db: string): BackupProgress & { stop(): void } {
  let phase: 'copy' | 'verify' | undefined;
  let current: Progress | undefined;
  let copyEntries = 0;
  if (existsSync(db)) {
    const counter = openReadOnly(db);
    try {
      copyEntries = entriesFrom(counter);
    } finally {
      counter.close();
    }
  }
  const report: BackupProgress = (next, done, total) => {
    if (next !== phase) {
      current?.stop();
      phase = next;
      // Pages say nothing to a reader and a small journal has few: the entries decide whether to show either phase.
      current = startProgress({ label: next === 'copy' ? `copying ${db}` : 'verifying the copy', total: copyEntries < PROGRESS_MIN_UNITS ? 0 : total, unit: next === 'copy' ? 'pages' : 'entries' });
    }
    current!.update(done);
  };
  return Object.assign(report, { stop: () => current?.stop() });
}

function openReadOnly(path: string): Database.Database {
  if (!existsSync(path)) throw new EdgepayError('EDGEPAY_NOT_FOUND', `--db: no journal at ${path}`, { path });
  return new Database(path, { readonly: true, fileMustExist: true });
}

export { parsePositiveInt };
