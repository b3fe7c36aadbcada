import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CONTROL_CONTEXTS, type ControlSpec, NODE_ID, type OpenedControl, SEQ, SIGNATURE, WALL_MS, openControl, signControl } from './control-codec.js';
import type { KeyRing } from './keys.js';

/**
 * `node` holds `origin`'s journal up to `seq` (contiguous), signed by `node`: the origin's quorum
 * counts it for `node` and nobody else. The wall clock dates it, so an old ack replayed later does
 * not make its node look alive now (it still only ever raises what the node is known to hold).
 */
export interface QuorumAck {
  readonly node: string;
  readonly origin: string;
  readonly seq: number;
  readonly wallMs: number;
}

export const ACK_VERSION = 2;

const ackWire = z.strictObject({ v: z.literal(ACK_VERSION), node: NODE_ID, origin: NODE_ID, seq: SEQ, wallMs: WALL_MS, sig: SIGNATURE });
type AckWire = z.output<typeof ackWire>;

const fields = (a: QuorumAck) => [a.node, a.origin, a.seq, a.wallMs] as const;

const spec: ControlSpec<AckWire> = { context: CONTROL_CONTEXTS.ack, schema: ackWire, signer: (w) => w.node, fields };

export function sealAck(ack: QuorumAck, signingKey: KeyObject): Buffer {
  const { node, origin, seq, wallMs } = ack;
  return Buffer.from(JSON.stringify({ v: ACK_VERSION, node, origin, seq, wallMs, sig: signControl(CONTROL_CONTEXTS.ack, fields(ack), signingKey) }), 'utf8');
}

/** An ack that came on `topicNode`'s ack topic, verified against that node's pinned key. */
export function openAck(payload: Uint8Array, topicNode: string, keys: KeyRing): OpenedControl<QuorumAck> {
  const opened = openControl(spec, payload, topicNode, keys);
  if (!opened.ok) return opened;
  const { node, origin, seq, wallMs } = opened.message;
  return { ok: true, message: { node, origin, seq, wallMs } };
}
