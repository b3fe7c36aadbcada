import type { AnyReplyOf, Protocol } from '../actors/typed-protocol.js';
import type { CardFacts } from '../card/card-facts.js';
import type { ReaderProfile } from './profile.js';

/** What the lane asks of its reader actor (one actor per lane owns the serial port). */
export type ReaderRequest =
  /** Start a transaction on the reader and wait for the card: resolves with the card as captured (token, last 4, sealed). */
  | { readonly type: 'collect'; readonly txnId: number; readonly amountMinor: number; readonly currencyNumeric: number; readonly timeoutMs: number }
  /** Show the decision on the reader's display (best effort: the POS has the answer either way). */
  | { readonly type: 'show'; readonly txnId: number; readonly approved: boolean; readonly code: string; readonly text: string }
  /** Cancel the transaction waiting for a card; its collect rejects with EDGEPAY_READER_CANCELLED. */
  | { readonly type: 'cancel'; readonly txnId: number }
  /**
   * The reader's state. With settle, a handshake in progress (a reader just opened: the node just
   * started, the cable just plugged in) is waited for, up to HANDSHAKE_WAIT_MS, before answering:
   * a payment should not fail on a reader a moment from ready.
   */
  | { readonly type: 'status'; readonly settle?: boolean };

/**
 * The card as the reader actor hands it on: already captured (P7). The PAN is tokenized and sealed
 * in the thread that read it, so it never crosses to another thread; track 2, cryptograms and the
 * rest never leave the reader actor at all.
 */
export type CollectedCard = CardFacts;

/** How long a settling status waits: the first HELLO is answered within milliseconds when the reader is there. */
export const HANDSHAKE_WAIT_MS = 1_000;

export type ReaderState = 'connecting' | 'ready' | 'in_transaction' | 'disconnected' | 'incompatible';

export interface ReaderStatus {
  readonly lane: string;
  readonly port: string;
  readonly state: ReaderState;
  readonly model?: string;
  readonly firmwareVersion?: string;
  /** Wall-clock ms of the last frame received from the reader. */
  readonly lastSeenMs?: number;
  /** Times the port was (re)opened successfully. */
  readonly connects: number;
  /** 'secure' once the reader authenticated with the pinned key (card data sealed), 'clear' on a 1.0 link. */
  readonly session?: 'secure' | 'clear';
  /** Why the reader is not usable, when it is 'incompatible': the version, a missing or wrong key. */
  readonly problem?: string;
}

export interface ReaderReplies {
  readonly collect: CollectedCard;
  readonly show: { readonly ok: true };
  readonly cancel: { readonly ok: true };
  readonly status: ReaderStatus;
}

export type ReaderProtocol = Protocol<ReaderRequest, ReaderReplies>;
export type ReaderReply = AnyReplyOf<ReaderProtocol>;

export interface ReaderInit {
  readonly lane: string;
  /** Serial device path, e.g. /dev/edgepay/lane-1 (stable name from the udev rule) or a pty. */
  readonly port: string;
  readonly profile: ReaderProfile;
  /** The node's card key files: the reader actor captures each card as it arrives. */
  readonly keys: { readonly tokenKeyFile: string; readonly centrePublicKeyFile: string };
  /** The reader's pinned Ed25519 public key (base64): the lane then requires a secure session (PROTOCOL.md 8). */
  readonly readerPublicKey?: string;
}

export const READER_MODULE = 'app/actors/reader';

/** The name under which a lane's reader actor is registered in the node. */
export function readerActorId(laneId: string): `reader:${string}` {
  return `reader:${laneId}`;
}
