import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CONTROL_CONTEXTS, type ControlSpec, NODE_ID, type OpenedControl, SEQ, SIGNATURE, WALL_MS, openControl, signControl } from './control-codec.js';
import type { KeyRing } from './keys.js';

/**
 * A node's status, signed by the node: online or offline, the last own entry the broker
 * acknowledged (what every peer can get), its wall clock, and where the status stands in the node's
 * own order (see status-order.ts): `session` is the wall-clock start of the connection it belongs
 * to, `n` counts the statuses of that session. Peers take custody of a node silent past a deadline
 * and count quorum over the online ones, so a status moves both and must come from its node.
 */
export interface NodeStatus {
  readonly nodeId: string;
  readonly online: boolean;
  readonly headSeq: number;
  readonly wallMs: number;
  readonly session: number;
  readonly n: number;
}

export const STATUS_VERSION = 2;

const statusWire = z.strictObject({
  v: z.literal(STATUS_VERSION),
  nodeId: NODE_ID,
  online: z.boolean(),
  headSeq: SEQ,
  wallMs: WALL_MS,
  session: WALL_MS,
  n: SEQ,
  sig: SIGNATURE,
});
type StatusWire = z.output<typeof statusWire>;

const fields = (s: NodeStatus) => [s.nodeId, s.online, s.headSeq, s.wallMs, s.session, s.n] as const;

const spec: ControlSpec<StatusWire> = { context: CONTROL_CONTEXTS.status, schema: statusWire, signer: (w) => w.nodeId, fields };

export function sealStatus(status: NodeStatus, signingKey: KeyObject): Buffer {
  const { nodeId, online, headSeq, wallMs, session, n } = status;
  const sig = signControl(CONTROL_CONTEXTS.status, fields(status), signingKey);
  return Buffer.from(JSON.stringify({ v: STATUS_VERSION, nodeId, online, headSeq, wallMs, session, n, sig }), 'utf8');
}

/** A status that came on `topicNode`'s status topic, verified against that node's pinned key. */
export function openStatus(payload: Uint8Array, topicNode: string, keys: KeyRing): OpenedControl<NodeStatus> {
  const opened = openControl(spec, payload, topicNode, keys);
  if (!opened.ok) return opened;
  const { nodeId, online, headSeq, wallMs, session, n } = opened.message;
  return { ok: true, message: { nodeId, online, headSeq, wallMs, session, n } };
}
