/**
 * The victim process of the crash test (P1). It authorizes under load and announces every durable
 * decision on stdout, synchronously, the moment its promise resolves; the parent SIGKILLs it at a
 * random moment and then checks that every announced decision survived.
 *
 * Usage: node dist/rigs/crash/crash-child.js <journalPath> <nodeId> [concurrency] [seed] [maxLifeMs]
 *
 * Protocol on stdout, one line each:
 *   READY <runId> <headSeq>                           once the journal and stand-in are open
 *   ACK <seq> <idempotencyKey> <hash> <approved 0|1>   a decision whose entry is durable
 * Problems go to stderr and end the process with a non-zero code, which the parent reports.
 */
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { parseRules } from '../../rules/rules.js';
import { defaultRulesConfig } from '../../rules/defaults.js';
import type { CardFacts } from '../../card/card-facts.js';
import { tokenizePan } from '../../card/capture.js';
import { withLuhnDigit } from '../../card/luhn.js';
import { Journal } from '../../journal/journal.js';
import { SeededRandom, type RandomSource } from '../../platform/random.js';
import { StandIn } from '../../standin/stand-in.js';
import type { Outcome } from '../../standin/outcome.js';

/** Exit codes the parent (crash-trial.ts) translates into problems. */
const CHILD_EXIT = {
  usage: 2,
  /** A retry did not replay the original decision. */
  replayMismatch: 4,
  /** A request failed in a way a healthy journal never produces (91, rejection). */
  unexpected: 5,
  /** The parent went away (stdout closed). */
  parentGone: 6,
} as const;

interface Acked {
  readonly request: AuthorizationInput;
  readonly seq: number;
  readonly approved: boolean;
  voided: boolean;
}

interface AuthorizationInput {
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly card: CardFacts;
  readonly lane: string;
  readonly reference: string;
}

const TOKEN_KEY = Buffer.alloc(32, 11);
const CARD_POOL_SIZE = 96;
/** Bounds the memory of the retry/void pool; old keys are as good as new ones for a retry. */
const ACKED_POOL_MAX = 4096;

function fail(code: number, message: string): never {
  try {
    writeSync(2, `crash-child: ${message}\n`);
  } catch {
    // stderr gone too: the exit code still tells the parent
  }
  process.exit(code);
}

/**
 * Writes one whole line to stdout before returning, so an ACK is in the pipe before the next
 * instruction runs and a SIGKILL right after cannot lose it. fd 1 is normally blocking in a child;
 * EAGAIN is retried in case the parent handed over a non-blocking pipe.
 */
function writeLine(line: string): void {
  const bytes = Buffer.from(`${line}\n`, 'utf8');
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset, bytes.length - offset);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') process.exit(CHILD_EXIT.parentGone);
      throw cause;
    }
  }
}

function parsePositive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) fail(CHILD_EXIT.usage, `${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * A card pool with a few cards that must be declined, so the crash test covers declines as well:
 * expired cards, Luhn failures and a hot card. Sealing is replaced by random bytes of realistic
 * size: the journal stores the blob, it never opens it.
 */
function cardPool(random: RandomSource): { cards: CardFacts[]; hotToken: string } {
  const cards: CardFacts[] = [];
  for (let i = 0; i < CARD_POOL_SIZE; i++) {
    const pan = withLuhnDigit(`4000${String(i).padStart(11, '0')}`);
    const expired = i % 19 === 7;
    const badCheckDigit = i % 23 === 5;
    cards.push({
      token: tokenizePan(pan, TOKEN_KEY),
      last4: pan.slice(-4),
      expiryYear: expired ? 2020 : 2030 + (i % 5),
      expiryMonth: 1 + (i % 12),
      checkDigitValid: !badCheckDigit,
      sealed: random.bytes(80),
    });
  }
  return { cards, hotToken: cards[CARD_POOL_SIZE - 1]!.token };
}

function crashRules(hotToken: string) {
  const config = defaultRulesConfig();
  const huge = 1_000_000_000_000;
  return parseRules({
    ...config,
    perCard: { ...config.perCard, maxCount: 1_000_000_000, maxAmountMinor: { EUR: huge, USD: huge, GBP: huge } },
    node: { ...config.node, maxStoredCount: 1_000_000_000, maxStoredAmountMinor: { EUR: huge, USD: huge, GBP: huge } },
    hotCards: { version: 1, tokens: [hotToken] },
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const [path, nodeId, concurrencyArg, seedArg, maxLifeArg] = argv;
  if (path === undefined || nodeId === undefined) {
    fail(CHILD_EXIT.usage, 'usage: crash-child.js <journalPath> <nodeId> [concurrency] [seed] [maxLifeMs]');
  }
  const concurrency = parsePositive(concurrencyArg, 'concurrency', 32);
  const seed = parsePositive(seedArg, 'seed', Date.now());
  const maxLifeMs = parsePositive(maxLifeArg, 'maxLifeMs', 120_000);
  // The run id is not seeded: a reopened journal must never see the same keys again.
  const runId = randomBytes(6).toString('hex');
  const random = new SeededRandom(seed);

  // An orphan (parent killed) must not load the machine for ever.
  setTimeout(() => fail(CHILD_EXIT.unexpected, `still alive after ${maxLifeMs} ms; the parent should have killed it`), maxLifeMs).unref();

  const { cards, hotToken } = cardPool(random);
  const journal = Journal.open({ path, nodeId });
  const standIn = StandIn.open({ journal, rules: crashRules(hotToken) });
  writeLine(`READY ${runId} ${journal.chainHead().seq}`);

  const acked: Acked[] = [];
  let counter = 0;

  const ack = (outcome: Outcome, key: string): void => {
    const entry = outcome.entry;
    if (entry === null) {
      fail(CHILD_EXIT.unexpected, `${key}: no entry (${outcome.decision.code}: ${outcome.failure?.code ?? ''} ${outcome.failure?.message ?? outcome.decision.reason})`);
    }
    if (outcome.replayed) fail(CHILD_EXIT.unexpected, `${key}: a fresh key was answered as a replay of entry ${entry.seq}`);
    writeLine(`ACK ${entry.seq} ${entry.idempotencyKey} ${entry.hash} ${entry.decision.approved ? 1 : 0}`);
  };

  const newAuthorization = async (loop: number): Promise<void> => {
    counter++;
    const card = cards[random.int(cards.length)]!;
    const aboveFloor = random.int(10) === 0;
    const request: AuthorizationInput = {
      idempotencyKey: `cr-${runId}-${loop}-${counter}`,
      amountMinor: aboveFloor ? 5_001 + random.int(20_000) : 100 + random.int(4_900),
      currency: random.int(8) === 0 ? 'USD' : 'EUR',
      card,
      lane: `lane-${loop % 8}`,
      reference: `crash-${counter}`,
    };
    const outcome = await standIn.authorize(request);
    ack(outcome, request.idempotencyKey);
    const entry = outcome.entry!;
    if (acked.length >= ACKED_POOL_MAX) acked.splice(random.int(acked.length), 1);
    acked.push({ request, seq: entry.seq, approved: entry.decision.approved, voided: false });
  };

  const retry = async (): Promise<void> => {
    const earlier = acked[random.int(acked.length)]!;
    const outcome = await standIn.authorize(earlier.request);
    if (!outcome.replayed || outcome.entry === null || outcome.entry.seq !== earlier.seq) {
      fail(CHILD_EXIT.replayMismatch, `retry of ${earlier.request.idempotencyKey} (entry ${earlier.seq}) came back replayed=${outcome.replayed} ` + `seq=${outcome.entry?.seq ?? 'none'} code=${outcome.decision.code}`);
    }
  };

  const voidEarlier = async (): Promise<void> => {
    const candidate = acked.find((a) => a.approved && !a.voided);
    if (candidate === undefined) return;
    // Marked before the await so two loops never void the same authorization.
    candidate.voided = true;
    const key = `${candidate.request.idempotencyKey}-void`;
    const outcome = await standIn.followUp({ kind: 'void', idempotencyKey: key, originalIdempotencyKey: candidate.request.idempotencyKey });
    ack(outcome, key);
    if (!outcome.decision.approved) fail(CHILD_EXIT.unexpected, `void ${key} of entry ${candidate.seq} was refused: ${outcome.decision.reason}`);
  };

  const loop = async (id: number): Promise<void> => {
    for (;;) {
      const roll = random.int(100);
      try {
        if (roll < 5 && acked.length > 0) await retry();
        else if (roll < 10 && acked.length > 0) await voidEarlier();
        else await newAuthorization(id);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        fail(CHILD_EXIT.unexpected, `request rejected: ${String(code ?? '')} ${(error as Error).message ?? String(error)}`);
      }
    }
  };

  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  fail(CHILD_EXIT.unexpected, (error as Error)?.stack ?? String(error));
});
