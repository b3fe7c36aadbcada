import { randomBytes } from 'node:crypto';
import type { ActorLog } from '../actors/worker-runtime.js';
import { EdgepayError } from '../errors.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { type Timers, systemTimers } from '../platform/timers.js';
import { Backoff } from './backoff.js';
import {
  type AuthResponseMessage,
  Capability,
  type DataMessage,
  ErrorCode,
  type HelloMessage,
  Limits,
  PROTOCOL_REVISION,
  PROTOCOL_VERSION,
  ReaderState as ReaderStateCode,
  SecureSizes,
  type SessionNonces,
} from './protocol/index.js';
import type { ReaderInit, ReaderState } from './reader-actor-protocol.js';
import type { OpenReaderPort, ReaderPort } from './serial-channel.js';
import { SerialLink, linkFailure } from './serial-link.js';
import { TtyPort } from './tty-port.js';
import { type HelloDecision, type PinnedReaderKey, type Refusal, type ResponseDecision, decideHello, decideResponse, pinnedReaderKey } from './session-decisions.js';

export type ConnectionState = Exclude<ReaderState, 'in_transaction'>;

export interface ConnectionEvents {
  /** Transaction traffic (CARD_DATA, TXN_ENDED); link-level and handshake messages are handled here. */
  onMessage(msg: DataMessage): void;
  /** The reader went away (port closed, link down): whatever waits on it must fail now. */
  onLost(error: EdgepayError): void;
  /** The reader sent ERROR. */
  onReaderError(code: number, text: string): void;
  /** The reader shows it no longer knows its transaction: HELLO again on a ready link (a reboot), or STATUS idle. */
  onReaderForgot(why: 'hello' | 'idle'): void;
}

interface Session {
  readonly port: ReaderPort;
  readonly link: SerialLink;
}

/** Where the connection's port, time and timers come from: the machine's by default, a simulation's there. */
export interface ReaderConnectionIo {
  readonly openPort: OpenReaderPort;
  readonly timers: Timers;
  readonly clock: Clock;
}

const machineIo: ReaderConnectionIo = { openPort: (path, profile) => TtyPort.open(path, profile), timers: systemTimers, clock: systemClock };

/**
 * What the node announces when it asks the reader for its HELLO (PROTOCOL.md 4): no card
 * capabilities of its own, the offer of secure sessions, and the revision it speaks.
 */
function nodeHello(maxPayload: number): DataMessage {
  return { kind: 'HELLO', protocolVersion: PROTOCOL_VERSION, capabilities: Capability.SECURE_SESSION, maxPayload, model: 'edgepay-node', firmwareVersion: PROTOCOL_REVISION };
}
const HELLO_ATTEMPTS = 3;
/** Beyond the link's own ACK budget: time for the reader to answer with its HELLO. */
const HELLO_ANSWER_MS = 500;

/** The AUTH_CHALLENGE the node waits on: one at a time, for the session it was sent on. */
interface PendingChallenge {
  readonly session: Session;
  readonly nodeNonce: Uint8Array;
  readonly timer: unknown;
}

/**
 * Between attempts to open an absent reader's port. The cap is what a reader plugged back in
 * waits, at worst, before the node tries it: a lane is down until then, so it is kept well under a
 * second. An attempt on an absent device is one failed open(2), so four a second cost nothing.
 */
export const REOPEN_DELAY_MS = { first: 50, max: 250 } as const;

/**
 * Owns the serial port of one reader: opens it (and reopens it with backoff whenever it goes),
 * shakes hands, polls health. A reader that is absent is a state, not a failure: the lane sees
 * 'disconnected' and the connection keeps trying until the device node comes back.
 */
export class ReaderConnection {
  state: ConnectionState = 'connecting';
  hello: HelloMessage | undefined;
  connects = 0;
  lastSeenMs: number | undefined;
  /** Why the reader is 'incompatible': shown on the lane and in the error a payment gets. */
  problem: string | undefined;
  /** The nonces of the authenticated session (PROTOCOL.md 8); undefined on a clear (1.0) link. */
  secureSession: SessionNonces | undefined;
  /** The lane's pinned reader key; when set, the lane takes card data only from a secure session. */
  readonly pinned: PinnedReaderKey | undefined;

  private session: Session | undefined;
  /** Callers waiting for a connection attempt to end, one way or the other (see settled). */
  private settledWaiters: (() => void)[] = [];
  private readonly backoff = new Backoff(REOPEN_DELAY_MS.first, REOPEN_DELAY_MS.max);
  private retryTimer: unknown;
  private pollTimer: unknown;
  private helloWaiter: ((answered: boolean) => void) | undefined;
  /**
   * The handshake's answer window: the node asks for HELLO more than once, and a reader also sends
   * one of its own when it starts, so HELLOs until the window closes are answers. After it, a HELLO
   * on a ready link is the reader starting again.
   */
  private answeringHello = false;
  private helloGraceTimer: unknown;
  private stopped = false;
  private absentLogged = false;
  private challenge: PendingChallenge | undefined;

  constructor(
    private readonly init: ReaderInit,
    private readonly events: ConnectionEvents,
    private readonly log: ActorLog,
    private readonly io: ReaderConnectionIo = machineIo,
  ) {
    if (init.readerPublicKey !== undefined) this.pinned = pinnedReaderKey(init.readerPublicKey);
  }

  /** How the lane's reader is spoken to, once ready: sealed card data or a 1.0 link's clear card data. */
  get sessionKind(): 'secure' | 'clear' | undefined {
    if (this.state !== 'ready') return undefined;
    return this.secureSession === undefined ? 'clear' : 'secure';
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.io.timers.clearTimeout(this.retryTimer);
    const session = this.session;
    if (session !== undefined) {
      this.endSession(session);
      await session.port.close();
    }
  }

  /**
   * Resolves once the connection is not 'connecting' any more (ready, disconnected, incompatible),
   * or after maxMs: a payment that comes while the node is still shaking hands with a reader (just
   * started, just plugged in) waits for the handshake instead of failing on a reader that is
   * a moment from ready.
   */
  settled(maxMs: number): Promise<void> {
    if (this.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.io.timers.clearTimeout(timer);
        this.settledWaiters = this.settledWaiters.filter((waiter) => waiter !== done);
        resolve();
      };
      const timer = this.io.timers.setTimeout(done, maxMs);
      this.settledWaiters.push(done);
    });
  }

  /** Rejects with EDGEPAY_READER_UNAVAILABLE when there is no reader, EDGEPAY_READER_LOST when it goes during the send. */
  async send(msg: DataMessage): Promise<void> {
    const session = this.session;
    const details = { lane: this.init.lane, port: this.init.port, message: msg.kind };
    if (session === undefined) throw new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `no reader connected on ${this.init.port}`, details);
    try {
      await session.link.send(msg);
      this.lastSeenMs = this.io.clock.wallMs();
    } catch (error) {
      throw linkFailure(error, details);
    }
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    let port: ReaderPort;
    try {
      port = await this.io.openPort(this.init.port, this.init.profile);
    } catch (error) {
      this.enter('disconnected');
      // Once per outage: an absent reader is retried every REOPEN_DELAY_MS.max for as long as it is gone.
      if (!this.absentLogged) this.log.warn({ port: this.init.port, err: error }, 'reader not available, retrying');
      this.absentLogged = true;
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      await port.close();
      return;
    }
    this.absentLogged = false;
    this.connects++;
    this.problem = undefined;
    this.enter('connecting');
    const session: Session = {
      port,
      link: new SerialLink(
        port,
        this.init.profile,
        {
          onMessage: (msg) => this.onMessage(session, msg),
          onLinkDown: (reason) => this.drop(session, `link down (${reason})`),
        },
        this.io.timers,
      ),
    };
    this.session = session;
    port.on('close', (reason) => this.drop(session, `serial line: ${reason}`));
    this.log.info({ port: this.init.port, connects: this.connects }, 'serial port open, asking the reader for HELLO');
    await this.handshake(session);
  }

  /**
   * Asks more than once on the same link: a stale frame left in the line can make the reader's
   * first answer look like a duplicate SEQ, and the next request gets a fresh one.
   *
   * The first request goes out twice, back to back. A reader whose port stayed open while the node
   * restarted (a USB reader on a box whose node was killed) still holds the SEQ of the last frame
   * it accepted from the node before, and the new link starts again at 0: when that SEQ was 0, it
   * acknowledges the first HELLO as a duplicate and never answers it, and the lane would wait a
   * whole answer window for the second attempt. The second frame's SEQ differs from the first's,
   * so the reader takes one of the two whatever it held; a reader that takes both answers twice,
   * which changes nothing.
   */
  private async handshake(session: Session): Promise<void> {
    const waitMs = this.init.profile.timeouts.ackMs * (this.init.profile.timeouts.retransmissions + 1) + HELLO_ANSWER_MS;
    const hello = nodeHello(this.init.profile.framing.maxPayloadBytes);
    for (let attempt = 1; attempt <= HELLO_ATTEMPTS; attempt++) {
      const answered = this.waitForHello(waitMs);
      this.answeringHello = true;
      session.link.send(hello).catch(() => undefined);
      if (attempt === 1) session.link.send(hello).catch(() => undefined);
      if (await answered) {
        this.io.timers.clearTimeout(this.helloGraceTimer);
        this.helloGraceTimer = this.io.timers.setTimeout(() => {
          this.answeringHello = false;
        }, waitMs);
        return;
      }
      if (this.session !== session) return;
    }
    this.drop(session, `no HELLO after ${HELLO_ATTEMPTS} requests`);
  }

  private waitForHello(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.io.timers.setTimeout(() => settle(false), ms);
      const settle = (answered: boolean): void => {
        this.io.timers.clearTimeout(timer);
        if (this.helloWaiter === settle) this.helloWaiter = undefined;
        resolve(answered);
      };
      this.helloWaiter = settle;
    });
  }

  private onMessage(session: Session, msg: DataMessage): void {
    if (this.session !== session) return;
    this.lastSeenMs = this.io.clock.wallMs();
    switch (msg.kind) {
      case 'HELLO':
        this.onHello(session, msg);
        return;
      case 'STATUS':
        if (msg.state === ReaderStateCode.IDLE) this.events.onReaderForgot('idle');
        return;
      case 'ERROR':
        this.log.warn({ code: msg.code, text: msg.text }, 'the reader reported an error');
        this.events.onReaderError(msg.code, msg.text);
        // The reader lost the session the node thought it had (it restarted unseen): authenticate it again.
        if (msg.code === ErrorCode.SECURE_SESSION_REQUIRED && this.secureSession !== undefined && this.state === 'ready') {
          this.secureSession = undefined;
          this.stopPolling();
          this.enter('connecting');
          this.sendChallenge(session);
        }
        return;
      case 'AUTH_RESPONSE':
        this.onAuthResponse(session, msg);
        return;
      case 'CARD_DATA':
      case 'SEALED_CARD':
      case 'TXN_ENDED':
        this.events.onMessage(msg);
        return;
      default:
        this.log.debug({ message: msg.kind }, 'ignored a message the reader does not send');
    }
  }

  private onHello(session: Session, msg: HelloMessage): void {
    this.hello = msg;
    if (this.state === 'ready' && this.secureSession !== undefined) {
      // A reader sends its answers to the node's HELLOs before it answers the challenge that follows
      // them, so a HELLO after the authentication is the reader starting again, window or not: its
      // session went with its transaction, and nothing it sends counts until it authenticates again.
      this.log.warn({ model: msg.model, firmwareVersion: msg.firmwareVersion }, 'reader announced itself again: authenticating it again');
      this.events.onReaderForgot('hello');
      this.secureSession = undefined;
      this.stopPolling();
      this.enter('connecting');
      this.act(session, decideHello(msg, this.pinned, this.init.lane), msg);
    } else if (this.state === 'ready' && msg.protocolVersion === PROTOCOL_VERSION) {
      // Not an answer to the node's HELLO: the reader started again, and its transaction is gone.
      if (!this.answeringHello) {
        this.log.warn({ model: msg.model, firmwareVersion: msg.firmwareVersion }, 'reader announced itself again');
        this.events.onReaderForgot('hello');
      }
    } else if (this.challenge === undefined) {
      this.act(session, decideHello(msg, this.pinned, this.init.lane), msg);
    }
    this.helloWaiter?.(true);
  }

  private act(session: Session, decision: HelloDecision | ResponseDecision, hello: HelloMessage | undefined): void {
    switch (decision.kind) {
      case 'refuse':
        this.refuse(session, decision);
        return;
      case 'challenge':
        this.sendChallenge(session);
        return;
      case 'ready-clear':
        this.ready(session, 'clear', hello);
        return;
      case 'ready-secure':
        this.secureSession = decision.session;
        this.ready(session, 'secure', hello);
        return;
    }
  }

  private sendChallenge(session: Session): void {
    const nodeNonce = new Uint8Array(randomBytes(SecureSizes.NONCE));
    const waitMs = this.init.profile.timeouts.ackMs * (this.init.profile.timeouts.retransmissions + 1) + HELLO_ANSWER_MS;
    const timer = this.io.timers.setTimeout(() => {
      if (this.challenge?.nodeNonce !== nodeNonce) return;
      this.challenge = undefined;
      // As with an unanswered HELLO: the line is opened again and the handshake starts over (a reader that rebooted meanwhile answers that one).
      this.drop(session, `no AUTH_RESPONSE within ${waitMs} ms`);
    }, waitMs);
    this.challenge = { session, nodeNonce, timer };
    session.link.send({ kind: 'AUTH_CHALLENGE', nodeNonce }).catch(() => undefined);
  }

  private onAuthResponse(session: Session, msg: AuthResponseMessage): void {
    const challenge = this.challenge;
    if (challenge === undefined || challenge.session !== session) {
      this.log.debug({}, 'AUTH_RESPONSE without a challenge outstanding, ignored');
      return;
    }
    this.io.timers.clearTimeout(challenge.timer);
    this.challenge = undefined;
    this.act(session, decideResponse(challenge.nodeNonce, msg, this.pinned, this.init.lane), this.hello);
  }

  private ready(session: Session, kind: 'secure' | 'clear', hello: HelloMessage | undefined): void {
    this.problem = undefined;
    this.enter('ready');
    this.backoff.reset();
    this.startPolling(session);
    this.log.info({ model: hello?.model, firmwareVersion: hello?.firmwareVersion, session: kind }, 'reader ready');
  }

  /**
   * The reader cannot serve this lane as it is: told why (ERROR), shown on the lane, and whatever
   * ran on it fails. It stays refused until it announces itself again or the line is reopened.
   */
  private refuse(session: Session, { code, problem, details }: Refusal): void {
    if (this.state !== 'incompatible' || this.problem !== problem) {
      this.log.error({ port: this.init.port, ...details }, problem);
      session.link.send({ kind: 'ERROR', code, text: truncateAscii(problem, Limits.ERROR_TEXT) }).catch(() => undefined);
    }
    this.problem = problem;
    this.secureSession = undefined;
    this.stopPolling();
    const wasReady = this.state === 'ready';
    this.enter('incompatible');
    // A reader replaced by an unusable one without the line dropping: its transaction is gone too.
    if (wasReady)
      this.events.onLost(new EdgepayError('EDGEPAY_READER_INCOMPATIBLE', `the reader on ${this.init.port} can no longer be used: ${problem}`, { lane: this.init.lane, port: this.init.port, problem, ...details }));
  }

  private enter(state: ConnectionState): void {
    this.state = state;
    if (state !== 'connecting') for (const waiter of [...this.settledWaiters]) waiter();
  }

  private startPolling(session: Session): void {
    this.stopPolling();
    const poll = (): void => {
      if (this.session !== session) return;
      // A failed poll takes the link down, and onLinkDown reports it: the promise has nothing to add.
      session.link.send({ kind: 'STATUS_REQUEST' }).catch(() => undefined);
      // The send may have ended the session there and then: no poll for a dead session.
      if (this.session === session) this.pollTimer = this.io.timers.setTimeout(poll, this.init.profile.timeouts.healthPollMs);
    };
    this.pollTimer = this.io.timers.setTimeout(poll, this.init.profile.timeouts.healthPollMs);
  }

  private stopPolling(): void {
    this.io.timers.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** Called from every way a session ends; only the first call for a session counts. */
  private drop(session: Session, reason: string): void {
    if (this.session !== session) return;
    this.endSession(session);
    void session.port.close();
    this.enter('disconnected');
    this.log.warn({ port: this.init.port, reason }, 'reader disconnected');
    this.events.onLost(new EdgepayError('EDGEPAY_READER_LOST', `reader on ${this.init.port} lost: ${reason}`, { lane: this.init.lane, port: this.init.port, reason }));
    this.scheduleRetry();
  }

  private endSession(session: Session): void {
    this.session = undefined;
    this.secureSession = undefined;
    if (this.challenge !== undefined) this.io.timers.clearTimeout(this.challenge.timer);
    this.challenge = undefined;
    this.stopPolling();
    this.io.timers.clearTimeout(this.helloGraceTimer);
    this.answeringHello = false;
    session.link.detach();
    this.helloWaiter?.(false);
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    this.retryTimer = this.io.timers.setTimeout(() => void this.connect(), this.backoff.next());
  }
}

/** ERROR's text is at most 128 bytes; the problems are ASCII, so a cut at a byte is a cut at a character. */
function truncateAscii(text: string, maxBytes: number): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= maxBytes ? ascii : `${ascii.slice(0, maxBytes - 3)}...`;
}
