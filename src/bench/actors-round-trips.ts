import { Worker } from 'node:worker_threads';
import { type ActorHandle, startActor } from '../actors/actor.js';
import { moduleUrl } from '../actors/modules.js';
import type { BenchActorRequest } from './actors-bench-actor.js';
import { LatencyRecorder, type LatencySummary, percentile, ratePerSecond, roundTo } from './latency.js';

export interface RoundTripOptions {
  /** Measured seconds per side, split across the rounds. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Requests kept in flight: 1 is strictly sequential, more is a pipelined closed loop. */
  readonly outstanding: number;
  /** Raw and actor phases alternate this many times, so a machine that changes speed hits both alike. */
  readonly rounds: number;
}

export interface RoundTripResult {
  readonly outstanding: number;
  readonly roundTrips: number;
  readonly seconds: number;
  readonly roundTripsPerSec: number;
  readonly latency: LatencySummary;
}

export interface PairedRoundTrips {
  /** The physical limit: a small object to a worker thread and back through postMessage, nothing else. */
  readonly raw: RoundTripResult;
  /** The same loop through the actor runtime: correlation ids, a timeout per request, promises, the bounded mailbox. */
  readonly actor: RoundTripResult;
  /** Actor rate / raw rate of each round's adjacent phases. */
  readonly roundRatios: readonly number[];
  /** The median of roundRatios: steadier than the ratio of totals on a machine shared with other work. */
  readonly ratio: number;
}

type Phase = (seconds: number, latency: LatencyRecorder | undefined) => Promise<number>;

export async function measureRoundTrips(options: RoundTripOptions): Promise<PairedRoundTrips> {
  const { outstanding, rounds } = options;
  const raw = await openRawEcho();
  try {
    const actor = await startActor<BenchActorRequest, unknown>({ id: 'bench-echo', module: moduleUrl('bench/actors-bench-actor'), mailboxCapacity: outstanding });
    try {
      const rawPhase: Phase = (seconds, latency) => rawLoop(raw, outstanding, seconds, latency);
      const actorPhase: Phase = (seconds, latency) => actorLoop(actor, outstanding, seconds, latency);
      await rawPhase(options.warmupSeconds, undefined);
      await actorPhase(options.warmupSeconds, undefined);
      const rawTotal = { latency: new LatencyRecorder(), elapsedMs: 0 };
      const actorTotal = { latency: new LatencyRecorder(), elapsedMs: 0 };
      const roundRatios: number[] = [];
      const roundSeconds = options.seconds / rounds;
      for (let round = 0; round < rounds; round++) {
        const rawRate = await timed(rawPhase, roundSeconds, rawTotal);
        const actorRate = await timed(actorPhase, roundSeconds, actorTotal);
        roundRatios.push(rawRate === 0 ? 0 : roundTo(actorRate / rawRate, 3));
      }
      return {
        raw: result(outstanding, rawTotal.latency, rawTotal.elapsedMs),
        actor: result(outstanding, actorTotal.latency, actorTotal.elapsedMs),
        roundRatios,
        ratio: percentile(Float64Array.from(roundRatios).sort(), 0.5),
      };
    } finally {
      await actor.stop(1000);
    }
  } finally {
    await raw.terminate();
  }
}

/** Runs one phase into the running totals and returns its own rate. */
async function timed(phase: Phase, seconds: number, total: { latency: LatencyRecorder; elapsedMs: number }): Promise<number> {
  const before = total.latency.count;
  const elapsedMs = await phase(seconds, total.latency);
  total.elapsedMs += elapsedMs;
  return elapsedMs <= 0 ? 0 : ((total.latency.count - before) * 1000) / elapsedMs;
}

async function openRawEcho(): Promise<Worker> {
  const worker = new Worker(moduleUrl('bench/actors-ping-worker'));
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return worker;
}

function rawLoop(worker: Worker, outstanding: number, seconds: number, latency: LatencyRecorder | undefined): Promise<number> {
  return new Promise((resolve) => {
    // Replies come back in send order, so a ring of send times indexed by id is enough.
    const sentAt = new Float64Array(outstanding);
    const start = performance.now();
    const deadline = start + seconds * 1000;
    let nextId = 0;
    let inFlight = 0;
    let last = start;
    const send = (): void => {
      sentAt[nextId % outstanding] = performance.now();
      worker.postMessage({ id: nextId, body: nextId });
      nextId++;
      inFlight++;
    };
    const onReply = (reply: { id: number }): void => {
      inFlight--;
      last = performance.now();
      latency?.add(last - (sentAt[reply.id % outstanding] as number));
      if (last < deadline) send();
      else if (inFlight === 0) {
        worker.off('message', onReply);
        resolve(last - start);
      }
    };
    worker.on('message', onReply);
    for (let i = 0; i < outstanding; i++) send();
  });
}

async function actorLoop(actor: ActorHandle<BenchActorRequest, unknown>, outstanding: number, seconds: number, latency: LatencyRecorder | undefined): Promise<number> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let nextId = 0;
  let last = start;
  const lane = async (): Promise<void> => {
    while (last < deadline) {
      const sentAt = performance.now();
      const id = nextId++;
      await actor.request({ id, body: id });
      last = performance.now();
      latency?.add(last - sentAt);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, lane));
  return last - start;
}

function result(outstanding: number, latency: LatencyRecorder, elapsedMs: number): RoundTripResult {
  return {
    outstanding,
    roundTrips: latency.count,
    seconds: roundTo(elapsedMs / 1000, 3),
    roundTripsPerSec: ratePerSecond(latency.count, elapsedMs),
    latency: latency.summary(),
  };
}
