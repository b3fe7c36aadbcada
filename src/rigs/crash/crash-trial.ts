/**
 * One kill -9 trial of promise P1: a decision is acknowledged only after its journal entry is
 * fsynced, so after SIGKILL every acknowledged decision is still there. A child (crash-child.ts)
 * authorizes under load and prints an ACK line for each durable decision; this side kills it at a
 * random moment, reopens the journal the way a restarted node would, and checks the survivors.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRules } from '../../rules/defaults.js';
import { isEdgepayError } from '../../errors.js';
import { GENESIS_HASH } from '../../journal/entry.js';
import { sqliteFiles } from '../../journal/files.js';
import { type ChainHead, Journal } from '../../journal/journal.js';
import { JournalLock } from '../../journal/lock.js';
import { verifyChain } from '../../journal/verify.js';
import { SeededRandom } from '../../platform/random.js';
import { StandIn } from '../../standin/stand-in.js';

export interface CrashTrialOptions {
  /** Holds the trial's journal (journal.db); created if missing. */
  readonly dir: string;
  /** Drives the kill timing and the child's requests; random when omitted. */
  readonly seed?: number;
  /** The kill comes killAfterMsMin..killAfterMsMax ms after the child is ready (defaults 20 and 400). */
  readonly killAfterMsMin?: number;
  readonly killAfterMsMax?: number;
  /** The compiled child; defaults to crash-child.js beside this module (right when running from dist/). */
  readonly childScript?: string;
  /**
   * Continue the chain already in `dir` (a node restarting after its previous crash) instead of
   * starting from an empty journal, which is the default.
   */
  readonly reuseJournal?: boolean;
  /** Concurrent request loops in the child (default 32). */
  readonly concurrency?: number;
  readonly nodeId?: string;
  /** How long the child may take to open the journal before the trial counts as failed (default 30 s). */
  readonly readyTimeoutMs?: number;
}

export type KillMode = 'timer' | 'after-acks';

export interface CrashTrialResult {
  readonly ok: boolean;
  /** One sentence per violation; empty when ok. */
  readonly problems: readonly string[];
  readonly journalPath: string;
  readonly seed: number;
  /** Decisions the child acknowledged before it died. */
  readonly acked: number;
  readonly ackedApproved: number;
  /** Chain length before the child started (0 unless reuseJournal continued a chain). */
  readonly entriesBefore: number;
  readonly entriesAfterReopen: number;
  /** Entries made durable but never acknowledged (killed between commit and ACK): allowed, P1 is one-way. */
  readonly unacknowledgedDurable: number;
  /** What triggered the kill: the random timer, or an ACK arriving when the count hit a random target (mid-burst). */
  readonly killMode: KillMode;
  /** Milliseconds from READY to the kill signal (undefined if the child never became ready). */
  readonly killedAfterMs: number | undefined;
  readonly child: { readonly code: number | null; readonly signal: NodeJS.Signals | null };
  readonly durationMs: number;
}

interface AckLine {
  readonly seq: number;
  readonly key: string;
  readonly hash: string;
  readonly approved: boolean;
}

const DEFAULT_NODE_ID = 'crash-node';
const ACK_PATTERN = /^ACK (\d+) ([\x21-\x7e]{1,128}) ([0-9a-f]{64}) ([01])$/;
const READY_PATTERN = /^READY ([0-9a-f]+) (\d+)$/;
const STDERR_KEEP = 4000;

/** Exit codes of crash-child.ts, for readable problem reports. */
const CHILD_EXIT_MEANING: Readonly<Record<number, string>> = {
  2: 'bad usage',
  4: 'a retry did not replay the original decision',
  5: 'an unexpected failure (a 91 decline, a rejection or an exception)',
  6: 'its stdout was closed',
};

export function defaultChildScript(): string {
  return fileURLToPath(new URL('./crash-child.js', import.meta.url));
}

export async function runCrashTrial(options: CrashTrialOptions): Promise<CrashTrialResult> {
  const started = performance.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = new SeededRandom(seed);
  const killMin = options.killAfterMsMin ?? 20;
  const killMax = options.killAfterMsMax ?? 400;
  if (!Number.isSafeInteger(killMin) || !Number.isSafeInteger(killMax) || killMin < 0 || killMax < killMin) {
    throw new RangeError(`kill window must be whole milliseconds with 0 <= killAfterMsMin <= killAfterMsMax, got ${killMin}..${killMax}`);
  }
  const childScript = options.childScript ?? defaultChildScript();
  if (!existsSync(childScript)) {
    throw new Error(`crash child ${childScript} does not exist; run \`npm run build\` first (it compiles src/rigs/crash/crash-child.ts)`);
  }
  const nodeId = options.nodeId ?? DEFAULT_NODE_ID;
  const path = join(options.dir, 'journal.db');
  mkdirSync(options.dir, { recursive: true });
  if (!options.reuseJournal) {
    for (const file of [...sqliteFiles(path), JournalLock.lockPathOf(path)]) rmSync(file, { force: true });
  }

  const problems: string[] = [];
  const before = headBefore(path, nodeId, problems);
  // A quarter of the trials kill on an ACK rather than on a timer: the child is then certainly mid-burst.
  const plannedMode: KillMode = random.int(4) === 0 ? 'after-acks' : 'timer';
  const killDelayMs = plannedMode === 'timer' ? killMin + random.int(killMax - killMin + 1) : killMax;
  const ackTarget = 1 + random.int(400);
  let killMode: KillMode = 'timer';

  const child = spawn(process.execPath, [childScript, path, nodeId, String(options.concurrency ?? 32), String(1 + random.int(2 ** 31 - 2))], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: AckLine[] = [];
  let runId: string | undefined;
  let readyAt: number | undefined;
  let killedAt: number | undefined;
  let stdoutRest = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;

  const kill = (trigger: KillMode): void => {
    if (killedAt !== undefined) return;
    killedAt = performance.now();
    killMode = trigger;
    clearTimeout(killTimer);
    child.kill('SIGKILL');
  };
  const readyTimer = setTimeout(() => {
    if (readyAt === undefined) {
      problems.push(`the child did not print READY within ${options.readyTimeoutMs ?? 30_000} ms`);
      kill('timer');
    }
  }, options.readyTimeoutMs ?? 30_000);

  const onLine = (line: string): void => {
    const ack = ACK_PATTERN.exec(line);
    if (ack) {
      acks.push({ seq: Number(ack[1]), key: ack[2]!, hash: ack[3]!, approved: ack[4] === '1' });
      if (plannedMode === 'after-acks' && acks.length >= ackTarget) kill('after-acks');
      return;
    }
    const ready = READY_PATTERN.exec(line);
    if (ready && readyAt === undefined) {
      runId = ready[1];
      readyAt = performance.now();
      const childHead = Number(ready[2]);
      if (childHead !== before.seq) problems.push(`the child opened the journal at head ${childHead}, but it was at ${before.seq} before`);
      clearTimeout(readyTimer);
      killTimer = setTimeout(() => kill('timer'), killDelayMs);
      return;
    }
    problems.push(`unexpected line from the child: ${JSON.stringify(line.slice(0, 200))}`);
  };

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (stdoutRest + chunk).split('\n');
    // An unterminated last line stays here: if the kill cut it short, its decision was never announced.
    stdoutRest = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < STDERR_KEEP) stderr += chunk;
  });

  // 'close' comes after the exit and after both pipes are drained, so every ACK written before the kill is in.
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(readyTimer);
  clearTimeout(killTimer);
  if (exit.signal !== 'SIGKILL' || killedAt === undefined) {
    const meaning = exit.code !== null ? (CHILD_EXIT_MEANING[exit.code] ?? 'unknown') : 'killed by someone else';
    problems.push(`the child ended by itself (code ${exit.code}, signal ${exit.signal}: ${meaning}) instead of being killed${stderr ? `; its stderr: ${stderr.trim().slice(0, STDERR_KEEP)}` : ''}`);
  }

  const after = checkAfterCrash(path, nodeId, before, acks, runId, problems);
  return {
    ok: problems.length === 0,
    problems,
    journalPath: path,
    seed,
    acked: acks.length,
    ackedApproved: acks.filter((a) => a.approved).length,
    entriesBefore: before.seq,
    entriesAfterReopen: after.entries,
    unacknowledgedDurable: Math.max(0, after.entries - before.seq - acks.length),
    killMode,
    killedAfterMs: killedAt !== undefined && readyAt !== undefined ? Math.round(killedAt - readyAt) : undefined,
    child: exit,
    durationMs: Math.round(performance.now() - started),
  };
}

function headBefore(path: string, nodeId: string, problems: string[]): ChainHead {
  if (!existsSync(path)) return { seq: 0, hash: GENESIS_HASH };
  try {
    const journal = Journal.open({ path, nodeId });
    try {
      return journal.chainHead();
    } finally {
      journal.close();
    }
  } catch (error) {
    problems.push(`the journal to continue did not open before the trial: ${describe(error)}`);
    return { seq: 0, hash: GENESIS_HASH };
  }
}

/** What a restarted node does, plus the checks of P1 against what the child announced. */
function checkAfterCrash(path: string, nodeId: string, before: ChainHead, acks: readonly AckLine[], runId: string | undefined, problems: string[]): { entries: number } {
  let journal: Journal;
  try {
    // The child's lock file is left behind; its pid is dead, so the lock is stale and taken over.
    journal = Journal.open({ path, nodeId });
  } catch (error) {
    problems.push(`reopening the journal after the kill failed: ${describe(error)}`);
    return { entries: 0 };
  }
  try {
    const db = journal.connection();
    const report = verifyChain(db, { nodeId });
    if (!report.ok) problems.push(`the chain does not verify after the kill: ${report.problem?.kind} at ${report.problem?.seq}: ${report.problem?.message}`);
    const head = journal.chainHead();
    const { n } = db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number };
    if (n !== head.seq) problems.push(`the journal holds ${n} entries but its head is ${head.seq}: sequence numbers are missing`);
    if (report.ok && report.headSeq !== head.seq) problems.push(`verify ended at ${report.headSeq} but the journal's head is ${head.seq}`);

    if (head.seq < before.seq) problems.push(`the chain shrank from ${before.seq} to ${head.seq} entries`);
    if (before.seq > 0) {
      const previousHead = journal.getBySeq(before.seq);
      if (previousHead?.hash !== before.hash) problems.push(`entry ${before.seq}, the head before the trial, changed or vanished`);
    }

    const seen = new Map<number, string>();
    let missing = 0;
    for (const ack of acks) {
      const other = seen.get(ack.seq);
      if (other !== undefined) problems.push(`sequence ${ack.seq} was acknowledged for two keys: ${other} and ${ack.key}`);
      seen.set(ack.seq, ack.key);
      if (ack.seq <= before.seq) problems.push(`acknowledged ${ack.key} as sequence ${ack.seq}, which already existed before the trial`);
      const entry = journal.getBySeq(ack.seq);
      if (entry === undefined) {
        // One line per lost entry would drown the report after a catastrophic loss; the count says it.
        if (missing++ < 10) problems.push(`acknowledged sequence ${ack.seq} (${ack.key}) is missing after the kill`);
        continue;
      }
      if (entry.idempotencyKey !== ack.key) problems.push(`sequence ${ack.seq} was acknowledged for ${ack.key} but holds ${entry.idempotencyKey}`);
      if (entry.hash !== ack.hash) problems.push(`sequence ${ack.seq} (${ack.key}) has hash ${entry.hash}, acknowledged ${ack.hash}`);
      if (entry.decision.approved !== ack.approved) problems.push(`sequence ${ack.seq} (${ack.key}) changed its decision from approved=${ack.approved}`);
    }
    if (missing > 10) problems.push(`${missing} acknowledged entries are missing in all`);

    if (runId !== undefined) {
      // Keys are `cr-<runId>-...`; anything else past the old head came from somewhere else.
      const { others } = db.prepare('SELECT count(*) AS others FROM entries WHERE seq > ? AND substr(idempotency_key, 1, length(?)) <> ?').get(before.seq, `cr-${runId}-`, `cr-${runId}-`) as { others: number };
      if (others > 0) problems.push(`${others} entries after the old head do not belong to this trial's run ${runId}`);
    }
    if (head.seq - before.seq < acks.length) problems.push(`${acks.length} decisions were acknowledged but only ${head.seq - before.seq} entries were added`);

    checkExposureRebuild(journal, problems);
    return { entries: head.seq };
  } finally {
    journal.close();
  }
}

/** The restarted node's exposure comes from the journal alone; it must count every live approval once. */
function checkExposureRebuild(journal: Journal, problems: string[]): void {
  let stored: number;
  try {
    stored = StandIn.open({ journal, rules: defaultRules() }).exposureView().stats().storedApprovals;
  } catch (error) {
    problems.push(`rebuilding exposure after the kill failed: ${describe(error)}`);
    return;
  }
  const { live } = journal
    .connection()
    .prepare(
      `SELECT count(*) AS live FROM entries a
        WHERE a.kind = 'authorization' AND a.approved = 1 AND a.decision_mode = 'offline'
          AND NOT EXISTS (SELECT 1 FROM entries v WHERE v.ref_seq = a.seq AND v.kind = 'void' AND v.approved = 1)
          AND NOT EXISTS (SELECT 1 FROM forwarded f WHERE f.seq = a.seq)`,
    )
    .get() as { live: number };
  if (stored !== live) problems.push(`rebuilt exposure holds ${stored} stored approvals, the journal has ${live} unvoided, unforwarded ones`);
}

function describe(error: unknown): string {
  if (isEdgepayError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
