/**
 * How the centre link's messages reach the broker: requests out on the node's own `uplink` and
 * `authorize` topics, the centre's answers in from its `centre` topic. The link above it
 * (mqtt-centre-link.ts) keeps everything that decides what to believe; a transport only moves
 * bytes, so the node's two ways of reaching the broker cannot differ in how strict they are.
 *
 * Two implementations: a client of its own (own-client-transport.ts: CLI tools that run while the
 * node is stopped), and the replicator's connection (replicator-transport.ts: the running node,
 * whose one certificate may hold one connection on the TLS listener).
 */
export interface CentreTransport {
  /**
   * Resolves once the broker took the request (PUBACK); rejects when it cannot be sent. `timeoutMs`
   * is how long the request waits for its answer: the publish need not be given longer.
   */
  publish(topic: string, payload: Uint8Array, timeoutMs: number): Promise<void>;
  /** Where whatever comes on the node's `centre` topic goes; set once, before the first publish. */
  onAnswer(handler: (payload: Buffer) => void): void;
  close(): Promise<void>;
}
