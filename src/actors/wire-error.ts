import { ActorError, RUNTIME_CODES, isActorError } from './errors.js';

/** An error as it crosses a thread boundary: structured clone keeps neither class nor own fields reliably. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly details?: Record<string, unknown>;
  readonly stack?: string;
  /** Set once a handler threw it, so a runtime code inside it is never mistaken for the runtime's own verdict. */
  readonly remote?: boolean;
}

/** Longest stack kept on the wire: enough to find the line, bounded so an error cannot flood a port. */
const MAX_STACK_CHARS = 4000;

export function toWireError(error: unknown): WireError {
  if (isActorError(error, 'EDGEPAY_ACTOR_REMOTE_ERROR')) {
    // Flatten: the caller at the far end wants the code the handler threw, not how many hops it took.
    const remoteName = error.details.remoteName;
    return withOptional({
      name: typeof remoteName === 'string' ? remoteName : 'Error',
      message: error.message,
      code: error.remoteCode,
      details: cloneableDetails(error.details.remoteDetails),
      stack: stringOrUndefined(error.details.remoteStack),
      remote: true,
    });
  }
  if (error instanceof Error) {
    const fields = error as Error & { code?: unknown; details?: unknown };
    return withOptional({
      name: error.name,
      message: error.message,
      code: typeof fields.code === 'string' ? fields.code : undefined,
      details: cloneableDetails(fields.details),
      stack: error.stack?.slice(0, MAX_STACK_CHARS),
    });
  }
  return { name: 'NonError', message: `a non-Error value was thrown: ${describe(error)}` };
}

/** What a handler threw, as the caller sees it: always EDGEPAY_ACTOR_REMOTE_ERROR with the remote code kept. */
export function remoteErrorFrom(wire: WireError, actorId: string): ActorError {
  const details: Record<string, unknown> = { actorId, remoteName: wire.name };
  if (wire.code !== undefined) details.remoteCode = wire.code;
  if (wire.details !== undefined) details.remoteDetails = wire.details;
  if (wire.stack !== undefined) details.remoteStack = wire.stack;
  return new ActorError('EDGEPAY_ACTOR_REMOTE_ERROR', wire.message, details);
}

/**
 * A routed call's failure inside the calling worker. The router's own verdicts about the target
 * (down, overloaded, timed out, unknown) keep their runtime code; anything a handler threw is remote.
 */
export function callErrorFrom(wire: WireError, actorId: string): ActorError {
  if (wire.remote !== true && wire.name === 'ActorError' && wire.code !== undefined && RUNTIME_CODES.has(wire.code)) {
    return new ActorError(wire.code as ActorError['code'], wire.message, { ...wire.details });
  }
  return remoteErrorFrom(wire, actorId);
}

function cloneableDetails(details: unknown): Record<string, unknown> | undefined {
  if (details === null || typeof details !== 'object') return undefined;
  try {
    return structuredClone(details) as Record<string, unknown>;
  } catch {
    // A function or a socket in details must not turn a reply into a DataCloneError that kills the worker.
    try {
      return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
    } catch {
      return { unserializable: true };
    }
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function describe(value: unknown): string {
  try {
    return String(value).slice(0, 200);
  } catch {
    return typeof value;
  }
}

/** Drops undefined fields so the wire object stays small and equality in tests stays simple. */
function withOptional(error: { [K in keyof WireError]: WireError[K] | undefined }): WireError {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) if (value !== undefined) out[key] = value;
  return out as unknown as WireError;
}
