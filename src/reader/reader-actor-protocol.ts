import type { ReaderProfile } from './profile.js';

/** What the lane asks of its reader actor (one actor per lane owns the serial port). */
export type ReaderRequest =
  /** Start a transaction on the reader and wait for the card: resolves with the card as read. */
  | { readonly type: 'collect'; readonly txnId: number; readonly amountMinor: number; readonly currencyNumeric: number; readonly timeoutMs: number }
  /** Show the decision on the reader's display (best effort: the POS has the answer either way). */
  | { readonly type: 'show'; readonly txnId: number; readonly approved: boolean; readonly code: string; readonly text: string }
  /** Cancel the transaction waiting for a card; its collect rejects with EDGEPAY_READER_CANCELLED. */
  | { readonly type: 'cancel'; readonly txnId: number }
  | { readonly type: 'status' };

/** The card as read: PAN and expiry only. Track 2, cryptograms and the rest never leave the reader actor. */
export interface CollectedCard {
  readonly pan: string;
  readonly expiryYymm: string;
}

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
}

export type ReaderReply = CollectedCard | ReaderStatus | { readonly ok: true };

export interface ReaderInit {
  readonly lane: string;
  /** Serial device path, e.g. /dev/edgepay/lane-1 (stable name from the udev rule) or a pty. */
  readonly port: string;
  readonly profile: ReaderProfile;
}

export const READER_MODULE = 'reader/reader-actor';

/** The name under which a lane's reader actor is registered in the node. */
export function readerActorId(laneId: string): string {
  return `reader:${laneId}`;
}
