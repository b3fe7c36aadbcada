import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { ControlRefusal } from './counters.js';
import type { KeyRing } from './keys.js';
import { idSchema } from '../ids.js';

/*
 * What the three signed control messages (status, ack, repair request) share: the node's Ed25519
 * signature over a JSON array that starts with a context string of its own, so a signature made for
 * one kind (or for an entry, see envelope.ts) can never be passed off as another; the checks run
 * cheapest first and name the reason a message is refused.
 */

export const NODE_ID = idSchema();
export const SEQ = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
export const WALL_MS = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An Ed25519 signature is 64 bytes: 88 base64 characters. */
export const SIGNATURE = z.base64().length(88);

/** Control messages are small; anything larger is refused unparsed. */
export const MAX_CONTROL_BYTES = 1_024;

/** One context per kind: distinct from each other and from 'edgepay/entry-signature/v1'. */
export const CONTROL_CONTEXTS = {
  status: 'edgepay/status-signature/v2',
  ack: 'edgepay/ack-signature/v2',
  repair: 'edgepay/repair-request-signature/v2',
} as const;
export type ControlContext = (typeof CONTROL_CONTEXTS)[keyof typeof CONTROL_CONTEXTS];

type Field = string | number | boolean;

/** The exact bytes signed: a JSON array, so every implementation builds the same string. */
export function controlSignedBytes(context: ControlContext, fields: readonly Field[]): Buffer {
  return Buffer.from(JSON.stringify([context, ...fields]), 'utf8');
}

export function signControl(context: ControlContext, fields: readonly Field[], signingKey: KeyObject): string {
  return sign(null, controlSignedBytes(context, fields), signingKey).toString('base64');
}

export type OpenedControl<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly reason: ControlRefusal; readonly detail: string };

export interface ControlSpec<W extends { readonly sig: string }> {
  readonly context: ControlContext;
  readonly schema: z.ZodType<W>;
  /** The node the message says it is from: its signer. */
  readonly signer: (wire: W) => string;
  /** The signed fields, in their fixed order. */
  readonly fields: (wire: W) => readonly Field[];
}

/**
 * Size and JSON, then a signature at all, then shape, then the claimed node: known, the topic's
 * node, and its pinned key verifying the signature. `topicNode` is the node level of the topic the
 * message came on; the broker ACL lets only that node write there, but that is defence in depth,
 * the signature is the proof.
 */
export function openControl<W extends { readonly sig: string }>(spec: ControlSpec<W>, payload: Uint8Array, topicNode: string, keys: KeyRing): OpenedControl<W> {
  if (payload.byteLength > MAX_CONTROL_BYTES) return refuse('malformed', `${payload.byteLength} bytes is over the ${MAX_CONTROL_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return refuse('malformed', 'not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return refuse('malformed', 'not a JSON object');
  if (!('sig' in json)) return refuse('unsigned', 'no signature');
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return refuse('malformed', `${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`);
  }
  const wire = parsed.data;
  const signer = spec.signer(wire);
  const key = keys.get(signer);
  if (key === undefined) return refuse('unknown_node', `no public key for node ${JSON.stringify(signer)}`);
  if (signer !== topicNode) return refuse('wrong_topic', `signed as ${JSON.stringify(signer)} on ${JSON.stringify(topicNode)}'s topic`);
  const signature = Buffer.from(wire.sig, 'base64');
  // Base64 leaves spare bits in its last character; a decoder ignores them, so a flipped spare bit
  // would still verify. Only the canonical spelling is accepted: one message, one encoding.
  if (signature.toString('base64') !== wire.sig) return refuse('malformed', 'signature is not canonical base64');
  if (!verify(null, controlSignedBytes(spec.context, spec.fields(wire)), key, signature)) {
    return refuse('bad_signature', `signature does not verify with ${signer}'s key`);
  }
  return { ok: true, message: wire };
}

function refuse(reason: ControlRefusal, detail: string): Extract<OpenedControl<never>, { ok: false }> {
  return { ok: false, reason, detail };
}
