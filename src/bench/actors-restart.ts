import { setTimeout as sleep } from 'node:timers/promises';
import { type ActorHandle, startActor } from '../actors/actor.js';
import { moduleUrl } from '../actors/modules.js';
import { SpareThreads } from '../actors/spare-threads.js';
import type { BenchActorRequest } from './actors-bench-actor.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';

export interface RestartOptions {
  readonly restarts: number;
  /**
   * How long the actor serves before the next crash. A supervisor's backoff spaces real restarts;
   * back-to-back crashes would also leave no time to boot the next spare thread.
   */
  readonly intervalMs: number;
  /** Start each new instance on a spare thread booted ahead of need (SpareThreads). */
  readonly spares: boolean;
}

export interface RestartResult {
  readonly restarts: number;
  readonly spares: boolean;
  readonly intervalMs: number;
  /** Crash request sent → serving its first request again: what a supervisor's restart costs, without backoff. */
  readonly total: LatencySummary;
  /** Crash request sent → `exited` resolved (the thread is gone). */
  readonly detect: LatencySummary;
  /** startActor() → ready (a thread booted or taken, the module loaded, init run). */
  readonly start: LatencySummary;
  /** Ready → the first reply. */
  readonly firstReply: LatencySummary;
}

export async function measureRestarts(options: RestartOptions): Promise<RestartResult> {
  const total = new LatencyRecorder();
  const detect = new LatencyRecorder();
  const start = new LatencyRecorder();
  const firstReply = new LatencyRecorder();
  const spares = options.spares ? new SpareThreads() : undefined;
  const module = moduleUrl('bench/actors-bench-actor');
  const launch = (): Promise<ActorHandle<BenchActorRequest, unknown>> => startActor({ id: 'bench-restart', module, mailboxCapacity: 4, ...(spares ? { spares } : {}) });
  let actor = await launch();
  try {
    await actor.request({ id: 0, body: 0 });
    for (let i = 0; i < options.restarts; i++) {
      await sleep(options.intervalMs);
      const t0 = performance.now();
      // It answers before the crash fires; whether that reply or DOWN arrives first does not matter here.
      actor.request({ crash: true }).catch(() => undefined);
      await actor.exited;
      const t1 = performance.now();
      actor = await launch();
      const t2 = performance.now();
      await actor.request({ id: i, body: i });
      const t3 = performance.now();
      detect.add(t1 - t0);
      start.add(t2 - t1);
      firstReply.add(t3 - t2);
      total.add(t3 - t0);
    }
  } finally {
    await actor.stop(1000);
    await spares?.close();
  }
  return {
    restarts: options.restarts,
    spares: options.spares,
    intervalMs: options.intervalMs,
    total: total.summary(),
    detect: detect.summary(),
    start: start.summary(),
    firstReply: firstReply.summary(),
  };
}
