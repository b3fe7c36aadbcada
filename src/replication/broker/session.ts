import type { BrokerLinkStatus } from './broker-failover.js';
import type { MqttPort } from './port.js';
import type { WillMessage } from '../peers/status.js';

/** A message the broker delivered on one of the session's subscriptions. */
export interface InboundMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** Sent from the broker's retained store (a subscription's first delivery), not published just now. */
  readonly retained: boolean;
}

/** What the session tells its owner: messages, (re)connections, and trouble on the link. */
export interface SessionHandlers {
  /** A message; `done()` acknowledges it to the broker, `done(error)` leaves it unacknowledged (it comes again). */
  readonly message: (message: InboundMessage, done: (error?: Error) => void) => void;
  /** Connected, first or again; sessionPresent as the broker said (subscriptions are the owner's to renew). */
  readonly connect: (sessionPresent: boolean) => void;
  /** About to dial again: the moment to refresh the will with what is known now. */
  readonly reconnecting: () => void;
  readonly closed: () => void;
  readonly error: (error: Error) => void;
}

/**
 * A node's one session with the store's broker, as the replicator uses it: publishing (the port),
 * subscribing, a last will, and reconnecting on its own while the broker is away. Over mqtt.js in
 * production (MqttSession, with failover between the store's brokers); the simulation implements
 * it over its seeded network, so the replicator it runs is the one a node runs.
 */
export interface BrokerSession {
  readonly port: MqttPort;
  /** Wires the handlers and starts dialling with `will` as the last will; returns at once. */
  open(will: WillMessage, handlers: SessionHandlers): void;
  /** The will for the next connection. */
  setWill(will: WillMessage): void;
  /** Subscribes at QoS 1; resolves with the filters the broker refused (its ACL), rejects if the request failed. */
  subscribe(filters: readonly string[]): Promise<string[]>;
  status(): BrokerLinkStatus;
  /** Leaves cleanly (no will), waiting at most graceMs for the publishes still unacknowledged. */
  close(graceMs: number): Promise<void>;
}
