import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CONTROL_CONTEXTS, type ControlSpec, NODE_ID, type OpenedControl, SEQ, SIGNATURE, openControl, signControl } from './control-codec.js';
import type { KeyRing } from './keys.js';

/**
 * A request for `origin`'s entries `fromSeq`..`toSeq`, answered by every holder into the
 * requester's inbox. The requester is who signed it and whose repair topic carries it (the only
 * repair topic the broker lets it write): answers can only ever be drawn to the asker's own inbox,
 * never aimed at another node or at a name nobody reads.
 */
export interface RepairRequest {
  readonly requester: string;
  readonly origin: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** A request whose signature and topic checked out: the only kind the answerer takes. */
export type VerifiedRepairRequest = RepairRequest & { readonly [verifiedBrand]: true };
declare const verifiedBrand: unique symbol;

export const REPAIR_REQUEST_VERSION = 2;

const requestWire = z
  .strictObject({ v: z.literal(REPAIR_REQUEST_VERSION), requester: NODE_ID, origin: NODE_ID, fromSeq: SEQ.min(1), toSeq: SEQ.min(1), sig: SIGNATURE })
  .refine((r) => r.toSeq >= r.fromSeq, { error: 'toSeq must be >= fromSeq' });
type RequestWire = z.output<typeof requestWire>;

const fields = (r: RepairRequest) => [r.requester, r.origin, r.fromSeq, r.toSeq] as const;

const spec: ControlSpec<RequestWire> = { context: CONTROL_CONTEXTS.repair, schema: requestWire, signer: (w) => w.requester, fields };

/** Published by the requester on its own repair topic (StoreTopics.repair(requester)). */
export function sealRepairRequest(request: RepairRequest, signingKey: KeyObject): Buffer {
  const { requester, origin, fromSeq, toSeq } = request;
  const sig = signControl(CONTROL_CONTEXTS.repair, fields(request), signingKey);
  return Buffer.from(JSON.stringify({ v: REPAIR_REQUEST_VERSION, requester, origin, fromSeq, toSeq, sig }), 'utf8');
}

/** A request that came on `topicNode`'s repair topic, verified against that node's pinned key. */
export function openRepairRequest(payload: Uint8Array, topicNode: string, keys: KeyRing): OpenedControl<VerifiedRepairRequest> {
  const opened = openControl(spec, payload, topicNode, keys);
  if (!opened.ok) return opened;
  const { requester, origin, fromSeq, toSeq } = opened.message;
  return { ok: true, message: { requester, origin, fromSeq, toSeq } as VerifiedRepairRequest };
}
