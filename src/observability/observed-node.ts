import type { SupervisorHandle } from '../actors/index.js';
import type { LaneInfo } from '../lanes/lane-service.js';
import type { NodeActorCall } from '../node/actor-directory.js';
import type { NodeConfig } from '../config/node-config.js';
import type { DecisionLog } from './decision-log.js';

/**
 * What the metrics, `/health` and the status page read of a running node: its configuration, its
 * tree, its lanes, its recent decisions and its actors' status answers. Nothing here takes a
 * payment, so observability cannot.
 */
export interface ObservedNode {
  readonly config: NodeConfig;
  readonly supervisor: Pick<SupervisorHandle, 'children'>;
  readonly isAccepting: boolean;
  readonly lanes: { lanes(): Promise<LaneInfo[]> };
  readonly decisions: Pick<DecisionLog, 'latest' | 'onDecision'>;
  /** Settles once the node's tree has exited. */
  readonly exited: Promise<unknown>;
  readonly askOnce: NodeActorCall;
}
