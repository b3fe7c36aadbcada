import { ReplicationError } from './errors.js';
import { ID_RULE, isId } from '../ids.js';

/**
 * The topic tree is versioned (`edgepay/v1/…`) so a fleet can run two wire formats side by side
 * during an upgrade. Every id is one topic level; the broker ACL grants a node writes under
 * `edgepay/v1/+/+/<its username>/#`, so the tree's shape is a second line of defence behind the
 * signatures every message carries.
 */
export const TOPIC_ROOT = 'edgepay/v1';

export type NodeLeaf = 'journal' | 'status' | 'repair' | 'inbox' | 'ack';
const NODE_LEAVES: ReadonlySet<string> = new Set<NodeLeaf>(['journal', 'status', 'repair', 'inbox', 'ack']);

/**
 * `rules` is the store-wide level beside the node levels: a node called `rules` would be granted
 * writes to the signed rules topic by the `%u/#` ACL pattern, so the name is reserved.
 */
const RESERVED_IDS: ReadonlySet<string> = new Set(['rules']);

export type IdKind = 'fleet' | 'store' | 'node';

export function assertTopicId(kind: IdKind, value: string): void {
  if (!isId(value)) {
    throw new ReplicationError('EDGEPAY_REPLICATION_BAD_ID', `${kind} id ${JSON.stringify(value)} must be ${ID_RULE} (no '+', '#', '/')`, { kind, value });
  }
  if (kind === 'node' && RESERVED_IDS.has(value)) {
    throw new ReplicationError('EDGEPAY_REPLICATION_BAD_ID', `node id ${JSON.stringify(value)} is reserved: it is a store-level topic`, { kind, value });
  }
}

export interface ParsedTopic {
  readonly node: string;
  readonly leaf: NodeLeaf;
}

/** The topics of one store of one fleet. */
export class StoreTopics {
  readonly prefix: string;

  constructor(
    readonly fleet: string,
    readonly store: string,
  ) {
    assertTopicId('fleet', fleet);
    assertTopicId('store', store);
    this.prefix = `${TOPIC_ROOT}/${fleet}/${store}`;
  }

  /** Entries of `node`'s journal, published by that node only. */
  journal(node: string): string {
    return this.nodeTopic(node, 'journal');
  }

  /** Retained online/offline and head; also the node's last will. */
  status(node: string): string {
    return this.nodeTopic(node, 'status');
  }

  /**
   * Range requests made by `node` (for any origin's entries, named in the signed request),
   * answered by whoever holds them into `node`'s inbox. Published by `node` only (broker ACL), so
   * the topic names the requester, which must also have signed the request.
   */
  repair(node: string): string {
    return this.nodeTopic(node, 'repair');
  }

  /** Repair answers addressed to `node`: written by any holder, carrying only origin-signed entries. */
  inbox(node: string): string {
    return this.nodeTopic(node, 'inbox');
  }

  /**
   * What `node` holds of other nodes' journals: `{ node, origin, seq, wallMs }` signed by `node`,
   * for the origins' quorum acknowledgement. Published by `node` only (broker ACL), and counted
   * only when the topic's node signed it.
   */
  ack(node: string): string {
    return this.nodeTopic(node, 'ack');
  }

  /** Retained, signed, versioned rule and hot-card updates for the whole store. */
  rules(): string {
    return `${this.prefix}/rules`;
  }

  /** A subscription filter over every node of the store for one leaf. */
  everyNode(leaf: NodeLeaf): string {
    return `${this.prefix}/+/${leaf}`;
  }

  /** The node and leaf of a node topic of this store, or undefined for anything else. */
  parse(topic: string): ParsedTopic | undefined {
    if (!topic.startsWith(`${this.prefix}/`)) return undefined;
    const rest = topic.slice(this.prefix.length + 1).split('/');
    if (rest.length !== 2) return undefined;
    const [node, leaf] = rest as [string, string];
    if (!isId(node) || !NODE_LEAVES.has(leaf)) return undefined;
    return { node, leaf: leaf as NodeLeaf };
  }

  private nodeTopic(node: string, leaf: NodeLeaf): string {
    assertTopicId('node', node);
    return `${this.prefix}/${node}/${leaf}`;
  }
}

/** MQTT topic filter matching: `+` one level, `#` the rest. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
