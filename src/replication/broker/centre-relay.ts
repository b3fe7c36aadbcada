import { EdgepayError } from '../../errors.js';
import { asBuffer, ownBytes } from '../../platform/thread-bytes.js';
import type { ReplicationLog } from '../../platform/replication-log.js';
import type { MqttPort } from './port.js';

/** This node's centre topics (central/centre-topics.ts), and the largest request the centre takes. */
export interface CentreRelayTopics {
  /** The node's `centre` topic: the centre's answers, subscribed QoS 1 on the persistent session. */
  readonly answerTopic: string;
  /** The node's own `uplink` and `authorize` topics: the only ones a request may go to. */
  readonly requestTopics: readonly string[];
  /** MAX_WIRE_BYTES: the broker drops anything larger, so it is refused before it is sent. */
  readonly maxPayloadBytes: number;
}

export interface CentreRelayOptions extends CentreRelayTopics {
  readonly port: MqttPort;
  readonly log: ReplicationLog;
}

/** Answers handed to the uplink in one take, oldest first. */
export interface CentreAnswers {
  readonly answers: Uint8Array[];
}

/** Answers held for the uplink between its takes; past either bound the oldest go (it waits out their requests). */
export const MAX_HELD_ANSWERS = 256;
export const MAX_HELD_ANSWER_BYTES = 16 * 1024 * 1024;
/** The longest a take may wait for an answer: the replicator's drain at shutdown waits for it. */
export const MAX_TAKE_WAIT_MS = 2_000;

interface Taker {
  readonly resolve: (answers: CentreAnswers) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The centre link's traffic on the replicator's connection, so a node holds one session at the
 * broker (on the TLS listener its certificate's name is its client id: a second connection would
 * take the first one's session). Requests go out on the node's own topics only; the centre's
 * answers are held, bounded, until the uplink takes them. It believes nothing: the uplink's link
 * checks every answer (answer-check.ts), and counts the ones it does not believe.
 *
 * The uplink pulls rather than being called: its handlers are busy waiting for exactly these
 * answers, and an answer queued in its mailbox behind them would only arrive after their timeouts.
 */
export class CentreRelay {
  private readonly requestTopics: ReadonlySet<string>;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private droppedSinceTake = 0;
  private taker: Taker | undefined;
  private closed = false;

  constructor(private readonly options: CentreRelayOptions) {
    this.requestTopics = new Set(options.requestTopics);
  }

  get answerTopic(): string {
    return this.options.answerTopic;
  }

  /** A message on the node's `centre` topic. */
  receive(payload: Buffer): void {
    if (this.closed) return;
    const bytes = ownBytes(payload);
    if (this.taker !== undefined) return this.hand([bytes]);
    this.held.push(bytes);
    this.heldBytes += bytes.byteLength;
    while (this.held.length > MAX_HELD_ANSWERS || this.heldBytes > MAX_HELD_ANSWER_BYTES) {
      this.heldBytes -= this.held.shift()!.byteLength;
      // Once per gap between takes: a flood (or an uplink gone) must not flood the log too.
      if (this.droppedSinceTake++ === 0) this.options.log.warn({ held: this.held.length }, 'centre answers dropped: the uplink is not taking them; their requests time out and are sent again');
    }
  }

  /** Publishes one request (QoS 1); resolves at the broker's PUBACK. */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the replicator is stopping', { topic }));
    if (!this.requestTopics.has(topic)) {
      return Promise.reject(new EdgepayError('EDGEPAY_BAD_INPUT', `centre-publish: ${topic} is not one of this node's centre request topics`, { topic, allowed: [...this.requestTopics] }));
    }
    if (!(payload instanceof Uint8Array) || payload.byteLength > this.options.maxPayloadBytes) {
      return Promise.reject(new EdgepayError('EDGEPAY_BAD_INPUT', `centre-publish: the payload must be bytes, at most ${this.options.maxPayloadBytes}`, { topic, limit: this.options.maxPayloadBytes }));
    }
    return this.options.port.publish(topic, asBuffer(payload), { qos: 1 });
  }

  /**
   * What is held, at once; otherwise the first answers to arrive within `waitMs`, or none. One
   * taker at a time: a newer take (an uplink restarted) ends the older one empty.
   */
  take(waitMs: number): Promise<CentreAnswers> {
    if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > MAX_TAKE_WAIT_MS) {
      return Promise.reject(new EdgepayError('EDGEPAY_BAD_INPUT', `centre-answers: waitMs must be a whole number from 0 to ${MAX_TAKE_WAIT_MS}, got ${String(waitMs)}`, { waitMs }));
    }
    this.endTake();
    this.droppedSinceTake = 0;
    if (this.held.length > 0 || waitMs === 0 || this.closed) {
      const answers = this.held;
      this.held = [];
      this.heldBytes = 0;
      return Promise.resolve({ answers });
    }
    return new Promise<CentreAnswers>((resolve) => {
      this.taker = { resolve, timer: setTimeout(() => this.hand([]), waitMs) };
    });
  }

  /** Ends a waiting take; what arrives afterwards is dropped. */
  close(): void {
    this.closed = true;
    this.endTake();
    this.held = [];
    this.heldBytes = 0;
  }

  private hand(answers: Uint8Array[]): void {
    const taker = this.taker;
    if (taker === undefined) return;
    this.taker = undefined;
    clearTimeout(taker.timer);
    taker.resolve({ answers });
  }

  private endTake(): void {
    this.hand([]);
  }
}
