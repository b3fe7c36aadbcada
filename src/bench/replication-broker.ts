import { existsSync } from 'node:fs';
import { EdgepayError } from '../errors.js';
import { SHIPPED_ACL_FILE, SHIPPED_MOSQUITTO_CONF } from '../rigs/broker/mosquitto-server.js';
import type { BrokerAclScope } from '../rigs/broker/store-acl.js';
import { type BrokerKind, type BrokerUsers, type StoreBroker, startStoreBroker } from '../rigs/broker/store-broker.js';

/*
 * The bench's brokers: the embedded aedes and a real Mosquitto started from the shipped
 * brokers/mosquitto.conf (only paths and port replaced), both with per-node credentials and the
 * store ACL written from brokers/acl.template, so the figures are for what a store runs.
 */
const ACL_FILE = SHIPPED_ACL_FILE;

export type BenchBroker = Pick<StoreBroker, 'kind' | 'version' | 'url' | 'stop' | 'killNow'>;

export function startBenchBroker(kind: BrokerKind, dir: string, users: BrokerUsers, scope: BrokerAclScope): Promise<BenchBroker> {
  for (const file of [ACL_FILE, ...(kind === 'mosquitto' ? [SHIPPED_MOSQUITTO_CONF] : [])]) {
    if (!existsSync(file)) {
      throw new EdgepayError('EDGEPAY_NOT_FOUND', `bench replication needs the shipped broker file ${file}; run it from an edgepay checkout`, { file });
    }
  }
  return startStoreBroker(kind, dir, users, scope, { neededBy: '--broker mosquitto' });
}
