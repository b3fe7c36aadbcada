import { DEFAULT_BRIDGE_USER, DEFAULT_CENTRE_USER, DEFAULT_PEER_BRIDGE_USER, DEFAULT_RULES_USER, renderShippedStoreAcl } from '../../replication/broker/broker-acl.js';

/**
 * Which store a test, bench or demo broker serves: its ACL is the shipped template filled in for
 * this fleet and store, as `edgepay store broker-acl` writes it for a real store.
 */
export interface BrokerAclScope {
  readonly fleet: string;
  readonly store: string;
  readonly bridgeUser?: string;
  readonly rulesUser?: string;
  readonly centreUser?: string;
  /** The peer bridge between a store's two brokers (brokers/peer-bridge.conf.example). */
  readonly peerBridgeUser?: string;
  /**
   * Lines appended after the store ACL, for a rig that needs topics no store has (the bench's raw
   * MQTT measurement); a store's broker never gets any.
   */
  readonly extraLines?: readonly string[];
}

/**
 * The store ACL for a broker's users: every user but the bridge, rules, centre and peer bridge
 * users is a node of the store; the centre user is granted only if it is one of the users (a centre
 * connected to the store broker itself), and so is the peer bridge user (a store with two brokers).
 */
export function storeAclForUsers(users: Readonly<Record<string, string>>, scope: BrokerAclScope): string {
  const bridgeUser = scope.bridgeUser ?? DEFAULT_BRIDGE_USER;
  const rulesUser = scope.rulesUser ?? DEFAULT_RULES_USER;
  const centreUser = scope.centreUser ?? DEFAULT_CENTRE_USER;
  const peerBridgeUser = scope.peerBridgeUser ?? DEFAULT_PEER_BRIDGE_USER;
  const special = new Set([bridgeUser, rulesUser, centreUser, peerBridgeUser]);
  const nodes = Object.keys(users).filter((user) => !special.has(user));
  const acl = renderShippedStoreAcl({
    fleet: scope.fleet,
    store: scope.store,
    nodes,
    bridgeUser,
    rulesUser,
    ...(users[centreUser] === undefined ? {} : { centreUser }),
    ...(users[peerBridgeUser] === undefined ? {} : { peerBridgeUser }),
  });
  return scope.extraLines === undefined ? acl : `${acl}\n${scope.extraLines.join('\n')}\n`;
}
