import type { ChildExit, ChildHandle, ChildSpec } from './child.js';
import { backoffDelayMs } from './supervisor-backoff.js';
import { RestartBudget } from './supervisor-budget.js';
import { SupervisorError, toError } from './supervisor-errors.js';
import { type EventSink, createEventSink } from './supervisor-events.js';
import { SupervisorMailbox } from './supervisor-mailbox.js';
import { type SupervisorConfig, type SupervisorOptions, normalizeOptions } from './supervisor-options.js';
import { type RestartPlan, RestartPlans } from './supervisor-plans.js';
import { type ChildState, restartScope, shouldRestart } from './supervisor-policy.js';
import { type StopOutcome, stopChild } from './supervisor-shutdown.js';

// One import site for callers; the helpers stay in their own small files.
export type { BackoffOptions } from './supervisor-backoff.js';
export { SupervisorError, isSupervisorError, type SupervisorErrorCode } from './supervisor-errors.js';
export type { SupervisorEvent } from './supervisor-events.js';
export type { SupervisorOptions } from './supervisor-options.js';
export type { ChildState, SupervisorStrategy } from './supervisor-policy.js';
export { type SupervisorTimers, systemTimers } from './supervisor-timers.js';

export interface SupervisorChildInfo {
  readonly id: string;
  readonly state: ChildState;
  /** Restart attempts so far (successful or not), not counting the first start. */
  readonly restarts: number;
}

/** A supervisor is itself a ChildHandle, so a parent's ChildSpec.start can start one: trees nest. */
export interface SupervisorHandle extends ChildHandle {
  readonly id: string;
  /**
   * The child's current instance while it is running, else undefined (down, in backoff, being
   * restarted or stopped). Ask again after a restart: an old handle stays dead. Passing the spec
   * instead of its id infers the handle type.
   */
  whereis<H extends ChildHandle = ChildHandle>(child: string | ChildSpec<H>): H | undefined;
  children(): SupervisorChildInfo[];
  /**
   * Stops children in reverse start order, each with its own shutdownTimeoutMs. With a finite
   * timeoutMs the whole stop shares that budget: a child left with less than its own timeout gets
   * what is left, and the exit is 'killed' if any child then had to be killed.
   */
  stop(timeoutMs?: number): Promise<ChildExit>;
}

export async function startSupervisor(options: SupervisorOptions): Promise<SupervisorHandle> {
  const supervisor = new Supervisor(normalizeOptions(options));
  await supervisor.startAll();
  return supervisor;
}

interface Instance {
  readonly handle: ChildHandle;
  /** Cleared the moment exited settles, before the mailbox gets to it, so whereis never returns a corpse. */
  alive: boolean;
}

interface Slot {
  readonly spec: ChildSpec;
  readonly index: number;
  state: ChildState;
  instance: Instance | undefined;
  startedAtMs: number;
  restarts: number;
  /** Failures since the child last stayed up for a whole period: the backoff exponent. */
  consecutiveFailures: number;
}

const byIndex = (a: Slot, b: Slot): number => a.index - b.index;

class Supervisor implements SupervisorHandle {
  readonly id: string;
  readonly exited: Promise<ChildExit>;
  private settleExited: (exit: ChildExit) => void = () => undefined;
  private readonly slots: readonly Slot[];
  private readonly slotsById: ReadonlyMap<string, Slot>;
  private readonly plans: RestartPlans<Slot>;
  private readonly budget: RestartBudget;
  private readonly mailbox: SupervisorMailbox;
  private readonly emit: EventSink;
  /** Set the moment stop or escalation begins: from then on nothing is restarted. */
  private stopRequested = false;
  private terminated = false;

  constructor(private readonly config: SupervisorConfig) {
    this.id = config.id;
    this.exited = new Promise((resolve) => {
      this.settleExited = resolve;
    });
    this.slots = config.children.map((spec, index) => ({
      spec,
      index,
      state: 'stopped',
      instance: undefined,
      startedAtMs: 0,
      restarts: 0,
      consecutiveFailures: 0,
    }));
    this.slotsById = new Map(this.slots.map((slot) => [slot.spec.id, slot]));
    this.budget = new RestartBudget(config.intensity, config.periodMs);
    this.mailbox = new SupervisorMailbox((error) => this.crashed(error));
    this.plans = new RestartPlans(config.timers, (plan) => this.mailbox.post(() => this.runPlan(plan)));
    this.emit = createEventSink(config.id, () => this.now(), config.logger, config.onEvent);
  }

  whereis<H extends ChildHandle = ChildHandle>(child: string | ChildSpec<H>): H | undefined {
    const slot = this.slotsById.get(typeof child === 'string' ? child : child.id);
    const instance = slot?.state === 'running' ? slot.instance : undefined;
    // Unchecked by design when called with an id: the caller names the type it started.
    return instance?.alive === true ? (instance.handle as H) : undefined;
  }

  children(): SupervisorChildInfo[] {
    return this.slots.map((slot) => ({ id: slot.spec.id, state: slot.state, restarts: slot.restarts }));
  }

  stop(timeoutMs: number = Number.POSITIVE_INFINITY): Promise<ChildExit> {
    if (!this.stopRequested) {
      this.stopRequested = true;
      // Cancelled now, not when the mailbox gets here, so a pending backoff can never fire a restart.
      this.plans.cancelAll();
      const deadlineMs = Number.isFinite(timeoutMs) ? this.now() + Math.max(0, timeoutMs) : undefined;
      this.mailbox.post(() => this.terminate({ cause: 'shutdown' }, deadlineMs));
    }
    return this.exited;
  }

  startAll(): Promise<void> {
    return this.mailbox.run(async () => {
      for (const slot of this.slots) {
        try {
          await this.startSlot(slot);
        } catch (cause) {
          const error = new SupervisorError(
            'EDGEPAY_SUPERVISOR_START_FAILED',
            `supervisor ${this.id}: child ${slot.spec.id} failed to start: ${toError(cause).message}`,
            { supervisorId: this.id, childId: slot.spec.id },
            { cause },
          );
          this.emit({ type: 'child_exited', childId: slot.spec.id, cause: 'start_failed', error: toError(cause), requested: false });
          await this.terminate({ cause: 'start_failed', error });
          throw error;
        }
      }
    });
  }

  private now(): number {
    return this.config.timers.now();
  }

  private async startSlot(slot: Slot): Promise<void> {
    const handle = await slot.spec.start();
    const instance: Instance = { handle, alive: true };
    slot.instance = instance;
    slot.state = 'running';
    slot.startedAtMs = this.now();
    void handle.exited
      .then(
        (exit) => exit,
        (error: unknown): ChildExit => ({ cause: 'crash', error: toError(error) }),
      )
      .then((exit) => {
        instance.alive = false;
        this.mailbox.post(() => this.onExit(slot, instance, exit));
      });
    this.emit({ type: 'child_started', childId: slot.spec.id, restarts: slot.restarts });
  }

  private async onExit(slot: Slot, instance: Instance, exit: ChildExit): Promise<void> {
    // Exits of instances the supervisor stopped itself were already reported by stopSlot.
    if (this.stopRequested || slot.instance !== instance) return;
    slot.instance = undefined;
    this.emit({ type: 'child_exited', childId: slot.spec.id, cause: exit.cause, error: exit.error, requested: false });
    await this.handleFailure(slot, exit, []);
  }

  /** `carried`: members of an interrupted restart round that still need starting. */
  private async handleFailure(slot: Slot, exit: ChildExit, carried: readonly Slot[]): Promise<void> {
    if (!shouldRestart(slot.spec.restart, exit)) {
      // Only start failures carry slots, and only restartable children are ever restarted.
      if (carried.length > 0) throw new SupervisorError('EDGEPAY_SUPERVISOR_INTERNAL', `${slot.spec.id} carried a round but is not restarted`);
      slot.state = 'stopped';
      return;
    }
    const nowMs = this.now();
    if (!this.budget.admit(nowMs)) return this.escalate(slot, exit);
    if (exit.cause !== 'start_failed' && nowMs - slot.startedAtMs > this.config.periodMs) slot.consecutiveFailures = 0;
    slot.consecutiveFailures += 1;
    const delayMs = backoffDelayMs(this.config.backoff, slot.consecutiveFailures, this.config.random);

    const views = this.slots.map((s) => ({ restart: s.spec.restart, state: s.state }));
    const scope = restartScope(this.config.strategy, views, slot.index);
    const members = new Set<Slot>([...scope.restart.map((i) => this.slotAt(i)), ...carried]);
    const discarded = scope.discard.map((i) => this.slotAt(i));
    const toStop = [...members, ...discarded]
      .filter((s) => s !== slot && s.state === 'running')
      .sort(byIndex)
      .reverse();
    for (const s of members) s.state = 'restarting';
    for (const s of discarded) s.state = 'stopped';
    for (const sibling of toStop) {
      const outcome = await this.stopSlot(sibling, sibling.spec.shutdownTimeoutMs);
      if (!outcome.confirmed) {
        const error = new SupervisorError(
          'EDGEPAY_SUPERVISOR_CHILD_UNSTOPPABLE',
          `supervisor ${this.id}: ${sibling.spec.id} did not exit when stopped for a restart; restarting it could run two instances`,
          { supervisorId: this.id, childId: sibling.spec.id },
          { cause: outcome.exit.error },
        );
        return this.terminate({ cause: 'escalated', error });
      }
    }
    // A stop that arrived while siblings were stopping owns the cleanup from here.
    if (this.stopRequested) return;
    this.schedule(members, delayMs, slot, nowMs);
  }

  private schedule(members: Set<Slot>, delayMs: number, trigger: Slot, failedAtMs: number): void {
    const plan = this.plans.schedule(members, delayMs);
    for (const member of [...plan.members].sort(byIndex)) {
      member.state = 'restarting';
      this.emit({ type: 'child_restarting', childId: member.spec.id, delayMs: plan.delayMs, triggeredBy: trigger.spec.id, failedAtMs });
    }
  }

  private async runPlan(plan: RestartPlan<Slot>): Promise<void> {
    if (!this.plans.claim(plan) || this.stopRequested) return;
    const ordered = [...plan.members].sort(byIndex);
    for (const [position, slot] of ordered.entries()) {
      if (this.stopRequested) return;
      if (slot.state !== 'restarting') throw new SupervisorError('EDGEPAY_SUPERVISOR_INTERNAL', `${slot.spec.id} in a plan while ${slot.state}`);
      slot.restarts += 1;
      try {
        await this.startSlot(slot);
      } catch (cause) {
        const error = toError(cause);
        this.emit({ type: 'child_exited', childId: slot.spec.id, cause: 'start_failed', error, requested: false });
        // A failed restart is one more failure: it counts against the intensity and grows the backoff.
        return this.handleFailure(slot, { cause: 'start_failed', error }, ordered.slice(position + 1));
      }
    }
  }

  private async escalate(slot: Slot, exit: ChildExit): Promise<void> {
    const { intensity, periodMs } = this.config;
    this.emit({ type: 'intensity_exceeded', childId: slot.spec.id, intensity, periodMs });
    const error = new SupervisorError(
      'EDGEPAY_SUPERVISOR_INTENSITY_EXCEEDED',
      `supervisor ${this.id} gave up: more than ${intensity} restart(s) within ${periodMs} ms (last: ${slot.spec.id} exited with ${exit.cause})`,
      { supervisorId: this.id, childId: slot.spec.id, cause: exit.cause, intensity, periodMs },
      { cause: exit.error },
    );
    await this.terminate({ cause: 'escalated', error });
  }

  /** Stops every running child in reverse order, then settles `exited`. `deadlineMs` bounds a stop(timeoutMs). */
  private async terminate(exit: ChildExit, deadlineMs?: number): Promise<void> {
    if (this.terminated) return;
    this.stopRequested = true;
    this.plans.cancelAll();
    let cutShort = false;
    for (const slot of [...this.slots].reverse()) {
      slot.state = 'stopped';
      // By instance, not state: a sibling marked 'restarting' may not have been stopped yet.
      if (slot.instance === undefined) continue;
      const leftMs = deadlineMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadlineMs - this.now());
      const timeoutMs = Math.min(slot.spec.shutdownTimeoutMs, leftMs);
      const outcome = await this.stopSlot(slot, timeoutMs);
      if (timeoutMs < slot.spec.shutdownTimeoutMs && (outcome.exit.cause === 'killed' || !outcome.confirmed)) cutShort = true;
    }
    this.terminated = true;
    const final: ChildExit =
      exit.cause === 'shutdown' && cutShort
        ? {
            cause: 'killed',
            error: new SupervisorError('EDGEPAY_SUPERVISOR_STOP_TIMEOUT', `supervisor ${this.id}: children had to be killed to stop in time`, {
              supervisorId: this.id,
            }),
          }
        : exit;
    this.emit({ type: 'supervisor_stopped', cause: final.cause, error: final.error });
    this.settleExited(final);
  }

  private async stopSlot(slot: Slot, timeoutMs: number): Promise<StopOutcome> {
    const instance = slot.instance;
    if (instance === undefined) throw new SupervisorError('EDGEPAY_SUPERVISOR_INTERNAL', `${slot.spec.id} has no instance to stop`);
    // Detached first, so the exit this stop causes is not mistaken for a failure when it reaches the mailbox.
    slot.instance = undefined;
    const outcome = await stopChild(slot.spec.id, instance.handle, timeoutMs, this.config.stopGraceMs, this.config.timers);
    instance.alive = false;
    this.emit({ type: 'child_exited', childId: slot.spec.id, cause: outcome.exit.cause, error: outcome.exit.error, requested: true });
    return outcome;
  }

  private slotAt(index: number): Slot {
    const slot = this.slots[index];
    if (slot === undefined) throw new SupervisorError('EDGEPAY_SUPERVISOR_INTERNAL', `no child at index ${index}`);
    return slot;
  }

  /** A supervisor bug: stop the children rather than supervise from a state nobody reasoned about. */
  private crashed(cause: unknown): void {
    this.config.logger?.error({ err: cause, supervisorId: this.id }, 'supervisor internal failure');
    if (this.terminated) return;
    const message = `supervisor ${this.id} failed: ${toError(cause).message}`;
    const error = new SupervisorError('EDGEPAY_SUPERVISOR_INTERNAL', message, { supervisorId: this.id }, { cause });
    this.mailbox
      .run(() => this.terminate({ cause: 'crash', error }))
      .catch(() => {
        this.terminated = true;
        this.settleExited({ cause: 'crash', error });
      });
  }
}
