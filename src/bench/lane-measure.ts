import { Pool } from 'undici';
import { LatencyRecorder, type LatencySummary, ratePerSecond, roundTo } from './latency.js';
import { type LaneRig, waitForReaderState } from './lane-rig.js';

export interface LaneMeasureOptions {
  readonly payments: number;
  /** Payments run first and not counted: JIT, SQLite's cache and the HTTP connection warm up on them. */
  readonly warmup: number;
  readonly amountMinor: number;
  readonly currency: string;
  /** Pause after the reader is idle again, before the next payment starts (not timed). */
  readonly idleGapMs: number;
  /** Makes idempotency keys unique per phase. */
  readonly keyPrefix: string;
}

export interface LaneModeResult {
  readonly payments: number;
  readonly approved: number;
  readonly declined: number;
  /** Anything else: an HTTP error, a timeout, a payment that ended failed or cancelled. None are expected. */
  readonly failed: number;
  readonly firstFailure: string | null;
  /** Decision codes of the measured payments, e.g. { Y3: 200 }. */
  readonly decisionCodes: Readonly<Record<string, number>>;
  /** POST /v1/payments sent → response body read, in milliseconds (one kept-alive connection). */
  readonly roundTrip: LatencySummary;
  /** Payments per second of lane time: one payment at a time, each starting on an idle line, gaps excluded. */
  readonly paymentsPerSec: number;
  /** The measured phase from its first request to its last answer, gaps included. */
  readonly wallSeconds: number;
}

interface PaymentAnswer {
  readonly status?: string;
  readonly decision?: { readonly code?: string } | null;
  readonly error?: { readonly code?: string; readonly message?: string } | null;
}

/** Generous next to a payment's few milliseconds, short next to the reader's 60 s card wait. */
const PAYMENT_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 10_000;

/**
 * Sequential payments on one lane, as a checkout takes them: each waits until the reader has
 * finished showing the previous result (TXN_ENDED reached the node), as the next customer would.
 */
export async function measureLane(rig: LaneRig, options: LaneMeasureOptions): Promise<LaneModeResult> {
  // One kept-alive connection, as a POS terminal holds to its node; undici's pool rather than
  // fetch, whose WHATWG stream machinery would add its own fraction of a millisecond to every figure.
  const pos = new Pool(rig.apiAddress, { connections: 1, pipelining: 1 });
  try {
    return await measureOn(pos, rig, options);
  } finally {
    await pos.close();
  }
}

async function measureOn(pos: Pool, rig: LaneRig, options: LaneMeasureOptions): Promise<LaneModeResult> {
  const latency = new LatencyRecorder();
  const codes: Record<string, number> = {};
  let approved = 0;
  let declined = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  let busyMs = 0;
  let firstAt = 0;
  let lastAt = 0;
  for (let n = 0; n < options.warmup + options.payments; n++) {
    await waitForReaderState(rig, 'ready', IDLE_TIMEOUT_MS);
    await new Promise((resolve) => setTimeout(resolve, options.idleGapMs));
    const key = `${options.keyPrefix}-${n}`;
    const body = JSON.stringify({ lane: rig.laneId, amountMinor: options.amountMinor, currency: options.currency, reference: `bench-${key}`, idempotencyKey: key });
    const sentAt = performance.now();
    let answer: PaymentAnswer | undefined;
    let problem: string | undefined;
    try {
      const response = await pos.request({
        method: 'POST',
        path: '/v1/payments',
        headers: { ...rig.apiHeaders, 'content-type': 'application/json' },
        body,
        headersTimeout: PAYMENT_TIMEOUT_MS,
        bodyTimeout: PAYMENT_TIMEOUT_MS,
      });
      answer = (await response.body.json()) as PaymentAnswer;
      if (response.statusCode !== 201) problem = `HTTP ${response.statusCode}: ${JSON.stringify(answer)}`;
    } catch (error) {
      problem = `request failed: ${(error as Error).message}`;
    }
    const doneAt = performance.now();
    if (n < options.warmup) continue;
    if (firstAt === 0) firstAt = sentAt;
    lastAt = doneAt;
    latency.add(doneAt - sentAt);
    busyMs += doneAt - sentAt;
    const status = answer?.status;
    if (problem === undefined && (status === 'approved' || status === 'declined')) {
      if (status === 'approved') approved++;
      else declined++;
      const code = answer?.decision?.code ?? '?';
      codes[code] = (codes[code] ?? 0) + 1;
    } else {
      failed++;
      firstFailure ??= `payment ${key}: ${problem ?? `ended ${String(status)}: ${JSON.stringify(answer?.error ?? null)}`}`;
    }
  }
  return {
    payments: options.payments,
    approved,
    declined,
    failed,
    firstFailure,
    decisionCodes: codes,
    roundTrip: latency.summary(),
    paymentsPerSec: ratePerSecond(options.payments, busyMs),
    wallSeconds: roundTo((lastAt - firstAt) / 1000, 3),
  };
}
