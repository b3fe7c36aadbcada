import type { KeyObject } from 'node:crypto';
import type { HeldEntry, OriginReport } from '../central/ledger-backend.js';
import { loadCentrePublicKey } from '../central/centre-keys.js';
import type { AnswerRejectReason } from './answer-check.js';
import { EdgepayError } from '../errors.js';
import type { NodeConfig } from '../node/config.js';
import { readPassword } from '../replication/mqtt-link.js';
import { openEmbeddedCentre } from './embedded-centre.js';
import { forwardingIdentity } from './forwarding-identity.js';
import { MqttCentreLink } from './mqtt-centre-link.js';
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
  /** What the centre holds of a node, entry by entry; only an embedded ledger can be asked directly. */
  readonly heldEntries?: (origin: string, fromSeq: number, limit: number) => Promise<HeldEntry[]>;
  close(): Promise<void>;
}

/** The centre as a node's configuration names it: an embedded ledger, or the centre process over the fleet's MQTT. */
export async function connectToCentre(config: NodeConfig): Promise<CentreConnection> {
  const centre = config.centre;
  if (centre === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre: the node configuration has no centre section', { field: 'centre' });
  const identity = forwardingIdentity(config, centre.store);
  if (centre.ledger !== undefined) {
    const embedded = await openEmbeddedCentre({ ...centre, ledger: centre.ledger }, identity.embeddedNodes);
    return {
      link: embedded.link,
      via: 'embedded ledger',
      signingKey: identity.signingKey,
      originReport: async (origin) => (await embedded.centre.backend.originReports()).find((r) => r.origin === origin),
      heldEntries: (origin, fromSeq, limit) => embedded.centre.backend.heldEntries(origin, fromSeq, limit),
      close: () => embedded.close(),
    };
  }
  const replication = config.replication;
  if (replication === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre.ledger: needed without a replication section (the broker to reach the centre by)', { field: 'centre.ledger' });
  // Over the broker, the centre's answers are believed only with its pinned key (the configuration requires one).
  if (centre.signingPublicKeyFile === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', "centre.signingPublicKeyFile: needed without centre.ledger (the centre's answer key)", { field: 'centre.signingPublicKeyFile' });
  const centreKey = loadCentrePublicKey(centre.signingPublicKeyFile);
  const link = await MqttCentreLink.open({
    brokerUrl: replication.brokerUrl,
    username: replication.username ?? config.nodeId,
    ...(replication.passwordFile === undefined ? {} : { password: readPassword(replication.passwordFile) }),
    fleet: replication.fleet,
    store: centre.store,
    node: config.nodeId,
    answerTimeoutMs: centre.answerTimeoutMs,
    centreKey,
  });
  return { link, via: replication.brokerUrl, signingKey: identity.signingKey, rejectedAnswers: link.rejectedAnswers, close: () => link.close() };
}
