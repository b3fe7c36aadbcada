import { TOPIC_ROOT, assertTopicId } from '../wire/topics.js';

/*
 * Where batches go and answers come back, in the fleet's topic tree. A node publishes its batches
 * under its own node level (the broker ACL already lets it write nowhere else), so the topic names
 * the sender; the centre answers on the node's `centre` leaf.
 */

export function uplinkTopic(fleet: string, store: string, node: string): string {
  for (const [kind, id] of [
    ['fleet', fleet],
    ['store', store],
    ['node', node],
  ] as const)
    assertTopicId(kind, id);
  return `${TOPIC_ROOT}/${fleet}/${store}/${node}/uplink`;
}

/** Online authorizations and reversals from a node, while the link is up. */
export function authorizeTopic(fleet: string, store: string, node: string): string {
  for (const [kind, id] of [
    ['fleet', fleet],
    ['store', store],
    ['node', node],
  ] as const)
    assertTopicId(kind, id);
  return `${TOPIC_ROOT}/${fleet}/${store}/${node}/authorize`;
}

export function answerTopic(fleet: string, store: string, node: string): string {
  for (const [kind, id] of [
    ['fleet', fleet],
    ['store', store],
    ['node', node],
  ] as const)
    assertTopicId(kind, id);
  return `${TOPIC_ROOT}/${fleet}/${store}/${node}/centre`;
}

/**
 * Every store's batches. With a share group, several centre processes split them between them
 * (MQTT shared subscriptions: Mosquitto, EMQX); without, one centre takes them all.
 */
export function centreFilters(fleet: string, shareGroup?: string): string[] {
  assertTopicId('fleet', fleet);
  return (['uplink', 'authorize'] as const).map((leaf) => {
    const filter = `${TOPIC_ROOT}/${fleet}/+/+/${leaf}`;
    return shareGroup === undefined ? filter : `$share/${shareGroup}/${filter}`;
  });
}

export type CentreLeaf = 'uplink' | 'authorize';

export function parseCentreTopic(fleet: string, topic: string): { readonly store: string; readonly node: string; readonly leaf: CentreLeaf } | undefined {
  const prefix = `${TOPIC_ROOT}/${fleet}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length !== 3 || (parts[2] !== 'uplink' && parts[2] !== 'authorize')) return undefined;
  return { store: parts[0]!, node: parts[1]!, leaf: parts[2] };
}
