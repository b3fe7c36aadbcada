import { connect as tcpConnect } from 'node:net';
import type { MqttClient } from 'mqtt';
import { type Clock, monotonicMs, systemClock } from '../../platform/clock.js';
import { type BrokerEndpoint, aimAt, brokerEndpointOf } from './broker-endpoint.js';
import { FailbackPolicy, nextBrokerIndex } from './failback-policy.js';
import type { ReplicationLog } from '../../platform/replication-log.js';

export interface BrokerFailoverOptions {
  /** The primary first, then the standbys in the order they are tried. */
  readonly urls: readonly string[];
  /** On a standby, go back once the primary has answered every probe this long; never without it. */
  readonly failbackAfterMs?: number;
  readonly probeEveryMs?: number;
  readonly probeTimeoutMs?: number;
  readonly log: ReplicationLog;
  readonly clock?: Clock;
  /** Whether a broker accepts connections now; a TCP connect by default. */
  readonly probe?: (endpoint: BrokerEndpoint, timeoutMs: number) => Promise<boolean>;
}

export interface BrokerLinkStatus {
  /** The broker the current (or next) connection is to. */
  readonly url: string;
  /** 0 for the primary; the standby's place in the list otherwise. */
  readonly index: number;
  readonly onStandby: boolean;
  /** Connections made to another broker than the previous one, since start. */
  readonly failovers: number;
  /** Moves back to the primary after it answered for failbackAfterMs. */
  readonly failbacks: number;
}

const DEFAULT_PROBE_EVERY_MS = 1_000;
const DEFAULT_PROBE_TIMEOUT_MS = 1_000;

/**
 * Keeps one mqtt.js client on one of a store's brokers at a time. Every closed or failed
 * connection moves the next attempt to the next broker in the list (the standby right after the
 * primary dies, not the primary's restart), and on a standby the primary is probed until it has
 * answered for failbackAfterMs, then the client leaves the standby cleanly (DISCONNECT: no last
 * will, every in-flight publish acknowledged first) and connects to the primary. The brokers are
 * bridged to each other (brokers/peer-bridge.conf.example), so nodes on different brokers still
 * hear each other: failing back restores the planned layout, it is not what keeps peers together.
 */
export class BrokerFailover {
  private readonly endpoints: readonly BrokerEndpoint[];
  private readonly clock: Clock;
  private readonly policy: FailbackPolicy | undefined;
  private index = 0;
  /** The broker of the last successful connection; -1 before the first. */
  private connectedIndex = -1;
  /** The next close is our own move back to the primary, not a lost broker. */
  private movingTo: number | undefined;
  private failovers = 0;
  private failbacks = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly options: BrokerFailoverOptions,
  ) {
    this.endpoints = options.urls.map(brokerEndpointOf);
    this.clock = options.clock ?? systemClock;
    this.policy = options.failbackAfterMs === undefined ? undefined : new FailbackPolicy(options.failbackAfterMs);
    aimAt(client.options, this.endpoints[0]!);
    client.on('close', this.onClose);
    // Emitted by mqtt.js just before each new attempt: the moment to say where it goes.
    client.on('reconnect', this.onReconnect);
    client.on('connect', this.onConnect);
  }

  status(): BrokerLinkStatus {
    return { url: this.endpoints[this.index]!.url, index: this.index, onStandby: this.index !== 0, failovers: this.failovers, failbacks: this.failbacks };
  }

  close(): void {
    this.closed = true;
    this.stopProbing();
    this.client.removeListener('close', this.onClose);
    this.client.removeListener('reconnect', this.onReconnect);
    this.client.removeListener('connect', this.onConnect);
  }

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.stopProbing();
    if (this.movingTo !== undefined) {
      this.index = this.movingTo;
      this.movingTo = undefined;
      return;
    }
    this.index = nextBrokerIndex(this.index, this.endpoints.length);
  };

  private readonly onReconnect = (): void => {
    if (!this.closed) aimAt(this.client.options, this.endpoints[this.index]!);
  };

  private readonly onConnect = (): void => {
    if (this.closed) return;
    const endpoint = this.endpoints[this.index]!;
    if (this.connectedIndex !== -1 && this.connectedIndex !== this.index) {
      this.failovers++;
      this.options.log.warn(
        { broker: endpoint.url, previous: this.endpoints[this.connectedIndex]!.url, standby: this.index !== 0 },
        this.index === 0 ? 'connected to the primary store broker again' : 'failed over to a standby store broker',
      );
    }
    this.connectedIndex = this.index;
    if (this.index !== 0) this.startProbing();
  };

  private startProbing(): void {
    if (this.policy === undefined || this.probeTimer !== undefined) return;
    this.policy.reset();
    this.probeTimer = setInterval(() => void this.probeOnce(), this.options.probeEveryMs ?? DEFAULT_PROBE_EVERY_MS);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.policy?.reset();
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || this.policy === undefined) return;
    this.probing = true;
    try {
      const probe = this.options.probe ?? tcpProbe;
      const answered = await probe(this.endpoints[0]!, this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
      if (this.closed || this.probeTimer === undefined || !this.client.connected) return;
      if (this.policy.probed(answered, monotonicMs(this.clock))) this.moveToPrimary();
    } finally {
      this.probing = false;
    }
  }

  private moveToPrimary(): void {
    this.stopProbing();
    this.failbacks++;
    this.movingTo = 0;
    this.options.log.info({ broker: this.endpoints[0]!.url, from: this.endpoints[this.index]!.url }, 'the primary store broker has answered for failbackAfterSeconds; moving back to it');
    // end(false) lets the in-flight publishes be acknowledged, then says DISCONNECT (so the standby
    // sends no last will); reconnect() waits for that and dials again, through onReconnect.
    this.client.end(false);
    this.client.reconnect();
  }
}

/** The broker's port accepts a TCP connection within timeoutMs. */
export function tcpProbe(endpoint: BrokerEndpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: endpoint.host, port: endpoint.port });
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
