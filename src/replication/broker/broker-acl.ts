import { readFileSync } from 'node:fs';
import { packagePath } from '../../platform/modules.js';
import { ReplicationError } from '../../wire/errors.js';
import { assertTopicId } from '../../wire/topics.js';
import { ID_RULE, isId } from '../../ids.js';

/*
 * The store broker's ACL, written from the shipped template (brokers/acl.template) for one store.
 * Mosquitto's acl_file substitutes only %u and %c, and its patterns apply to every user, so the
 * fleet, the store and the store's nodes are written in literally: see the template's header.
 */

export const ACL_TEMPLATE_FILE = packagePath('brokers/acl.template');

export const DEFAULT_BRIDGE_USER = 'edgepay-bridge';
export const DEFAULT_RULES_USER = 'edgepay-rules';
/** The user a centre connected to the store broker itself logs in as (demo, tests, single store). */
export const DEFAULT_CENTRE_USER = 'edgepay-centre';
/**
 * The user of the peer bridge between a store's two brokers (brokers/peer-bridge.conf.example): its
 * certificate's CN on the primary, its local_username on the standby.
 */
export const DEFAULT_PEER_BRIDGE_USER = 'edgepay-peer-bridge';

/** The users the ACL grants besides the nodes, named in errors so the caller can say which option was wrong. */
export type AclUserRole = 'bridge user' | 'rules user' | 'centre user' | 'peer bridge user';

/** A store's nodes beyond this are a configuration mistake, not a store: every node writes every inbox. */
export const MAX_STORE_NODES = 256;

export interface StoreAclOptions {
  readonly fleet: string;
  readonly store: string;
  /** Node ids, which are also their broker usernames. */
  readonly nodes: readonly string[];
  readonly bridgeUser: string;
  readonly rulesUser: string;
  /** Only when a centre connects to this broker itself; omitted, no centre user is granted anything. */
  readonly centreUser?: string;
  /** Only in a store with two brokers (a peer bridge between them); omitted, no peer bridge is granted anything. */
  readonly peerBridgeUser?: string;
}

/** Template placeholders whose block is written only when they have a value. */
const OPTIONAL_USERS = ['centre_user', 'peer_bridge_user'] as const;

/** The filled-in ACL text of one store, from the template's text. */
export function renderStoreAcl(template: string, options: StoreAclOptions): string {
  checkOptions(options);
  const { fleet, store, nodes, bridgeUser, rulesUser, centreUser, peerBridgeUser } = options;
  const values: Record<string, string> = {
    fleet,
    store,
    bridge_user: bridgeUser,
    rules_user: rulesUser,
    ...(centreUser === undefined ? {} : { centre_user: centreUser }),
    ...(peerBridgeUser === undefined ? {} : { peer_bridge_user: peerBridgeUser }),
  };
  const paragraphs = template
    .replace(/\r\n/g, '\n')
    .trimEnd()
    .split(/\n{2,}/);
  const out: string[] = [header(options)];
  // The template's own header says how to fill it in: the filled file says what it was filled with.
  for (const paragraph of paragraphs.slice(1)) {
    const lines = paragraph.split('\n');
    const comments = lines.filter(isComment);
    const rules = lines.filter((line) => !isComment(line));
    // An optional user's block is left out whole when it is not given: no grant to a name nobody chose.
    if (OPTIONAL_USERS.some((name) => values[name] === undefined && rules.some((line) => line.includes(`{${name}}`)))) continue;
    const owners = rules.some((line) => line.includes('{node}')) ? nodes : [undefined];
    const blocks = owners.map((node) => rules.flatMap((line) => expandLine(line, values, node, nodes)).join('\n'));
    out.push([...comments, blocks.join('\n\n')].join('\n'));
  }
  return `${out.join('\n\n')}\n`;
}

/** The shipped template, filled in. */
export function renderShippedStoreAcl(options: StoreAclOptions): string {
  return renderStoreAcl(readFileSync(ACL_TEMPLATE_FILE, 'utf8'), options);
}

function expandLine(line: string, values: Record<string, string>, node: string | undefined, nodes: readonly string[]): string[] {
  const each = line.includes('{each_node}') ? nodes : [undefined];
  return each.map((other) =>
    line.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
      const value = name === 'node' ? node : name === 'each_node' ? other : values[name];
      if (value === undefined) throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `the ACL template line ${JSON.stringify(line)} has ${whole}, which has no value here`, { line, placeholder: name });
      return value;
    }),
  );
}

function isComment(line: string): boolean {
  return line.trimStart().startsWith('#');
}

function header(options: StoreAclOptions): string {
  return [
    `# edgepay store broker ACL for fleet ${options.fleet}, store ${options.store}: ${options.nodes.length} node(s).`,
    '# Written by `edgepay store broker-acl` from brokers/acl.template: do not edit; write it again when',
    '# a node joins or leaves the store, then reload Mosquitto (SIGHUP).',
  ].join('\n');
}

function checkOptions(options: StoreAclOptions): void {
  assertTopicId('fleet', options.fleet);
  assertTopicId('store', options.store);
  if (options.nodes.length === 0 || options.nodes.length > MAX_STORE_NODES) {
    throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `a store ACL needs 1 to ${MAX_STORE_NODES} nodes, got ${options.nodes.length}`, { nodes: options.nodes.length });
  }
  const seen = new Set<string>();
  for (const node of options.nodes) {
    assertTopicId('node', node);
    if (seen.has(node)) throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `node ${JSON.stringify(node)} is listed twice`, { kind: 'node', node });
    seen.add(node);
  }
  const special: [AclUserRole, string | undefined][] = [
    ['bridge user', options.bridgeUser],
    ['rules user', options.rulesUser],
    ['centre user', options.centreUser],
    ['peer bridge user', options.peerBridgeUser],
  ];
  const roleOf = new Map<string, AclUserRole>();
  for (const [role, user] of special) {
    if (user === undefined) continue;
    // Usernames are written into the file literally: one token, and never a node's (it would get both grants).
    if (!isId(user)) {
      throw new ReplicationError('EDGEPAY_REPLICATION_BAD_ID', `${role} ${JSON.stringify(user)} must be ${ID_RULE}`, { role, value: user });
    }
    if (seen.has(user)) throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `${role} ${JSON.stringify(user)} is also a node: give it its own username`, { role, value: user });
    // One username with two roles would get both blocks: the union of two least privileges is neither.
    const other = roleOf.get(user);
    if (other !== undefined) throw new ReplicationError('EDGEPAY_REPLICATION_CONFIG', `${role} ${JSON.stringify(user)} is also the ${other}: give each its own username`, { role, other, value: user });
    roleOf.set(user, role);
  }
}
