import type { Logger } from 'pino';
import type { ExitCause } from './child.js';

interface EventBase {
  readonly supervisorId: string;
  /** The supervisor's monotonic clock (its injected timers), not wall time. */
  readonly atMs: number;
}

/**
 * What a supervisor reports, so the caller can count restarts per actor and crashes by cause
 * without the supervisor knowing about metrics. `requested` separates exits the supervisor caused
 * (a sibling's restart, a shutdown) from the child's own failures.
 */
export type SupervisorEvent =
  | (EventBase & { readonly type: 'child_started'; readonly childId: string; readonly restarts: number })
  | (EventBase & {
      readonly type: 'child_exited';
      readonly childId: string;
      readonly cause: ExitCause;
      readonly error?: Error;
      readonly requested: boolean;
    })
  | (EventBase & {
      readonly type: 'child_restarting';
      readonly childId: string;
      /** From atMs until the start is attempted. */
      readonly delayMs: number;
      /** The child whose failure caused this restart; equal to childId for the failed child itself. */
      readonly triggeredBy: string;
      /**
       * When that failure was counted against the restart intensity. Earlier than atMs when siblings
       * had to be stopped first; the intensity window is measured in these times.
       */
      readonly failedAtMs: number;
    })
  | (EventBase & { readonly type: 'intensity_exceeded'; readonly childId: string; readonly intensity: number; readonly periodMs: number })
  | (EventBase & { readonly type: 'supervisor_stopped'; readonly cause: ExitCause; readonly error?: Error });

type WithoutBase<E> = E extends unknown ? Omit<E, keyof EventBase> : never;
export type SupervisorEventBody = WithoutBase<SupervisorEvent>;
export type EventSink = (body: SupervisorEventBody) => void;

type Level = 'info' | 'warn' | 'error';

function levelOf(event: SupervisorEvent): Level {
  switch (event.type) {
    case 'child_exited':
      return event.requested || event.cause === 'normal' || event.cause === 'shutdown' ? 'info' : 'warn';
    case 'intensity_exceeded':
      return 'error';
    case 'supervisor_stopped':
      return event.cause === 'shutdown' ? 'info' : 'error';
    default:
      return 'info';
  }
}

export function createEventSink(supervisorId: string, now: () => number, logger: Logger | undefined, onEvent: ((event: SupervisorEvent) => void) | undefined): EventSink {
  const log = logger?.child({ supervisorId });
  return (body) => {
    const event: SupervisorEvent = { ...body, supervisorId, atMs: now() };
    if (log !== undefined) {
      const { error, ...fields } = event as SupervisorEvent & { error?: Error };
      // pino's serializer only expands errors under `err`; elsewhere an Error would log as {}.
      log[levelOf(event)](error === undefined ? fields : { ...fields, err: error }, `supervisor ${event.type}`);
    }
    try {
      onEvent?.(event);
    } catch (error) {
      // An observer (metrics, a test probe) must never be able to break supervision.
      log?.warn({ err: error }, 'supervisor onEvent listener threw');
    }
  };
}
