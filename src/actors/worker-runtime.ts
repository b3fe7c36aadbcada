/**
 * The worker side of an actor: an actor module calls `runActor(behaviour)` at its top level and
 * this wires the thread's port to the behaviour. It never decides how the actor ended; the parent
 * classifies that from what the thread does (see exit-cause.ts).
 */
import { type MessagePort, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EdgepayError } from '../errors.js';
import { actorThreadName, nameThisThread } from '../platform/thread-name.js';
import { ActorError } from './errors.js';
import { claimAssignment, deferUntilAssigned } from './hosted.js';
import type { ForwardedLog } from './log-record.js';
import { PendingTable } from './pending.js';
import { type ActorWorkerData, DEFAULT_REQUEST_TIMEOUT_MS, type FromWorker, type ToWorker } from './protocol.js';
import { callErrorFrom, toWireError } from './wire-error.js';
import { type ActorLog, forwardingLog } from './worker-log.js';

export type { ActorLog } from './worker-log.js';

export interface CallOptions {
  readonly timeoutMs?: number;
}

export interface ActorContext {
  readonly id: string;
  readonly log: ActorLog;
  /** Sends a request to another actor through the parent's router; rejects with ActorError codes like a parent-side request. */
  call<R = unknown>(to: string, request: unknown, options?: CallOptions): Promise<R>;
  /** The actor has finished its work: drains its mailbox, runs terminate and exits with cause 'normal'. */
  stop(): void;
}

/**
 * An actor's code. Its state is what `init` returns: the runtime hands it to every `handle` and to
 * `terminate`, so an actor module holds no state of its own at module level (gen_server's State).
 */
export interface ActorBehaviour<Req, Res, Init = undefined, State = void> {
  /**
   * How many requests may be in `handle` at once. 1 (the default) is the gen_server discipline:
   * one message at a time, so state needs no locking. Raise it only for handlers that are safe to
   * interleave at their awaits.
   */
  readonly maxConcurrent?: number;
  init?(args: Init, ctx: ActorContext): Promise<State> | State;
  /** A throw or rejection here answers this request with an error; the actor keeps running. */
  handle(request: Req, ctx: ActorContext, state: State): Promise<Res> | Res;
  /** `state` is undefined only when the actor was stopped before its init returned. */
  terminate?(ctx: ActorContext, state: State | undefined): Promise<void> | void;
}

/** Outstanding ctx.call requests per actor: a limit, so a runaway fan-out fails fast instead of queueing. */
export const MAX_OUTSTANDING_CALLS = 1024;

export function runActor<Req, Res, Init = undefined, State = void>(behaviour: ActorBehaviour<Req, Res, Init, State>): void {
  if (isMainThread || parentPort === null) {
    throw new ActorError('EDGEPAY_ACTOR_START_FAILED', 'runActor() must run at the top level of a worker module started by startActor()');
  }
  const port = parentPort;
  // A module a spare thread imported ahead of need starts when the thread is given its actor.
  if (deferUntilAssigned((data) => new WorkerRuntime(port, data, behaviour).start())) return;
  new WorkerRuntime(port, claimAssignment() ?? (workerData as ActorWorkerData), behaviour).start();
}

type Phase = 'init' | 'serving' | 'draining' | 'terminating';

class WorkerRuntime<Req, Res, Init, State> {
  private readonly maxConcurrent: number;
  private readonly ctx: ActorContext;
  private readonly calls: PendingTable<unknown>;
  /** Bounded by the parent: it never has more than mailboxCapacity requests unanswered. */
  private readonly queue: { id: number; body: Req }[] = [];
  private running = 0;
  private pumping = false;
  private phase: Phase = 'init';
  /** What init returned; set before the first request is handled. */
  private state: State | undefined;

  constructor(
    private readonly port: MessagePort,
    private readonly data: ActorWorkerData,
    private readonly behaviour: ActorBehaviour<Req, Res, Init, State>,
  ) {
    const max = behaviour.maxConcurrent ?? 1;
    if (!Number.isSafeInteger(max) || max < 1) throw new ActorError('EDGEPAY_ACTOR_START_FAILED', `maxConcurrent must be a whole number >= 1, got ${max}`);
    this.maxConcurrent = max;
    this.calls = new PendingTable<unknown>({
      keepAfterTimeout: false,
      timeoutError: (timeoutMs, to) => new ActorError('EDGEPAY_ACTOR_TIMEOUT', `call from ${data.actorId} to actor ${to} timed out after ${timeoutMs} ms`, { actorId: to, from: data.actorId, timeoutMs }),
    });
    this.ctx = {
      id: data.actorId,
      log: forwardingLog((record) => this.postLog(record), data.logLevel, {}),
      call: <R>(to: string, request: unknown, options?: CallOptions) => this.call(to, request, options) as Promise<R>,
      stop: () => {
        if (this.phase === 'draining' || this.phase === 'terminating') return;
        this.post({ t: 'done' });
        this.beginStop();
      },
    };
  }

  start(): void {
    nameThisThread(actorThreadName(this.data.actorId));
    const beat = new Int32Array(this.data.heartbeat);
    Atomics.add(beat, 0, 1);
    // unref: the port keeps the thread alive while it should live; the heartbeat must not on its own.
    setInterval(() => Atomics.add(beat, 0, 1), this.data.heartbeatMs).unref();
    this.port.on('message', (message: ToWorker) => this.onMessage(message));
    void this.init();
  }

  private async init(): Promise<void> {
    try {
      this.state = (await this.behaviour.init?.(this.data.init as Init, this.ctx)) as State;
    } catch (error) {
      this.post({ t: 'init-failed', error: toWireError(error) });
      // The parent drains this thread's messages before its 'exit' event, so the reason arrives first.
      process.exit(1);
    }
    // ctx.stop() during init: the thread is already on its way out, so it never claims to be ready.
    if (this.phase !== 'init') return;
    this.phase = 'serving';
    this.post({ t: 'ready' });
  }

  private onMessage(message: ToWorker): void {
    switch (message.t) {
      case 'req':
        // After terminate began the thread is going away; the parent fails whatever is unanswered.
        if (this.phase === 'terminating') return;
        if (this.running < this.maxConcurrent && this.queue.length === 0) this.run(message.id, message.body as Req);
        else this.queue.push({ id: message.id, body: message.body as Req });
        return;
      case 'call-ok':
        this.calls.resolve(message.id, message.body);
        return;
      case 'call-err':
        this.calls.reject(message.id, callErrorFrom(message.error, message.to));
        return;
      case 'stop':
        this.beginStop();
        return;
    }
  }

  private run(id: number, body: Req): void {
    this.running++;
    let result: Promise<Res> | Res;
    try {
      result = this.behaviour.handle(body, this.ctx, this.state as State);
    } catch (error) {
      this.settle(id, false, error);
      return;
    }
    // A synchronous handler replies in the same tick: no promise, no extra microtask on the hot path.
    if (isPromiseLike(result)) {
      result.then(
        (value) => this.settle(id, true, value),
        (error: unknown) => this.settle(id, false, error),
      );
    } else {
      this.settle(id, true, result);
    }
  }

  private settle(id: number, ok: boolean, value: unknown): void {
    this.running--;
    try {
      this.port.postMessage(ok ? { t: 'ok', id, body: value } : { t: 'err', id, error: toWireError(value) });
    } catch (cloneError) {
      // A reply that cannot be cloned fails its request; it must not become an uncaught crash.
      this.port.postMessage({ t: 'err', id, error: toWireError(cloneError) } satisfies FromWorker);
    }
    this.pump();
  }

  /** A loop rather than recursion: synchronous handlers would otherwise nest one frame per queued request. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    while (this.queue.length > 0 && this.running < this.maxConcurrent) {
      // shift() is O(n), and n is bounded by the mailbox capacity.
      const next = this.queue.shift() as { id: number; body: Req };
      this.run(next.id, next.body);
    }
    this.pumping = false;
    if (this.phase === 'draining' && this.running === 0 && this.queue.length === 0) this.terminate();
  }

  private beginStop(): void {
    if (this.phase === 'draining' || this.phase === 'terminating') return;
    this.phase = 'draining';
    this.pump();
  }

  private terminate(): void {
    this.phase = 'terminating';
    Promise.resolve()
      .then(() => this.behaviour.terminate?.(this.ctx, this.state))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          // A failing terminate is a crash like any other uncaught error: the parent sees it as 'crash'.
          process.nextTick(() => {
            throw error;
          });
        },
      );
  }

  private call(to: string, request: unknown, options?: CallOptions): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new EdgepayError('EDGEPAY_BAD_INPUT', `call timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`, { timeoutMs }));
    }
    if (this.calls.size >= MAX_OUTSTANDING_CALLS) {
      return Promise.reject(
        new ActorError('EDGEPAY_ACTOR_OVERLOADED', `actor ${this.data.actorId} has ${MAX_OUTSTANDING_CALLS} calls outstanding`, {
          actorId: this.data.actorId,
          limit: MAX_OUTSTANDING_CALLS,
        }),
      );
    }
    const { id, promise } = this.calls.open(timeoutMs, to);
    try {
      this.port.postMessage({ t: 'call', id, to, body: request, timeoutMs } satisfies FromWorker);
    } catch (cloneError) {
      this.calls.reject(id, new EdgepayError('EDGEPAY_BAD_INPUT', `call to actor ${to} cannot be sent: ${(cloneError as Error).message}`, { actorId: to }, { cause: cloneError }));
    }
    return promise;
  }

  private postLog(record: ForwardedLog): void {
    try {
      this.port.postMessage({ t: 'log', record } satisfies FromWorker);
    } catch {
      // Logging must never crash the actor: fall back to what JSON can carry.
      this.post({ t: 'log', record: { ...record, fields: JSON.parse(safeJson(record.fields)) as Record<string, unknown> } });
    }
  }

  private post(message: FromWorker): void {
    this.port.postMessage(message);
  }
}

function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '{}';
  } catch {
    return '{"unserializable":true}';
  }
}
