import { join } from 'node:path';
import { numericCode, parseCurrency } from '../money/index.js';
import { loadReaderProfile } from '../reader/profile.js';
import { makeRunDir } from '../rigs/run-dir.js';
import { BENCH_CURRENCY } from './bench-rules.js';
import { roundTo } from './latency.js';
import { type LaneModeResult, measureLane } from './lane-measure.js';
import { DEFAULT_PAYMENTS, DEFAULT_WARMUP, checkPayments, checkWarmup } from './lane-options.js';
import { requireSocat } from '../rigs/readers/pty-pair.js';
import { startLaneRig } from './lane-rig.js';
import { type LaneWire, laneWire } from './lane-wire.js';
import { type MachineInfo, machineInfo } from './machine.js';

export interface LaneBenchOptions {
  readonly payments?: number;
  readonly warmup?: number;
  /** Parent directory for the nodes' data; default the OS temporary directory. */
  readonly dir?: string;
  readonly keep?: boolean;
  /** Human progress; the report itself is the return value. */
  readonly progress?: (line: string) => void;
}

export interface LaneModeReport extends LaneModeResult {
  readonly paced: boolean;
  /** Round trip minus the critical path's wire time: what software adds to the physics (negative: faster than a real line). */
  readonly overWireMs: { readonly p50: number; readonly p99: number; readonly mean: number };
}

export interface LaneBenchReport {
  readonly bench: 'lane';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly parameters: {
    readonly payments: number;
    readonly warmupPayments: number;
    readonly amountMinor: number;
    readonly currency: string;
    readonly currencyNumeric: number;
    readonly profile: string;
    readonly cards: string;
    readonly seed: number;
    readonly idleGapMs: number;
    readonly targetHeadroomMs: number;
  };
  readonly dataDir: { readonly path: string; readonly kept: boolean };
  readonly wire: LaneWire;
  /** The simulator behaves like a UART at the profile's baud rate: the figures a store would see. */
  readonly paced: LaneModeReport;
  /** The raw pty, as fast as memory: the software's own cost. */
  readonly unpaced: LaneModeReport;
  /** Paced, with a reader in a secure session (protocol 1.1): the card sealed and signed at the reader, checked by the node. */
  readonly securePaced: LaneModeReport & { readonly wire: LaneWire };
  readonly target: { readonly rule: string; readonly p99MaxMs: number; readonly pacedP99Ms: number; readonly meetsTarget: boolean };
  readonly meetsTarget: boolean;
}

const PROFILE = 'edgepay-sim';
/** Below the default floor limit, so the amount is approved offline like an everyday basket. */
const AMOUNT_MINOR = 1250;
const SEED = 7;
/** Lets the node's ACK of TXN_ENDED cross the paced line before the next START_TXN queues behind it. */
const IDLE_GAP_MS = 2;
const TARGET_HEADROOM_MS = 10;

/**
 * One checkout lane end to end, timed from the POS: HTTP POST /v1/payments → START_TXN over a
 * real pty pair → the simulated reader's CARD_DATA → capture, rules, journal fsync → HTTP answer.
 * Twice: once with the simulator paced like a UART at the profile's baud rate, once on the raw
 * pty, beside the wire time of the same frames, which no software can beat.
 */
export async function runLaneBench(options: LaneBenchOptions = {}): Promise<LaneBenchReport> {
  const payments = checkPayments(options.payments ?? DEFAULT_PAYMENTS);
  const warmup = checkWarmup(options.warmup ?? DEFAULT_WARMUP);
  const keep = options.keep === true;
  const progress = options.progress ?? (() => undefined);
  requireSocat();
  const profile = loadReaderProfile(PROFILE);
  const currencyNumeric = numericCode(parseCurrency(BENCH_CURRENCY));
  const startedAt = new Date();
  const began = performance.now();

  const dir = makeRunDir(options.dir);
  try {
    progress(`data directory ${dir.path}`);
    const machine = machineInfo(dir.path);
    const measure = { payments, warmup, amountMinor: AMOUNT_MINOR, currency: BENCH_CURRENCY, idleGapMs: IDLE_GAP_MS };
    const runMode = async (mode: 'paced' | 'unpaced' | 'secure-paced'): Promise<LaneModeResult> => {
      const line = mode === 'unpaced' ? 'raw pty' : `simulator paced at ${profile.serial.baudRate} baud${mode === 'secure-paced' ? ', secure session' : ''}`;
      progress(`${mode}: ${warmup} warm-up + ${payments} payments on one lane (${line})`);
      // A fresh node, journal, pty pair and simulator per mode: no run inherits another's state.
      const rig = await startLaneRig({ dir: join(dir.path, mode), profile: PROFILE, seed: SEED, pace: mode !== 'unpaced', secure: mode === 'secure-paced' });
      let result: LaneModeResult;
      try {
        result = await measureLane(rig, { ...measure, keyPrefix: mode });
      } finally {
        await rig.close();
      }
      progress(`  p50 ${result.roundTrip.p50Ms} ms, p99 ${result.roundTrip.p99Ms} ms, ${result.approved}/${payments} approved, ${result.paymentsPerSec} payments/s`);
      return result;
    };
    const modes = { paced: await runMode('paced'), unpaced: await runMode('unpaced'), securePaced: await runMode('secure-paced') };

    const resultCode = Object.keys(modes.paced.decisionCodes)[0] ?? 'Y3';
    const wire = laneWire({ profile, amountMinor: AMOUNT_MINOR, currencyNumeric, seed: SEED, resultCode });
    const secureWire = laneWire({ profile, amountMinor: AMOUNT_MINOR, currencyNumeric, seed: SEED, resultCode, secure: true });
    progress(`wire time of the critical path: ${wire.criticalPath.bytes} bytes, ${wire.criticalPath.wireMs} ms at ${wire.baudRate} ${wire.lineSettings}`);
    const p99MaxMs = roundTo(wire.criticalPath.wireMs + TARGET_HEADROOM_MS, 4);
    const meetsTarget = modes.paced.failed === 0 && modes.paced.roundTrip.p99Ms <= p99MaxMs;
    return {
      bench: 'lane',
      startedAt: startedAt.toISOString(),
      durationSeconds: roundTo((performance.now() - began) / 1000, 1),
      machine,
      parameters: {
        payments,
        warmupPayments: warmup,
        amountMinor: AMOUNT_MINOR,
        currency: BENCH_CURRENCY,
        currencyNumeric,
        profile: PROFILE,
        cards: 'good',
        seed: SEED,
        idleGapMs: IDLE_GAP_MS,
        targetHeadroomMs: TARGET_HEADROOM_MS,
      },
      dataDir: { path: dir.path, kept: keep },
      wire,
      paced: modeReport(modes.paced, true, wire),
      unpaced: modeReport(modes.unpaced, false, wire),
      securePaced: { ...modeReport(modes.securePaced, true, secureWire), wire: secureWire },
      target: { rule: `paced p99 <= critical-path wire time + ${TARGET_HEADROOM_MS} ms`, p99MaxMs, pacedP99Ms: modes.paced.roundTrip.p99Ms, meetsTarget },
      meetsTarget,
    };
  } finally {
    dir.release(keep);
  }
}

function modeReport(result: LaneModeResult, paced: boolean, wire: LaneWire): LaneModeReport {
  const over = (ms: number): number => roundTo(ms - wire.criticalPath.wireMs, 4);
  return { paced, ...result, overWireMs: { p50: over(result.roundTrip.p50Ms), p99: over(result.roundTrip.p99Ms), mean: over(result.roundTrip.meanMs) } };
}
