import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { EdgepayError } from '../errors.js';
import { Journal } from '../journal/journal.js';
import { JournalReader } from '../journal/journal-reader.js';
import { type NodeConfig, journalPathOf, loadNodeConfig } from '../config/node-config.js';
import { type CentreConnection, connectToCentre } from '../reconcile/centre-connection.js';
import { type CentreSide, type ReconciliationReport, formatReport, reconciliationReport } from '../reconcile/report.js';
import { type WithCentre, centreSideOverMqtt } from './reconcile-status.js';
import { ownSignedReads } from '../reconcile/signed-reads.js';
import { Uplink } from '../reconcile/uplink.js';
import { entryDifferences } from '../reconcile/entry-differences.js';

import { Deadline } from '../reconcile/deadline.js';
import { EXIT } from './exit-codes.js';
import { parsePositiveInt } from './journal-commands.js';

/** Entries a report lists by name; all are counted. */
const LISTED = 100;
/** `reconcile status --timeout-s` by default: the centre's default answer timeout (10 s) and a connection on top. */
const DEFAULT_STATUS_TIMEOUT_S = 20;
/** After its report is printed, the status command ends within this even if a connection given up on lingers. */
const LINGER_AFTER_REPORT_MS = 1_000;

export function registerReconcileCommands(program: Command): void {
  const reconcile = program.command('reconcile').description("compare a node's journal with the central ledger, and forward what the centre does not hold yet");

  reconcile
    .command('status')
    .description(
      "counts and totals per currency on both sides, the backlog and its age, and every difference (read-only; safe while the node runs: over MQTT a running node is asked through its observability port, never by a second connection with its identity). With the centre, its broker or its ledger out of reach it prints the journal's side and says what it could not reach (exit 1: the centre's side is unknown)",
    )
    .requiredOption('--config <file>', 'node configuration file (.yaml or .json)')
    .option('--json', 'print the report as JSON (amounts in minor units)')
    .option('--timeout-s <seconds>', 'longest the command waits for the centre, and for the broker, the running node or the ledger on the way', parsePositiveInt, DEFAULT_STATUS_TIMEOUT_S)
    .action(async (opts: { config: string; json?: boolean; timeoutS: number }) => {
      const config = withCentre(loadNodeConfig(opts.config));
      const deadline = new Deadline(opts.timeoutS * 1_000);
      let report: ReconciliationReport;
      if (config.centre.ledger === undefined) {
        // Over MQTT: the centre's signed report of this node (reconcile-status.ts says how it is asked).
        const side = await centreSideOverMqtt(config, deadline);
        report = journalReport(config, side);
      } else {
        const centre = await connectToCentre(config, 'none');
        try {
          report = await reportFor(config, centre, deadline);
        } finally {
          await centre.close();
        }
      }
      print(report, opts.json === true);
      process.exitCode = report.matched ? EXIT.ok : EXIT.checkFailed;
      // Within its deadline whatever is down: a connection given up on (a database host that drops
      // packets) may still hold the process; the report is out, so it ends shortly after.
      setTimeout(() => process.exit(), LINGER_AFTER_REPORT_MS).unref();
    });

  reconcile
    .command('run')
    .description('forward every entry the centre does not hold, in bounded batches, then print the report (the node must be stopped: a running node forwards by itself)')
    .requiredOption('--config <file>', 'node configuration file (.yaml or .json)')
    .option('--json', 'print the report as JSON (no progress bar)')
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = withCentre(loadNodeConfig(opts.config));
      // A node's journal, never a new one: an empty journal would report nothing to forward. Opened
      // before the broker is reached: its lock refuses a running node, whose session at the broker a
      // connection with the same certificate would otherwise take (the TLS listener).
      const journal = Journal.open({ path: journalPathOf(config), nodeId: config.nodeId, mustExist: true });
      let centre: CentreConnection;
      try {
        centre = await connectToCentre(config, 'own-client', { tool: 'reconcile' });
      } catch (error) {
        journal.close();
        throw error;
      }
      const reader = new JournalReader(journalPathOf(config), config.nodeId);
      try {
        const open = journal;
        const backlog = reader.totals().unforwarded;
        const bar = opts.json === true || backlog === 0 ? undefined : new SingleBar({ format: 'forwarding [{bar}] {value}/{total} entries | {eta_formatted} left', stream: process.stderr });
        bar?.start(backlog, 0);
        let forwarded = 0;
        const uplink = new Uplink({
          origin: config.nodeId,
          store: config.centre.store,
          journal: {
            headSeq: () => open.chainHead().seq,
            read: ownSignedReads((from, limit) => reader.read(from, limit), centre.signingKey),
            firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
            record: async (outcomes) => {
              open.recordForwarded(outcomes);
              forwarded += outcomes.length;
              bar?.update(Math.min(forwarded, backlog));
            },
          },
          centre: centre.link,
          batchSize: config.centre.batchSize,
        });
        try {
          await uplink.drain();
        } finally {
          bar?.stop();
        }
        const report = await reportFor(config, centre);
        print(report, opts.json === true);
        process.exitCode = report.matched ? EXIT.ok : EXIT.checkFailed;
      } finally {
        reader.close();
        journal.close();
        await centre.close();
      }
    });
}

function withCentre(config: NodeConfig): WithCentre {
  if (config.centre === undefined) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre: the configuration has no centre section; add { "centre": { "store": ..., "ledger": { "sqliteFile": ... } } }', { field: 'centre' });
  }
  return config as WithCentre;
}

/**
 * With a `deadline` (status), a ledger that cannot be read in time leaves the centre's side
 * unknown, said in the report beside the journal's side; without one (run) it is an error.
 */
async function reportFor(config: WithCentre, centre: CentreConnection, deadline?: Deadline): Promise<ReconciliationReport> {
  if (centre.originReport === undefined) {
    // Over MQTT: the centre's signed counts and sums of this node; entry by entry, what it answered as the journal recorded it.
    let side: CentreSide;
    try {
      const answer = await centre.askReport!(config.centre.answerTimeoutMs);
      side = { reached: true, via: `over MQTT (${centre.via})`, report: answer.report ?? undefined, entriesCompared: false };
    } catch (error) {
      side = { reached: false, via: `over MQTT (${centre.via})`, why: (error as Error).message };
    }
    return journalReport(config, side);
  }
  const originReport = centre.originReport;
  const reader = new JournalReader(journalPathOf(config), config.nodeId);
  try {
    const read = (async () => {
      const held = await originReport(config.nodeId);
      const heldEntries = centre.heldEntries!;
      return { held, d: await entryDifferences(reader, (from, limit) => heldEntries(config.nodeId, from, limit), LISTED) };
    })();
    let found: Awaited<typeof read>;
    try {
      found = deadline === undefined ? await read : await deadline.race(read, `the ledger (${centre.via})`);
    } catch (error) {
      if (deadline === undefined) throw error;
      // Settled later (or never) without anyone waiting: not an unhandled rejection.
      read.catch(() => undefined);
      return journalReport(config, { reached: false, via: centre.via, why: (error as Error).message });
    }
    const side: CentreSide = { reached: true, via: centre.via, report: found.held, entriesCompared: true };
    return reconciliationReport(config.nodeId, reader.totals(), side, Date.now(), { differingEntries: { count: found.d.count, listed: found.d.differences }, exceptions: reader.exceptionEntries(LISTED) });
  } finally {
    reader.close();
  }
}

/** The journal's side, beside the centre's counts and sums; entry by entry only what the journal knows (its backlog). */
function journalReport(config: WithCentre, side: CentreSide): ReconciliationReport {
  const reader = new JournalReader(journalPathOf(config), config.nodeId);
  try {
    const differingEntries = { count: reader.totals().unforwarded, listed: reader.unforwardedEntries(LISTED).map((e) => ({ ...e, why: 'not confirmed by the centre yet' })) };
    return reconciliationReport(config.nodeId, reader.totals(), side, Date.now(), { differingEntries, exceptions: reader.exceptionEntries(LISTED) });
  } finally {
    reader.close();
  }
}

function print(report: ReconciliationReport, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : formatReport(report));
}
