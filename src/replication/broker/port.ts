/**
 * What the outbox, the subscriber and the status reporter need from the MQTT client: publishing,
 * and whether the link is up. The replicator implements it over mqtt.js; tests implement it over
 * an in-memory network, so the protocol logic runs without a broker.
 */
export interface PublishOptions {
  readonly qos: 0 | 1;
  readonly retain?: boolean;
}

export interface MqttPort {
  readonly connected: boolean;
  /** Resolves when the broker acknowledged the message (PUBACK for QoS 1); rejects if the client gave up on it. */
  publish(topic: string, payload: Buffer, options: PublishOptions): Promise<void>;
}
