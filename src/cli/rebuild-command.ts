import { journalPathOf, loadNodeConfig } from '../config/node-config.js';
import { ReplicationError } from '../wire/errors.js';
import { type InstallProgress, type RebuildOptions, rebuildFromPeers } from '../rebuild/rebuild.js';
import { RebuildError } from '../rebuild/errors.js';
import { type RebuildReport, describeMissing } from '../rebuild/report.js';
import { EXIT } from './exit-codes.js';
import { PROGRESS_LINE_EVERY_MS, type Progress, type ProgressStream, startCount, startProgress } from './progress.js';

/** The options of `node rebuild` as commander parses them (rebuild-registration.ts). */
export interface RebuildCommandOptions {
  readonly fromPeers: boolean;
  readonly config: string;
  readonly timeoutS: number;
  readonly force?: boolean;
  readonly keepExisting?: boolean;
  readonly acceptIncomplete?: boolean;
  readonly evenIfOnline?: boolean;
  readonly originKey?: string;
  readonly json?: boolean;
}

type Output = ProgressStream;

/**
 * The command's body, returning the exit code: 0 rebuilt; 1 refused or incomplete (nothing
 * installed); 2 bad configuration or keys; 3 broker unreachable or storage failure. Errors of the
 * journal itself (in use, I/O) are rethrown for the program's own handler and exit codes.
 */
export async function runRebuildCommand(opts: RebuildCommandOptions, out: Output, err: Output, extra: Partial<RebuildOptions> = {}): Promise<number> {
  const config = loadNodeConfig(opts.config);
  try {
    if (config.replication === undefined) {
      throw new ReplicationError('EDGEPAY_REPLICATION_NOT_CONFIGURED', `${opts.config} has no replication section: there are no peers to rebuild from`, { file: opts.config });
    }
    const journalPath = journalPathOf(config);
    const progress = rebuildProgress(config.nodeId, journalPath, opts.timeoutS, err);
    const report = await rebuildFromPeers({
      nodeId: config.nodeId,
      journalPath,
      replication: config.replication,
      force: opts.force === true,
      keepExisting: opts.keepExisting === true,
      acceptIncomplete: opts.acceptIncomplete === true,
      evenIfOnline: opts.evenIfOnline === true,
      timeoutMs: opts.timeoutS * 1_000,
      ...(opts.originKey === undefined ? {} : { originPublicKeyFile: opts.originKey }),
      onProgress: progress.collecting,
      onInstallProgress: progress.installing,
      ...extra,
    }).finally(() => progress.stop());
    out.write(opts.json ? `${JSON.stringify(report)}\n` : describe(report));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof RebuildError) {
      err.write(`edgepay: ${error.code}: ${error.message}\n`);
      const report = error.details.report as RebuildReport | undefined;
      if (report !== undefined) out.write(opts.json ? `${JSON.stringify({ ...report, error: error.code })}\n` : describe(report));
      return error.code === 'EDGEPAY_REBUILD_UNREACHABLE' ? EXIT.system : EXIT.checkFailed;
    }
    if (error instanceof ReplicationError) {
      err.write(`edgepay: ${error.code}: ${error.message}\n`);
      return error.code === 'EDGEPAY_REPLICATION_STORE_IO' || error.code === 'EDGEPAY_REPLICATION_INVARIANT' ? EXIT.system : EXIT.usage;
    }
    throw error;
  }
}

/**
 * The rebuild's progress on stderr: entries collected out of those up to the node's last announced
 * head, then the new journal written and verified. Past a stale announced head (a last will carries
 * the head of the node's last connect), or without one, the count alone. A line saying what it
 * waits for if nothing is known after a few seconds.
 */
export function rebuildProgress(nodeId: string, journalPath: string, timeoutS: number, stream: ProgressStream, now: () => number = Date.now) {
  const label = `rebuilding ${nodeId} from peers`;
  let known: Progress | undefined;
  let counting: Progress | undefined;
  let installing: { step: string; progress: Progress } | undefined;
  const waiting = setTimeout(() => stream.write(`${label}: no answer yet from the broker or the peers; waiting up to ${timeoutS} s\n`), PROGRESS_LINE_EVERY_MS);
  waiting.unref();
  const endCollecting = (): void => {
    clearTimeout(waiting);
    known?.stop();
    counting?.stop();
    known = counting = undefined;
  };
  return {
    collecting: (collected: number, total: number | null): void => {
      // Nothing known yet: the node's retained status (the total) comes right behind the subscription, before any answer.
      if (collected === 0 && total === null) return;
      clearTimeout(waiting);
      if (counting === undefined && total !== null && collected <= total) {
        known ??= startProgress({ label, total, unit: 'entries', stream, now });
        known.update(collected);
        return;
      }
      if (known !== undefined) {
        known.update(collected);
        known.stop();
        known = undefined;
      }
      counting ??= startCount({ label: total === null ? label : `${label} (past its last announced head)`, unit: 'entries', stream, now });
      counting.update(collected);
    },
    installing: ((step, done, total) => {
      endCollecting();
      if (installing?.step !== step) {
        installing?.progress.stop();
        installing = { step, progress: startProgress({ label: `${step} ${journalPath}`, total, unit: 'entries', stream, now }) };
      }
      installing.progress.update(done);
    }) satisfies InstallProgress,
    stop: (): void => {
      endCollecting();
      installing?.progress.stop();
      installing = undefined;
    },
  };
}

function describe(report: RebuildReport): string {
  const lines = [
    report.installed
      ? `rebuilt ${report.entries} entries of ${report.nodeId} into ${report.journalPath}${report.headSeq > report.entries ? ` after its entry ${report.headSeq - report.entries}` : ''}: head ${report.headSeq} ${report.headHash}`
      : `NOT installed: ${report.entries} verified entries of ${report.nodeId} collected, head ${report.headSeq}`,
    report.announced === null
      ? `  no retained status of ${report.nodeId}: its last head is unknown, so completeness rests on the peers going quiet`
      : `  ${report.nodeId} last announced head ${report.announced.headSeq} (${report.announced.online ? 'online' : 'offline'}, ${new Date(report.announced.wallMs).toISOString()})`,
    `  peers (by retained status; answers carry no sender): ${report.peers.map((p) => `${p.nodeId} ${p.online === null ? 'unknown' : p.online ? 'online' : 'offline'}`).join(', ') || 'none configured'}`,
    `  answers: ${report.tally.received} received, ${report.tally.verified} verified, ${report.tally.duplicates} duplicate copies, ${report.requests} requests, ended: ${report.end}`,
  ];
  const rejected = Object.entries(report.tally.rejected);
  if (rejected.length > 0) lines.push(`  rejected: ${rejected.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  if (report.missing !== null) lines.push(`  WARNING: ${describeMissing(report.missing)}`);
  if (report.keptAt !== null) lines.push(`  previous journal kept at ${report.keptAt}`);
  return `${lines.join('\n')}\n`;
}
