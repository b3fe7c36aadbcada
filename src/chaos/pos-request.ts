/**
 * What one POS request came to, as the till saw it:
 * - `approved` / `declined`: a decision, durable in the box's journal before it was answered;
 * - `failed` / `cancelled`: the payment ended without a decision (reader lost, box stopping);
 * - `http-error`: an error answer (e.g. 503 while the lane has no reader, 409 while the lane is
 *   still busy with a payment the POS gave up on) or an answer that is not a payment;
 * - `timeout`: no answer within the POS's timeout;
 * - `unreachable`: no answer at all (connection refused or reset: the box is down or dying).
 */
export type RequestOutcome = 'approved' | 'declined' | 'failed' | 'cancelled' | 'http-error' | 'timeout' | 'unreachable';

export interface PosRequest {
  readonly box: string;
  readonly lane: string;
  /** Wall-clock milliseconds (Date.now()) when the request was sent and when its answer, or the POS's giving up, came. */
  readonly sentMs: number;
  readonly endMs: number;
  readonly latencyMs: number;
  readonly outcome: RequestOutcome;
  /** For outcomes without a decision: the error code, HTTP status or network error the POS saw. */
  readonly detail: string | null;
}

/** "box-1/lane-1": a lane is named by its box, as a store's lanes are spread over boxes. */
export function laneKey(request: Pick<PosRequest, 'box' | 'lane'>): string {
  return `${request.box}/${request.lane}`;
}

/**
 * The POS was served: it got a decision within its timeout. A decision is durable before the box
 * answers, so it is what a customer and the till can rely on; everything else means asking again.
 */
export function isAvailable(request: PosRequest, timeoutMs: number): boolean {
  return (request.outcome === 'approved' || request.outcome === 'declined') && request.latencyMs <= timeoutMs;
}
