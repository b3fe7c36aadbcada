import type { KeyObject } from 'node:crypto';
import type { HeldEntry, OriginReport } from '../central/ledger-backend.js';
import { loadCentrePublicKey } from '../central/centre-keys.js';
import type { AnswerRejectReason } from './answer-check.js';
import { EdgepayError } from '../errors.js';
import type { NodeConfig } from '../config/node-config.js';
import { readPassword } from '../replication/broker/mqtt-link.js';
import { loadBrokerTls } from '../platform/broker-tls.js';
import { openEmbeddedCentre } from './embedded-centre.js';
import { forwardingIdentity } from './forwarding-identity.js';
import { answerTopic } from '../central/centre-topics.js';
import type { CentreTransport } from './centre-transport.js';
import { MqttCentreLink, type ReportAnswer } from './mqtt-centre-link.js';
import { openOwnClientTransport, toolClientId } from './own-client-transport.js';
import type { CentreLink } from './uplink.js';

export interface CentreConnection {
  readonly link: CentreLink;
  /** How the node reaches the centre, for reports: 'embedded ledger' or the broker URL. */
  readonly via: string;
  /** The key this node signs its batches with. */
  readonly signingKey: KeyObject;
  /** Over MQTT: answers on the node's centre topic not believed (unsigned, forged, mismatched, expired), by why. */
  readonly rejectedAnswers?: Readonly<Record<AnswerRejectReason, number>>;
  /** What the centre holds of a node; only an embedded ledger can be asked directly. */
  readonly originReport?: (origin: string) => Promise<OriginReport | undefined>;
  /** Over MQTT: the centre's signed report of this node, believed only as the link checks every answer. */
  readonly askReport?: (timeoutMs: number, correlationId?: string) => Promise<ReportAnswer>;
  /** What the centre holds of a node, entry by entry; only an embedded ledger can be asked directly. */
  readonly heldEntries?: (origin: string, fromSeq: number, limit: number) => Promise<HeldEntry[]>;
  close(): Promise<void>;
}

/**
 * Over MQTT, how the link reaches the broker. 'own-client' (the default): a connection of its own,
 * for a process other than the running node (`reconcile run` with the node stopped). A transport:
 * the running node's, over its replicator's connection (replicator-transport.ts). 'none': a
 * command that only reads the journal (`reconcile status`), which must not take the running
 * node's session from it on the TLS listener; a request over it fails at once.
 */
export type CentreTransportChoice = 'own-client' | 'none' | CentreTransport;

/** With 'own-client': which tool connects (its client id, toolClientId()), and how long it may take to. */
export interface OwnClientChoice {
  readonly tool: string;
  readonly connectTimeoutMs?: number;
}

/** The centre as a node's configuration names it: an embedded ledger, or the centre process over the fleet's MQTT. */
export async function connectToCentre(config: NodeConfig, transport: CentreTransportChoice = 'own-client', ownClient: OwnClientChoice = { tool: 'tool' }): Promise<CentreConnection> {
  const centre = config.centre;
  if (centre === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre: the node configuration has no centre section', { field: 'centre' });
  const identity = forwardingIdentity(config, centre.store);
  if (centre.ledger !== undefined) {
    const embedded = openEmbeddedCentre({ ...centre, ledger: centre.ledger }, identity.embeddedNodes);
    return {
      link: embedded.link,
      via: 'embedded ledger',
      signingKey: identity.signingKey,
      originReport: async (origin) => (await embedded.centre()).backend.originReport(origin),
      heldEntries: async (origin, fromSeq, limit) => (await embedded.centre()).backend.heldEntries(origin, fromSeq, limit),
      close: () => embedded.close(),
    };
  }
  const replication = config.replication;
  if (replication === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre.ledger: needed without a replication section (the broker to reach the centre by)', { field: 'centre.ledger' });
  // Over the broker, the centre's answers are believed only with its pinned key (the configuration requires one).
  if (centre.signingPublicKeyFile === undefined)
    throw new EdgepayError('EDGEPAY_BAD_INPUT', "centre.signingPublicKeyFile: needed without centre.ledger (the centre's answer key)", { field: 'centre.signingPublicKeyFile' });
  const centreKey = loadCentrePublicKey(centre.signingPublicKeyFile);
  const carrier =
    transport === 'own-client'
      ? await openOwnClientTransport({
          brokerUrl: replication.brokerUrl,
          ...(replication.standbyBrokerUrls === undefined ? {} : { standbyBrokerUrls: replication.standbyBrokerUrls }),
          username: replication.username ?? config.nodeId,
          ...(replication.passwordFile === undefined ? {} : { password: readPassword(replication.passwordFile) }),
          tls: loadBrokerTls(replication.brokerUrl, replication, 'replication.'),
          answerTopic: answerTopic(replication.fleet, centre.store, config.nodeId),
          clientId: toolClientId(config.nodeId, ownClient.tool),
          ...(ownClient.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: ownClient.connectTimeoutMs }),
        })
      : transport === 'none'
        ? noTransport
        : transport;
  const link = new MqttCentreLink(carrier, { fleet: replication.fleet, store: centre.store, node: config.nodeId, answerTimeoutMs: centre.answerTimeoutMs, centreKey });
  return {
    link,
    via: replication.brokerUrl,
    signingKey: identity.signingKey,
    rejectedAnswers: link.rejectedAnswers,
    askReport: (timeoutMs, correlationId) => link.askReport(timeoutMs, correlationId),
    close: () => link.close(),
  };
}

const noTransport: CentreTransport = {
  publish: () => Promise.reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'this command reads the journal only and sends nothing to the centre', {})),
  onAnswer: () => undefined,
  close: () => Promise.resolve(),
};
