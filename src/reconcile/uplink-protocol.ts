import type { AnyReplyOf, Protocol } from '../actors/typed-protocol.js';
import type { OnlineDecision, OnlineRequest } from '../central/online.js';
import type { NodeConfig } from '../config/node-config.js';
import type { ReportAnswer } from './mqtt-centre-link.js';
import type { OnlineBreakerStatus, OnlineNotAsked } from './online-guard.js';
import type { DrainReport } from './uplink.js';

export type UplinkRequest =
  /** Forward now rather than at the next round; resolves with that round's report. */
  | { readonly type: 'drain' }
  | { readonly type: 'status' }
  /**
   * Ask the centre to decide this payment online; rejects when it does not answer within timeoutMs.
   * Answered at once with OnlineNotAsked while the centre is known to be unreachable (online-guard.ts).
   */
  | { readonly type: 'authorize'; readonly request: OnlineRequest; readonly timeoutMs: number }
  /** The node decided offline after all: withdraw any online approval (retried in the background). */
  | { readonly type: 'reverse'; readonly origin: string; readonly idempotencyKey: string }
  /**
   * Over MQTT: ask the centre, on this node's one session, for its signed report of this node.
   * The caller (`reconcile status` in another process) gives the correlation id and checks the
   * signed answer again itself.
   */
  | { readonly type: 'report'; readonly correlationId: string };

export interface UplinkStatus {
  readonly lastRoundAtMs: number | null;
  readonly lastReport: DrainReport | null;
  /** Why the last round stopped short (centre unreachable, a refused batch), or null. */
  readonly lastError: { readonly code: string; readonly message: string } | null;
  readonly rounds: number;
  /** Over MQTT: answers from "the centre" not believed (forged, mismatched, expired, malformed, unsolicited), by why. */
  readonly rejectedAnswers?: Readonly<Record<string, number>>;
  /** With online authorization on: whether payments ask the centre (closed) or not (open, half_open). */
  readonly onlineBreaker?: OnlineBreakerStatus;
}

export interface UplinkReplies {
  readonly drain: DrainReport;
  readonly status: UplinkStatus;
  readonly authorize: OnlineDecision | OnlineNotAsked;
  readonly reverse: { readonly reversed: boolean };
  readonly report: ReportAnswer;
}

export type UplinkProtocol = Protocol<UplinkRequest, UplinkReplies>;
export type UplinkReply = AnyReplyOf<UplinkProtocol>;

export interface UplinkInit {
  readonly config: NodeConfig;
}

export const UPLINK_MODULE = 'app/actors/uplink';
