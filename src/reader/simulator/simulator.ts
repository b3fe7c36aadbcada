import type { ReaderProfile } from '../profile.js';
import {
  Capability,
  type DataMessage,
  EmvTag,
  ErrorCode,
  FrameDecoder,
  MAX_PAYLOAD,
  MessageType,
  PROTOCOL_VERSION,
  ReaderState,
  type ReaderStateCode,
  type StartTxnMessage,
  TxnEndReason,
  type TxnEndReasonCode,
  emvForCard,
  encodeTlv,
} from '../protocol/index.js';
import { type Timers, systemTimers } from '../../platform/timers.js';
import type { SerialChannel } from '../serial-channel.js';
import { SerialLink } from '../serial-link.js';
import { CardFactory, SLOW_CARD_DELAY_MS, type SimCard, type SimCardKind } from './cards.js';
import { type ReaderSecrets, ReaderSecureSession } from './secure-reader.js';

export interface SimulatorOptions {
  readonly profile: ReaderProfile;
  readonly cards: readonly SimCardKind[];
  readonly seed: number;
  /** One line per event; never given card data. */
  readonly status: (line: string) => void;
  /** The `unplug` card: the reader must vanish without a word, as when its cable is pulled. */
  readonly unplug: () => void;
  readonly firmwareVersion?: string;
  readonly now?: () => Date;
  /** The machine's timers by default; a deterministic simulation passes its scheduler's. */
  readonly timers?: Timers;
  /** EMV's unpredictable number per card read; random by default, seeded in a simulation. */
  readonly unpredictable?: () => number;
  /** Provisioned for secure sessions (protocol 1.1): the reader then never sends a PAN, only SEALED_CARD. */
  readonly secrets?: ReaderSecrets;
  /** Each card number the reader reads, for a simulation that searches the node's files for them afterwards. */
  readonly onCardRead?: (pan: string) => void;
}

interface Txn {
  readonly txnId: number;
  readonly amountMinor: bigint;
  readonly currencyNumeric: number;
  state: ReaderStateCode;
  timer: unknown;
}

/** CARD_DATA's bytes before its TLV: the txnId. */
const CARD_DATA_OVERHEAD = 4;
/** Tags a terminal sends that the node keeps opaque (PROTOCOL.md 7.2): what a reader leaves out when its card data must be short. */
const UNCHECKED_TAGS = [EmvTag.PAN_SEQUENCE, EmvTag.AIP, EmvTag.CID, EmvTag.ATC, EmvTag.CRYPTOGRAM, EmvTag.TXN_DATE, EmvTag.TXN_TYPE, EmvTag.TVR, EmvTag.UNPREDICTABLE];

const CAPABILITY_BITS = { contact: Capability.CONTACT, contactless: Capability.CONTACTLESS, display: Capability.DISPLAY } as const;

/**
 * Reader firmware in software: answers the node over a real serial line with the protocol's own
 * link layer, and presents scripted cards, one per START_TXN, cycling through the script.
 */
export class ReaderSimulator {
  private link: SerialLink | undefined;
  private txn: Txn | undefined;
  private presented = 0;
  private readonly factory: CardFactory;
  private corruptNextCardData = false;
  private stopped = false;
  private readonly timers: Timers;
  private readonly secure: ReaderSecureSession | undefined;
  /** What the node's HELLO said it takes (PROTOCOL.md 1.1); the frame limit until it has said. */
  private nodeMaxPayload = MAX_PAYLOAD;

  constructor(
    private readonly port: SerialChannel,
    private readonly options: SimulatorOptions,
  ) {
    this.factory = new CardFactory(options.seed, options.now);
    this.timers = options.timers ?? systemTimers;
    this.secure = options.secrets === undefined ? undefined : new ReaderSecureSession(options.secrets);
  }

  /** The public key a lane pins for this reader; undefined when it was not provisioned for secure sessions. */
  get publicKey(): Uint8Array | undefined {
    return this.secure?.publicKey;
  }

  start(): void {
    this.link = this.newLink();
    this.watchNaks();
    this.sendHello('on connect');
  }

  stop(): void {
    this.stopped = true;
    this.endTxn();
    this.link?.detach();
  }

  private newLink(): SerialLink {
    const handlers = {
      onMessage: (msg: DataMessage) => this.onMessage(msg),
      onLinkDown: (reason: string) => {
        if (this.link !== link || this.stopped) return;
        // Firmware keeps listening when nobody answers: a fresh link, SEQ from 0, for whoever comes next.
        this.options.status(`link down (${reason}): nobody acknowledged; listening again`);
        this.endTxn();
        this.secure?.reset();
        link.detach();
        this.link = this.newLink();
      },
      transformOutgoing: (frame: Uint8Array) => this.maybeCorrupt(frame),
    };
    const link: SerialLink = new SerialLink(this.port, this.options.profile, handlers, this.timers);
    return link;
  }

  private onMessage(msg: DataMessage): void {
    switch (msg.kind) {
      case 'HELLO':
        // A HELLO exchange starts a new session: an authentication before it counts no more.
        this.secure?.reset();
        this.nodeMaxPayload = Math.min(MAX_PAYLOAD, msg.maxPayload);
        this.sendHello(`asked by ${msg.model}`);
        return;
      case 'AUTH_CHALLENGE':
        if (this.secure === undefined) {
          this.options.status('AUTH_CHALLENGE ignored: this reader holds no keys for a secure session');
          return;
        }
        this.send(this.secure.answer(msg), 'AUTH_RESPONSE sent: secure session open');
        return;
      case 'STATUS_REQUEST': {
        const state = this.txn?.state ?? ReaderState.IDLE;
        this.send({ kind: 'STATUS', state, flags: state === ReaderState.READING ? 1 : 0 }, `STATUS sent (state ${state})`);
        return;
      }
      case 'START_TXN':
        this.onStartTxn(msg);
        return;
      case 'CANCEL':
        if (this.txn?.txnId !== msg.txnId) {
          this.options.status(`CANCEL for txn ${msg.txnId}, which is not running: ignored`);
          return;
        }
        this.endTxn(TxnEndReason.CANCELLED_BY_NODE, 'cancelled by the node');
        return;
      case 'SHOW_RESULT':
        if (this.txn?.txnId !== msg.txnId) {
          this.options.status(`SHOW_RESULT for txn ${msg.txnId}, which is not running: ignored`);
          return;
        }
        this.txn.state = ReaderState.SHOWING_RESULT;
        this.options.status(`txn ${msg.txnId}: showing ${msg.approved ? 'APPROVED' : 'DECLINED'} (${msg.code})`);
        this.endTxn(TxnEndReason.RESULT_SHOWN, 'result shown');
        return;
      case 'ERROR':
        this.options.status(`the node reported ERROR ${msg.code}: ${msg.text}`);
        return;
      default:
        this.options.status(`ignored ${msg.kind}, which a reader does not receive`);
    }
  }

  private onStartTxn(msg: StartTxnMessage): void {
    if (this.secure !== undefined && !this.secure.authenticated) {
      // Fail closed: a reader with keys never sends a PAN, so without a session it reads no card at all.
      this.send({ kind: 'ERROR', code: ErrorCode.SECURE_SESSION_REQUIRED, text: 'secure session required' }, `txn ${msg.txnId}: refused, no secure session`);
      return;
    }
    if (this.txn !== undefined) this.endTxn(undefined, `superseded by txn ${msg.txnId}`);
    const kind = this.options.cards[this.presented++ % this.options.cards.length] as SimCardKind;
    const txn: Txn = { txnId: msg.txnId, amountMinor: msg.amountMinor, currencyNumeric: msg.currencyNumeric, state: ReaderState.WAITING_FOR_CARD, timer: undefined };
    this.txn = txn;
    this.options.status(`txn ${msg.txnId}: START_TXN ${msg.amountMinor} (currency ${msg.currencyNumeric}, ${msg.timeoutS} s); next card: ${kind}`);
    switch (kind) {
      case 'unplug':
        this.options.status(`txn ${msg.txnId}: unplug — vanishing mid-transaction`);
        this.options.unplug();
        return;
      case 'no-card':
        // Real firmware gives up on its own when the node's timeout passes without a card.
        txn.timer = this.timers.setTimeout(() => this.endTxn(TxnEndReason.NO_CARD, 'no card before the timeout'), msg.timeoutS * 1000);
        return;
      case 'slow':
        txn.timer = this.timers.setTimeout(() => this.present(txn, kind), SLOW_CARD_DELAY_MS);
        return;
      default:
        this.present(txn, kind);
    }
  }

  private present(txn: Txn, kind: SimCardKind): void {
    if (this.txn !== txn) return;
    txn.timer = undefined;
    const card = this.factory.card(kind) as SimCard;
    this.options.onCardRead?.(card.pan);
    const now = (this.options.now ?? (() => new Date()))();
    let tlv: Uint8Array;
    try {
      const unpredictableNumber = this.options.unpredictable?.() ?? Math.floor(Math.random() * 0xffff_ffff);
      const build = (lean: boolean): Uint8Array =>
        encodeTlv(
          emvForCard({
            ...card,
            // A secure reader seals the PAN and track 2: they never go on the wire.
            omitTags: [...(this.secure === undefined ? [] : [EmvTag.PAN, EmvTag.TRACK2]), ...(lean ? UNCHECKED_TAGS : [])],
            amountMinor: txn.amountMinor,
            currencyNumeric: txn.currencyNumeric,
            transactionDateYymmdd: now.toISOString().slice(2, 10).replaceAll('-', ''),
            atc: this.presented & 0xffff,
            unpredictableNumber,
          }),
        );
      tlv = build(false);
      // The node takes at most what its HELLO said: then only the tags it checks go (PROTOCOL.md 6.2).
      const room = this.nodeMaxPayload - (this.secure === undefined ? CARD_DATA_OVERHEAD : this.secure.sealedCardOverhead(card));
      if (tlv.length > room) {
        tlv = build(true);
        this.options.status(`txn ${txn.txnId}: card data cut to the tags the node checks, for its maxPayload of ${this.nodeMaxPayload}`);
      }
    } catch (error) {
      this.options.status(`txn ${txn.txnId}: cannot build card data (${(error as Error).message})`);
      this.endTxn(TxnEndReason.CANCELLED_ON_READER, 'cancelled on the reader');
      return;
    }
    if (kind === 'bad-crc') this.corruptNextCardData = true;
    txn.state = ReaderState.READING;
    if (this.secure === undefined) {
      this.sendCard({ kind: 'CARD_DATA', txnId: txn.txnId, tlv }, kind);
      return;
    }
    this.secure.seal(txn.txnId, card, tlv).then(
      (sealed) => {
        if (this.txn === txn) this.sendCard(sealed, kind);
      },
      (error: Error) => {
        this.options.status(`txn ${txn.txnId}: cannot seal card data (${error.message})`);
        this.endTxn(TxnEndReason.CANCELLED_ON_READER, 'cancelled on the reader');
      },
    );
  }

  private sendCard(msg: DataMessage & { readonly txnId: number }, kind: SimCardKind): void {
    const link = this.link;
    const before = link?.stats.retransmissions ?? 0;
    this.send(msg, `txn ${msg.txnId}: ${kind} card presented, ${msg.kind} sent`, () => {
      const resent = (link?.stats.retransmissions ?? 0) - before;
      this.options.status(`txn ${msg.txnId}: ${msg.kind} acknowledged after ${resent} retransmission(s)`);
    });
  }

  /**
   * The link consumes NAKs silently; a second decoder on the same bytes makes them visible as
   * status lines, so a test (or an engineer at a bench) can see the node refused a frame.
   */
  private watchNaks(): void {
    const tap = new FrameDecoder();
    this.port.on('data', (chunk: Buffer) => {
      for (const event of tap.push(chunk)) {
        if (event.kind === 'frame' && event.type === MessageType.NAK) this.options.status(`NAK received for SEQ ${event.seq} (reason ${event.payload[0] ?? '?'})`);
      }
    });
  }

  /** Damages the CRC of the next CARD_DATA frame once; the link's retransmission then sends the intact frame. */
  private maybeCorrupt(frame: Uint8Array): Uint8Array {
    if (!this.corruptNextCardData || (frame[4] !== MessageType.CARD_DATA && frame[4] !== MessageType.SEALED_CARD)) return frame;
    this.corruptNextCardData = false;
    const damaged = frame.slice();
    const crcAt = damaged.length - 3;
    damaged[crcAt] = (damaged[crcAt] as number) ^ 0xff;
    this.options.status('bad-crc: CARD_DATA written with a corrupted CRC');
    return damaged;
  }

  private endTxn(reason?: TxnEndReasonCode, why?: string): void {
    const txn = this.txn;
    if (txn === undefined) return;
    this.timers.clearTimeout(txn.timer);
    this.txn = undefined;
    if (reason !== undefined) this.send({ kind: 'TXN_ENDED', txnId: txn.txnId, reason }, `txn ${txn.txnId}: ended (${why ?? reason})`);
    else if (why !== undefined) this.options.status(`txn ${txn.txnId}: ${why}`);
  }

  private sendHello(why: string): void {
    const { profile } = this.options;
    const cardBits = profile.capabilities.reduce((bits, name) => bits | CAPABILITY_BITS[name], 0);
    const capabilities = this.secure === undefined ? cardBits : cardBits | Capability.SECURE_SESSION;
    const hello: DataMessage = {
      kind: 'HELLO',
      protocolVersion: PROTOCOL_VERSION,
      capabilities,
      maxPayload: profile.framing.maxPayloadBytes,
      model: profile.model,
      firmwareVersion: this.options.firmwareVersion ?? 'sim-1.0',
    };
    this.send(hello, `HELLO sent (${why}): ${profile.model}, protocol ${PROTOCOL_VERSION}${this.secure === undefined ? '' : ', secure sessions'}`);
  }

  private send(msg: DataMessage, line: string, onAck?: () => void): void {
    const link = this.link;
    if (link === undefined || !link.isOpen) return;
    this.options.status(line);
    link.send(msg).then(onAck, (error: Error) => this.options.status(`${msg.kind} not delivered: ${error.message}`));
  }
}
