/**
 * Runs the selected cases in protocol order against a reader on an open line. Before each case
 * (but C1, which judges the exchange itself) a HELLO exchange starts a new session, and after it
 * every transaction it started is cancelled, so a case finds the reader idle whatever the one
 * before it left. The reader's HELLO when the run starts gives the report's header and decides
 * whether the S cases apply.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Capability } from '../protocol/index.js';
import type { ReaderPort } from '../serial-channel.js';
import type { ConformanceCase } from './case.js';
import { type CaseId, caseName } from './case-ids.js';
import { CLEAR_CASES } from './cases.js';
import { CaseContext, type RunSettings } from './context.js';
import { isConformanceError } from './errors.js';
import { type CaseResult, type ConformanceReport, type ReportHeader, readerKeyHeader, readerSummary, summarize } from './report.js';
import { SECURE_CASES } from './secure-cases.js';
import { linkRuleBreach } from './link-rules.js';
import { helloExchange } from './session.js';
import { TesterLink } from './tester-link.js';

export const ALL_CASES: readonly ConformanceCase[] = [...CLEAR_CASES, ...SECURE_CASES];

/** A reader may still hold the SEQ of an earlier run and take the first HELLO for a duplicate; the node asks three times too. */
const CONNECT_ATTEMPTS = 3;

export interface RunOptions extends RunSettings {
  readonly port: ReaderPort;
  /** For the report: the device as given and the profile's name. */
  readonly portPath: string;
  readonly profileName: string;
  readonly caseIds: readonly CaseId[];
  /** As soon as the reader's HELLO is in (or is not), for a report printed as the run goes. */
  readonly onHeader?: (header: ReportHeader) => void;
  readonly onCase?: (result: CaseResult) => void;
}

export async function runConformance(options: RunOptions): Promise<ConformanceReport> {
  const link = new TesterLink(options.port, options.profile);
  // Fresh txnIds per run: a reader that kept a transaction of an earlier run must not match this one's.
  let txnId = randomInt(1, 0x7fff_ffff);
  const nextTxnId = (): number => (txnId = (txnId + 1) >>> 0);

  let connected: Awaited<ReturnType<typeof helloExchange>>;
  try {
    connected = await helloExchange(link, options.profile, CONNECT_ATTEMPTS);
  } catch (error) {
    if (!isConformanceError(error, 'EDGEPAY_CONFORMANCE_LINE_GONE')) throw error;
    connected = { ok: false, why: error.message };
  }
  const header: ReportHeader = {
    port: options.portPath,
    profile: options.profileName,
    reader: connected.ok ? readerSummary(connected.hello) : null,
    ...(connected.ok ? {} : { helloProblem: connected.why }),
    readerKey: readerKeyHeader(options.readerKey),
  };
  options.onHeader?.(header);

  const results: CaseResult[] = [];
  /** Set when no later case can reach the reader: each is then failed with this reason, unrun. */
  let abort = connected.ok ? undefined : `no HELLO from the reader when the run started: ${connected.why}`;
  for (const id of options.caseIds) {
    const kase = ALL_CASES.find((c) => c.id === id) as ConformanceCase;
    let result: CaseResult;
    if (abort !== undefined || !connected.ok) {
      result = { id, name: caseName(id), status: 'fail', ms: 0, reason: abort, notes: [] };
    } else if (kase.secure && (connected.hello.capabilities & Capability.SECURE_SESSION) === 0) {
      result = { id, name: caseName(id), status: 'skip', ms: 0, reason: "the reader's HELLO does not set the secure-session bit (0x08)", notes: [] };
    } else {
      const ctx = new CaseContext(link, options, `${id} ${caseName(id)}`, connected.hello, nextTxnId);
      const outcome = await runCase(kase, ctx);
      abort = outcome.abort;
      result = outcome.result;
    }
    results.push(result);
    options.onCase?.(result);
  }
  // The reader's answers to the last CANCELs are acknowledged before the line closes, so it is not left retransmitting them.
  if (abort === undefined) await link.settle(options.profile.timeouts.ackMs).catch(() => undefined);
  return { ...header, cases: results, summary: summarize(results) };
}

async function runCase(kase: ConformanceCase, ctx: CaseContext): Promise<{ result: CaseResult; abort?: string }> {
  const started = performance.now();
  const from = ctx.link.mark();
  const done = (status: CaseResult['status'], reason?: string): CaseResult => ({
    id: kase.id,
    name: caseName(kase.id),
    status,
    ms: Math.round(performance.now() - started),
    ...(reason === undefined ? {} : { reason }),
    notes: ctx.notes,
  });
  let abort: string | undefined;
  let result: CaseResult;
  try {
    if (kase.ownSession !== true) {
      try {
        await ctx.newSession();
      } catch (error) {
        // A reader that stops answering HELLO cannot be brought back for the cases after this one either.
        if (isConformanceError(error, 'EDGEPAY_CONFORMANCE_CASE_FAILED')) abort = `not run: the reader stopped answering HELLO before ${kase.id}`;
        throw error;
      }
    }
    await kase.run(ctx);
    const breach = linkRuleBreach(ctx.link.events.slice(from));
    result = breach === undefined ? done('pass') : done('fail', breach);
  } catch (error) {
    if (!isConformanceError(error)) throw error;
    if (error.code === 'EDGEPAY_CONFORMANCE_LINE_GONE') abort = `not run: ${error.message}`;
    result = done(error.code === 'EDGEPAY_CONFORMANCE_CASE_SKIPPED' ? 'skip' : 'fail', error.message);
  }
  if (abort === undefined) {
    try {
      await ctx.cleanup();
    } catch (error) {
      if (!isConformanceError(error, 'EDGEPAY_CONFORMANCE_LINE_GONE')) throw error;
      abort = `not run: ${error.message}`;
    }
  }
  return abort === undefined ? { result } : { result, abort };
}
