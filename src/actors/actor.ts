/**
 * The parent side of an actor: one worker thread, a bounded mailbox of correlated requests, and
 * the classification of how the thread ended, so a supervisor can treat it as a ChildHandle.
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EdgepayError } from '../errors.js';
import type { ChildExit, ChildHandle } from './child.js';
import { isCleanExit } from './child.js';
import { type ActorSettings, type StartActorOptions, actorSettings, isPositive } from './actor-options.js';
import { ActorError } from './errors.js';
import { classifyExit, verdictFromError } from './exit-cause.js';
import { type Logger, emitForwarded, minimumLevel, silentLogger } from './log.js';
import { PendingTable } from './pending.js';
import type { ActorWorkerData, FromWorker, HostAssignment, ToWorker } from './protocol.js';
import { HeartbeatWatch, newHeartbeatBuffer } from './watchdog.js';
import { remoteErrorFrom, toWireError } from './wire-error.js';

export type { ActorRouter, StartActorOptions } from './actor-options.js';

export interface RequestOptions {
  readonly timeoutMs?: number;
}

export interface ActorHandle<Req, Res> extends ChildHandle {
  readonly id: string;
  readonly threadId: number;
  readonly mailboxCapacity: number;
  /** Requests sent and not yet answered, timed-out ones included until their late reply arrives. */
  readonly mailboxDepth: number;
  /**
   * Rejects with ActorError: OVERLOADED at once when the mailbox is full, DOWN at once when the
   * actor is stopping or has exited (or exits while this is in flight), TIMEOUT after timeoutMs,
   * REMOTE_ERROR when the handler threw.
   */
  request(request: Req, options?: RequestOptions): Promise<Res>;
}

/** Resolves once the worker ran init() and said ready; rejects with EDGEPAY_ACTOR_START_FAILED only after its thread is gone. */
export async function startActor<Req, Res>(options: StartActorOptions): Promise<ActorHandle<Req, Res>> {
  const settings = actorSettings(options);
  try {
    const actor = new Actor<Req, Res>(settings);
    await actor.ready;
    return actor;
  } finally {
    settings.spares?.refill(settings.resourceLimits);
  }
}

type State = 'starting' | 'running' | 'stopping' | 'exited';

interface StartFailure {
  readonly reason: 'init_failed' | 'timeout';
  readonly error?: Error;
}

let sharedSilentLogger: Logger | undefined;

class Actor<Req, Res> implements ActorHandle<Req, Res> {
  readonly id: string;
  readonly threadId: number;
  readonly mailboxCapacity: number;
  readonly exited: Promise<ChildExit>;
  readonly ready: Promise<void>;

  private readonly worker: Worker;
  private readonly pending: PendingTable<Res>;
  private readonly watch: HeartbeatWatch;
  private readonly logger: Logger;
  private state: State = 'starting';
  private verdict: ChildExit | undefined;
  private startFailure: StartFailure | undefined;
  private stopRequested = false;
  private selfStopped = false;
  private readonly startedAt = performance.now();
  private startTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private untrackMailbox: (() => void) | undefined;
  private resolveExited!: (exit: ChildExit) => void;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;

  constructor(private readonly settings: ActorSettings) {
    this.id = settings.id;
    this.mailboxCapacity = settings.mailboxCapacity;
    this.logger = settings.logger?.child({ actor: settings.id }) ?? (sharedSilentLogger ??= silentLogger());
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.pending = new PendingTable<Res>({
      keepAfterTimeout: true,
      timeoutError: (timeoutMs) => new ActorError('EDGEPAY_ACTOR_TIMEOUT', `actor ${this.id} did not answer within ${timeoutMs} ms`, { actorId: this.id, timeoutMs }),
    });
    const heartbeat = newHeartbeatBuffer();
    this.watch = new HeartbeatWatch(heartbeat, settings.heartbeatMs, settings.hungAfterMs, (silentMs) => this.onHung(silentMs));
    const workerData: ActorWorkerData = {
      actorId: settings.id,
      init: settings.init,
      heartbeatMs: settings.heartbeatMs,
      heartbeat,
      logLevel: minimumLevel(this.logger),
    };
    try {
      this.worker = spawn(settings, workerData);
    } catch (error) {
      throw new ActorError('EDGEPAY_ACTOR_START_FAILED', `actor ${this.id} could not start its worker: ${(error as Error).message}`, { actorId: this.id, reason: 'worker' }, { cause: error });
    }
    this.threadId = this.worker.threadId;
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
    this.worker.on('error', (error: Error) => this.onError(error));
    this.worker.on('exit', (exitCode: number) => this.onExit(exitCode));
    this.worker.on('messageerror', (error: Error) => this.logger.warn({ err: error }, 'a message from the actor could not be deserialized'));
    this.startTimer = setTimeout(() => this.onStartTimeout(), settings.startTimeoutMs);
  }

  get mailboxDepth(): number {
    return this.pending.size;
  }

  request(request: Req, options?: RequestOptions): Promise<Res> {
    if (this.state !== 'running') return Promise.reject(this.downError());
    if (this.pending.size >= this.mailboxCapacity) return Promise.reject(this.overloadError());
    const timeoutMs = options?.timeoutMs ?? this.settings.requestTimeoutMs;
    if (!isPositive(timeoutMs)) {
      return Promise.reject(new EdgepayError('EDGEPAY_BAD_INPUT', `request timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`, { actorId: this.id, timeoutMs }));
    }
    const { id, promise } = this.pending.open(timeoutMs);
    try {
      this.worker.postMessage({ t: 'req', id, body: request } satisfies ToWorker);
    } catch (cloneError) {
      this.pending.reject(id, new EdgepayError('EDGEPAY_BAD_INPUT', `request to actor ${this.id} cannot be sent: ${(cloneError as Error).message}`, { actorId: this.id }, { cause: cloneError }));
    }
    return promise;
  }

  stop(timeoutMs: number): Promise<ChildExit> {
    if (this.state === 'exited' || this.stopRequested) return this.exited;
    this.stopRequested = true;
    this.state = 'stopping';
    this.worker.postMessage({ t: 'stop' } satisfies ToWorker);
    const graceMs = Number.isFinite(timeoutMs) && timeoutMs >= 0 ? timeoutMs : 0;
    this.killTimer = setTimeout(() => this.kill(), graceMs);
    return this.exited;
  }

  private onMessage(message: FromWorker): void {
    switch (message.t) {
      case 'ok':
        this.pending.resolve(message.id, message.body as Res);
        return;
      case 'err':
        this.pending.reject(message.id, remoteErrorFrom(message.error, this.id));
        return;
      case 'call':
        this.route(message.id, message.to, message.body, message.timeoutMs);
        return;
      case 'log':
        emitForwarded(this.logger, message.record);
        return;
      case 'ready':
        this.onReady();
        return;
      case 'init-failed':
        this.startFailure = { reason: 'init_failed', error: remoteErrorFrom(message.error, this.id) };
        return;
      case 'done':
        this.selfStopped = true;
        if (this.state === 'running') this.state = 'stopping';
        return;
      case 'preloaded':
        // Meant for the spare threads' pacing; it can arrive after the thread became this actor.
        return;
    }
  }

  private onReady(): void {
    if (this.state !== 'starting') return;
    this.state = 'running';
    clearTimeout(this.startTimer);
    this.watch.start();
    this.untrackMailbox = this.settings.metrics?.trackMailbox(this.id, () => this.pending.size);
    this.logger.info({ threadId: this.threadId, startMs: Math.round(performance.now() - this.startedAt) }, 'actor started');
    this.resolveReady();
  }

  private route(id: number, to: string, body: unknown, timeoutMs: number): void {
    const router = this.settings.router;
    if (router === undefined) {
      this.answerCall(id, to, false, new ActorError('EDGEPAY_ACTOR_UNAVAILABLE', `actor ${this.id} has no router, so it cannot reach actor ${to}`, { actorId: to, from: this.id }));
      return;
    }
    let routed: Promise<unknown>;
    try {
      routed = Promise.resolve(router(to, body, timeoutMs));
    } catch (error) {
      routed = Promise.reject(error);
    }
    routed.then(
      (value) => this.answerCall(id, to, true, value),
      (error: unknown) => this.answerCall(id, to, false, error),
    );
  }

  private answerCall(id: number, to: string, ok: boolean, value: unknown): void {
    if (this.state === 'exited') return;
    try {
      this.worker.postMessage((ok ? { t: 'call-ok', id, body: value } : { t: 'call-err', id, to, error: toWireError(value) }) satisfies ToWorker);
    } catch (cloneError) {
      this.worker.postMessage({ t: 'call-err', id, to, error: toWireError(cloneError) } satisfies ToWorker);
    }
  }

  private onError(error: Error): void {
    this.noteVerdict(verdictFromError(error));
  }

  private onHung(silentMs: number): void {
    const error = new ActorError('EDGEPAY_ACTOR_DOWN', `actor ${this.id} sent no heartbeat for ${Math.round(silentMs)} ms`, { actorId: this.id, silentMs });
    this.noteVerdict({ cause: 'hung', error });
    void this.worker.terminate();
  }

  private kill(): void {
    if (this.state === 'exited') return;
    this.noteVerdict({ cause: 'killed' });
    void this.worker.terminate();
  }

  private onStartTimeout(): void {
    if (this.state !== 'starting') return;
    this.startFailure = { reason: 'timeout' };
    void this.worker.terminate();
  }

  /** The first verdict wins; callers are released now rather than when the thread is finally gone. */
  private noteVerdict(verdict: ChildExit): void {
    this.verdict ??= verdict;
    if (this.state === 'running') this.state = 'stopping';
    this.pending.rejectAll(() => this.downError());
  }

  private onExit(exitCode: number): void {
    const exit = classifyExit({ verdict: this.verdict, stopRequested: this.stopRequested, selfStopped: this.selfStopped, exitCode });
    const wasStarting = this.state === 'starting';
    this.verdict = exit;
    this.state = 'exited';
    clearTimeout(this.startTimer);
    clearTimeout(this.killTimer);
    this.watch.stop();
    this.pending.rejectAll(() => this.downError());
    this.untrackMailbox?.();
    if (wasStarting) {
      this.rejectReady(this.startError(exit));
    } else {
      this.settings.metrics?.exited(this.id, exit.cause);
      if (isCleanExit(exit)) this.logger.info({ cause: exit.cause, exitCode }, 'actor exited');
      else this.logger.error({ cause: exit.cause, exitCode, err: exit.error }, 'actor exited abnormally');
    }
    this.resolveExited(exit);
  }

  private startError(exit: ChildExit): ActorError {
    const failure = this.startFailure;
    const reason = failure?.reason ?? exit.cause;
    const why =
      reason === 'timeout'
        ? `was not ready within ${this.settings.startTimeoutMs} ms`
        : reason === 'init_failed'
          ? `failed in init: ${failure?.error?.message ?? 'unknown error'}`
          : `ended before it was ready (${exit.cause}${exit.error ? `: ${exit.error.message}` : `, exit code ${exit.exitCode}`})`;
    return new ActorError('EDGEPAY_ACTOR_START_FAILED', `actor ${this.id} ${why}`, { actorId: this.id, reason, exitCode: exit.exitCode }, { cause: failure?.error ?? exit.error });
  }

  private downError(): ActorError {
    if (this.verdict === undefined) {
      return new ActorError('EDGEPAY_ACTOR_DOWN', `actor ${this.id} is stopping`, { actorId: this.id, state: this.state });
    }
    const { cause, exitCode, error } = this.verdict;
    const details: Record<string, unknown> = { actorId: this.id, cause };
    if (exitCode !== undefined) details.exitCode = exitCode;
    return new ActorError('EDGEPAY_ACTOR_DOWN', `actor ${this.id} is down (${cause})`, details, { cause: error });
  }

  private overloadError(): ActorError {
    this.settings.metrics?.overloaded(this.id);
    this.logger.debug({ mailboxCapacity: this.mailboxCapacity }, 'mailbox full, request rejected');
    return new ActorError('EDGEPAY_ACTOR_OVERLOADED', `actor ${this.id} has ${this.mailboxCapacity} requests unanswered (its mailbox capacity)`, {
      actorId: this.id,
      mailboxCapacity: this.mailboxCapacity,
    });
  }
}

function spawn(settings: ActorSettings, workerData: ActorWorkerData): Worker {
  if (settings.spares === undefined) {
    return new Worker(settings.module, { workerData, ...(settings.resourceLimits ? { resourceLimits: settings.resourceLimits } : {}) });
  }
  const module = typeof settings.module === 'string' && !settings.module.startsWith('file:') ? pathToFileURL(settings.module).href : String(settings.module);
  const worker = settings.spares.take(settings.resourceLimits, module);
  try {
    worker.postMessage({ t: 'host', module, data: workerData } satisfies HostAssignment);
  } catch (error) {
    void worker.terminate();
    throw error;
  }
  return worker;
}
