/**
 * Runs the supervisor's operations one at a time, as the single process behind an OTP supervisor
 * does: a child's exit, a restart timer and a stop request never interleave half-way through each
 * other, so the bookkeeping needs no locks. Its length is bounded by construction: at most one
 * message per child instance's exit, one per pending restart plan and one stop.
 */
export class SupervisorMailbox {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly onFailure: (error: unknown) => void) {}

  /** Queues an operation and returns its own outcome to the caller. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Queues an operation nobody awaits: a failure means a supervisor bug, reported to onFailure. */
  post(operation: () => Promise<void>): void {
    this.run(operation).catch(this.onFailure);
  }
}
