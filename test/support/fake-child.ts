import type { ChildExit, ChildHandle, ChildSpec, ExitCause, RestartType } from '../../src/actors/child.js';
import type { SupervisorEvent } from '../../src/actors/supervisor-events.js';
import { FakeTimers } from './supervisor-timers.js';

export const EXIT_CAUSES: readonly ExitCause[] = ['normal', 'shutdown', 'crash', 'exit', 'resource_limits', 'hung', 'killed', 'escalated', 'start_failed'];

/**
 * How a fake child answers stop(timeoutMs):
 * - graceful: exits 'shutdown' after delayMs (default at once), or is killed at timeoutMs if that is sooner;
 * - ignore: keeps running until its handle kills it at timeoutMs ('killed'), as the real runtime does;
 * - never: a broken handle whose stop() and exited never settle, to exercise the supervisor's own guard.
 */
export type StopBehavior = { readonly kind: 'graceful'; readonly delayMs?: number } | { readonly kind: 'ignore' } | { readonly kind: 'never' };

export interface FakeSpecOptions {
  readonly restart?: RestartType;
  readonly shutdownTimeoutMs?: number;
  readonly startDelayMs?: number;
}

/** An in-memory ChildHandle: one instance of one fake child, driven by its FakeWorld. */
export class FakeChild implements ChildHandle {
  readonly exited: Promise<ChildExit>;
  private settleExit: (exit: ChildExit) => void = () => undefined;
  private done = false;
  private stopRequested = false;
  private readonly timers: unknown[] = [];

  constructor(
    private readonly world: FakeWorld,
    readonly id: string,
    readonly instance: number,
  ) {
    this.exited = new Promise((resolve) => {
      this.settleExit = resolve;
    });
  }

  get alive(): boolean {
    return !this.done;
  }

  exit(cause: ExitCause, error?: Error): void {
    if (this.done) return;
    this.done = true;
    for (const timer of this.timers) this.world.timers.clearTimeout(timer);
    const exit: ChildExit = error === undefined ? { cause } : { cause, error };
    this.world.recordExit(this, exit);
    this.settleExit(exit);
  }

  stop(timeoutMs: number): Promise<ChildExit> {
    if (this.done || this.stopRequested) return this.exited;
    this.stopRequested = true;
    this.world.log.push(`stop:${this.id}`);
    const behavior = this.world.stopBehaviorOf(this.id);
    if (behavior.kind === 'never') return new Promise<ChildExit>(() => undefined);
    this.timers.push(this.world.timers.setTimeout(() => this.exit('killed'), timeoutMs));
    if (behavior.kind === 'graceful') {
      const delayMs = behavior.delayMs ?? 0;
      if (delayMs === 0) queueMicrotask(() => this.exit('shutdown'));
      else this.timers.push(this.world.timers.setTimeout(() => this.exit('shutdown'), delayMs));
    }
    return this.exited;
  }
}

/**
 * All fake children of a test: makes their specs, injects faults, and keeps a global log of
 * starts, stop requests and exits so tests can check ordering. Counts live instances per id from
 * the moment start() is called until exited settles, recording any overlap as a violation.
 */
export class FakeWorld {
  readonly log: string[] = [];
  readonly violations: string[] = [];
  private readonly live = new Map<string, number>();
  private readonly latest = new Map<string, FakeChild>();
  private readonly startCounts = new Map<string, number>();
  private readonly startFailures = new Map<string, number>();
  private readonly stopBehaviors = new Map<string, StopBehavior>();

  constructor(readonly timers: FakeTimers = new FakeTimers()) {}

  spec(id: string, options: FakeSpecOptions = {}): ChildSpec<FakeChild> {
    return {
      id,
      restart: options.restart ?? 'permanent',
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 100,
      start: () => this.start(id, options.startDelayMs ?? 0),
    };
  }

  /** The newest instance of id, if it has not exited. */
  child(id: string): FakeChild | undefined {
    const child = this.latest.get(id);
    return child?.alive === true ? child : undefined;
  }

  crash(id: string, cause: ExitCause = 'crash'): boolean {
    const child = this.child(id);
    child?.exit(cause, cause === 'normal' || cause === 'shutdown' ? undefined : new Error(`${id} injected ${cause}`));
    return child !== undefined;
  }

  failStarts(id: string, count: number): void {
    this.startFailures.set(id, count);
  }

  setStopBehavior(id: string, behavior: StopBehavior): void {
    this.stopBehaviors.set(id, behavior);
  }

  stopBehaviorOf(id: string): StopBehavior {
    return this.stopBehaviors.get(id) ?? { kind: 'graceful' };
  }

  liveCount(id: string): number {
    return this.live.get(id) ?? 0;
  }

  totalLive(): number {
    let total = 0;
    for (const count of this.live.values()) total += count;
    return total;
  }

  /** Successful starts of id so far. */
  starts(id: string): number {
    return this.startCounts.get(id) ?? 0;
  }

  /** The log entries of one kind, e.g. entries('stop') → ['c', 'b', 'a']. */
  entries(kind: 'start' | 'stop' | 'exit' | 'start_failed'): string[] {
    return this.log.filter((line) => line.startsWith(`${kind}:`)).map((line) => line.slice(kind.length + 1));
  }

  recordExit(child: FakeChild, exit: ChildExit): void {
    this.bump(child.id, -1);
    this.log.push(`exit:${child.id}:${exit.cause}`);
  }

  private async start(id: string, delayMs: number): Promise<FakeChild> {
    if (this.liveCount(id) > 0) this.violations.push(`${id} started at ${this.timers.now()} ms while an instance was live`);
    this.bump(id, +1);
    if (delayMs > 0) await new Promise<void>((resolve) => this.timers.setTimeout(resolve, delayMs));
    const failures = this.startFailures.get(id) ?? 0;
    if (failures > 0) {
      this.startFailures.set(id, failures - 1);
      this.bump(id, -1);
      this.log.push(`start_failed:${id}`);
      throw new Error(`${id} refused to start`);
    }
    const count = this.starts(id) + 1;
    this.startCounts.set(id, count);
    const child = new FakeChild(this, id, count);
    this.latest.set(id, child);
    this.log.push(`start:${id}`);
    return child;
  }

  private bump(id: string, delta: number): void {
    this.live.set(id, this.liveCount(id) + delta);
  }
}

/** Collects a supervisor's events; `of(type)` narrows them for assertions. */
export class EventLog {
  readonly events: SupervisorEvent[] = [];
  readonly listener = (event: SupervisorEvent): void => {
    this.events.push(event);
  };

  of<T extends SupervisorEvent['type']>(type: T): Extract<SupervisorEvent, { type: T }>[] {
    return this.events.filter((event): event is Extract<SupervisorEvent, { type: T }> => event.type === type);
  }
}
