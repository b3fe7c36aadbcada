import { z } from 'zod';

/*
 * The two control messages beside the entry envelope: a node's status and a repair request.
 * Both are small JSON objects with a version, validated strictly; neither carries payment data.
 */

const NODE_ID = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const SEQ = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const MAX_CONTROL_BYTES = 1_024;

const statusSchema = z.strictObject({
  v: z.literal(1),
  nodeId: NODE_ID,
  online: z.boolean(),
  /** The last own entry the broker acknowledged: what every peer can get. */
  headSeq: SEQ,
  wallMs: z.int(),
});
export type NodeStatus = z.output<typeof statusSchema>;

const repairRequestSchema = z
  .strictObject({
    v: z.literal(1),
    origin: NODE_ID,
    fromSeq: SEQ.min(1),
    toSeq: SEQ.min(1),
    requester: NODE_ID,
  })
  .refine((r) => r.toSeq >= r.fromSeq, { error: 'toSeq must be >= fromSeq' });
export type RepairRequest = z.output<typeof repairRequestSchema>;

export function encodeStatus(status: NodeStatus): Buffer {
  return Buffer.from(JSON.stringify(status), 'utf8');
}

export function encodeRepairRequest(request: RepairRequest): Buffer {
  return Buffer.from(JSON.stringify(request), 'utf8');
}

export function parseStatus(payload: Uint8Array): NodeStatus | undefined {
  return parseControl(payload, statusSchema);
}

export function parseRepairRequest(payload: Uint8Array): RepairRequest | undefined {
  return parseControl(payload, repairRequestSchema);
}

function parseControl<T>(payload: Uint8Array, schema: z.ZodType<T>): T | undefined {
  if (payload.byteLength > MAX_CONTROL_BYTES) return undefined;
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
